r"""The (load, temperature) retrieval diagram of a Hopfield network, in one compiled call.

Every (load, trial) pair stores fresh random patterns and runs the
asynchronous :class:`~jaxstat.hopfield.RetrievalSampler` from pattern 0 at
every temperature (temperatures ``vmap``-ed, the weights of a trial shared by
all of them); pairs go through ``lax.map`` as in
:func:`~jaxstat.hopfield.capacity`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    check_float_dtype,
    check_key,
    check_positive_int,
    check_sizes,
    float_dtype,
)
from jaxstat.hopfield._checks import check_rule, pattern_counts
from jaxstat.hopfield._driver import retrieval_trace
from jaxstat.hopfield._storage import weights
from jaxstat.hopfield._trials import batch_size, random_patterns
from jaxstat.hopfield.sampler import retrieval_sampler

__all__ = ["DiagramResult", "retrieval_diagram"]


class DiagramResult(NamedTuple):
    """Output of :func:`retrieval_diagram`, as NumPy arrays; axes are (temperature, load, trial).

    Attributes:
      n: network size.
      p: ``(n_alpha,)`` numbers of stored patterns.
      temperature: ``(n_T,)`` temperatures.
      overlap: ``(n_T, n_alpha, n_trials)`` overlap with the probed pattern,
        averaged over the second half of the sweeps.
    """

    n: int
    p: np.ndarray
    temperature: np.ndarray
    overlap: np.ndarray

    @property
    def alpha(self) -> np.ndarray:
        return self.p / self.n

    @property
    def mean_overlap(self) -> np.ndarray:
        """Mean over trials, ``(n_T, n_alpha)``."""
        return self.overlap.mean(-1)


def retrieval_diagram(
    key,
    n: int,
    alphas,
    temperatures,
    n_trials: int = 8,
    *,
    n_sweeps: int = 40,
    rule: str = "hebbian",
    dtype=None,
) -> DiagramResult:
    r"""Overlap with a stored pattern over the (load, temperature) plane, in one compiled call.

    Each trial stores ``P = round(alpha N)`` random patterns with ``rule``,
    starts from pattern 0 and runs ``n_sweeps`` sweeps of asynchronous
    Glauber dynamics (:func:`retrieve`, ``mode="async"``) at
    :math:`\beta = 1/T`; the overlap :math:`m` is averaged over the second
    half of the sweeps. Where the retrieval state is stable it stays near its
    equilibrium value; elsewhere it decays (into a spin-glass or paramagnetic
    state). Amit, Gutfreund and Sompolinsky's replica-symmetric theory puts
    the edge of the retrieval region at :math:`T_M(\alpha)`, from
    :math:`T_M(0) = 1` to :math:`T_M(\alpha_c) = 0` (:func:`ags_overlap`).
    The weights of a trial are shared by all temperatures.

    Args:
      key: a PRNG key.
      n: network size.
      alphas: 1-D loads > 0.
      temperatures: 1-D temperatures >= 0 (0 is zero-temperature dynamics).
      n_trials: independent networks per load.
      n_sweeps: sweeps per run (>= 2).
      rule: ``"hebbian"``, ``"pseudo_inverse"`` or ``"storkey"``.
      dtype: float dtype (default float32, float64 under x64).

    Returns:
      A :class:`DiagramResult`.

    Example:
      >>> import jax
      >>> from jaxstat import hopfield
      >>> d = hopfield.retrieval_diagram(jax.random.key(0), 100, [0.02], [0.2, 2.0], n_trials=4)
      >>> bool(d.mean_overlap[0, 0] > 0.9), bool(d.mean_overlap[1, 0] < 0.5)  # cold: recall; hot: none
      (True, True)
    """
    check_key(key)
    check_rule(rule)
    if np.ndim(n) != 0:
        raise ValueError(f"n must be one network size (an integer >= 1); got {n!r}")
    (n,) = check_sizes(n)
    (p,) = pattern_counts(alphas, (n,), rule)
    try:
        t = np.asarray(temperatures, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"temperatures must be a non-empty 1-D sequence of finite values >= 0; "
                         f"got {temperatures!r:.60}") from err
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"temperatures must be a non-empty 1-D sequence of finite values >= 0; got {temperatures!r}")
    n_trials = check_positive_int(n_trials, "n_trials")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    if n_sweeps < 2:
        raise ValueError(f"n_sweeps must be >= 2 (the overlap is averaged over the second half); got {n_sweeps}")
    dtype = float_dtype() if dtype is None else check_float_dtype(dtype)
    with np.errstate(divide="ignore"):
        betas = 1.0 / t   # T = 0 -> beta = inf, exact zero-temperature dynamics
    overlap = _diagram_call(key, jnp.asarray(p, jnp.int32), jnp.asarray(betas, dtype), n=n, p_max=int(p.max()),
                            n_trials=n_trials, n_sweeps=n_sweeps, rule=rule, dtype=dtype)
    # (alpha, trial, T) -> (T, alpha, trial)
    return DiagramResult(n, p, t, np.moveaxis(np.asarray(overlap), -1, 0))


@functools.partial(jax.jit, static_argnames=("n", "p_max", "n_trials", "n_sweeps", "rule", "dtype"))
def _diagram_call(key, ps, betas, *, n, p_max, n_trials, n_sweeps, rule, dtype):
    def trial(k, p):
        k_xi, k_dyn = jax.random.split(k)
        xi = random_patterns(k_xi, p, p_max, n, dtype)
        sampler = retrieval_sampler(weights(xi, rule))

        def at(beta, kb):
            r = retrieval_trace(kb, sampler, xi[0], beta, xi[:1], n_sweeps)
            return jnp.mean(r.overlaps[n_sweeps // 2 + 1:, 0])

        return jax.vmap(at)(betas, jax.random.split(k_dyn, betas.shape[0]))

    flat_p = jnp.repeat(ps, n_trials)
    keys = jax.random.split(key, flat_p.shape[0])
    out = jax.lax.map(lambda a: trial(a[1], a[0]), (flat_p, keys), batch_size=batch_size(flat_p.shape[0]))
    return out.reshape(ps.shape[0], n_trials, -1)
