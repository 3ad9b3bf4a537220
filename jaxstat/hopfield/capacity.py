r"""Capacity experiments: retrieval against load and size in one compiled call.

Random ±1 patterns are stored with a rule, the network starts from a stored
pattern (or a corrupted copy) and runs until it stops; the pattern counts as
retrieved when the final overlap exceeds a threshold (0.95 by default: the
Amit–Gutfreund–Sompolinsky retrieval state has :math:`m \approx 0.967` at
:math:`\alpha_c \approx 0.138`, and falls to small overlaps beyond it).

Every load, trial and size is one ``jax.jit`` call: sizes are unrolled, and
(load, trial) pairs go through ``lax.map``, one at a time on CPU (cache-
friendly, and each zero-temperature run stops at its own fixed point) and
all ``vmap``-ed together on accelerators. Patterns are padded to the largest
P of each size and masked, so all loads of one size share one compiled body.
Finite temperatures: :mod:`~jaxstat.hopfield.diagram`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._cpu import select_true
from jaxstat._validate import (
    check_float_dtype,
    check_key,
    check_positive_int,
    check_sizes,
    float_dtype,
)
from jaxstat.hopfield._checks import (
    check_fraction,
    check_rule,
    check_threshold,
    pattern_counts,
)
from jaxstat.hopfield._storage import weights
from jaxstat.hopfield._trials import (
    over_sizes_loads_trials,
    pattern_words,
    probe,
    unpack,
)

__all__ = ["CapacityResult", "capacity"]


class CapacityResult(NamedTuple):
    """Output of :func:`capacity`, as NumPy arrays; axes are (size, load, trial).

    Attributes:
      n: ``(n_N,)`` network sizes.
      p: ``(n_N, n_alpha)`` numbers of stored patterns, ``round(alpha N)``.
      overlap: ``(n_N, n_alpha, n_trials)`` final overlap with the probed pattern.
      converged: same shape: the dynamics reached a fixed point within ``max_flips``.
      threshold: overlap above which a pattern counts as retrieved.
    """

    n: np.ndarray
    p: np.ndarray
    overlap: np.ndarray
    converged: np.ndarray
    threshold: float

    @property
    def alpha(self) -> np.ndarray:
        """Realised loads P / N, ``(n_N, n_alpha)``."""
        return self.p / self.n[:, None]

    @property
    def retrieved(self) -> np.ndarray:
        return self.overlap > self.threshold

    @property
    def retrieved_fraction(self) -> np.ndarray:
        """Fraction of trials retrieved, ``(n_N, n_alpha)``."""
        return self.retrieved.mean(-1)

    @property
    def retrieved_stderr(self) -> np.ndarray:
        """Binomial standard error of :attr:`retrieved_fraction`."""
        f = self.retrieved_fraction
        return np.sqrt(f * (1 - f) / self.overlap.shape[-1])

    @property
    def mean_overlap(self) -> np.ndarray:
        return self.overlap.mean(-1)

    @property
    def overlap_stderr(self) -> np.ndarray:
        """Standard error of :attr:`mean_overlap` from the spread over trials."""
        t = self.overlap.shape[-1]
        return self.overlap.std(-1, ddof=1) / np.sqrt(t) if t > 1 else np.full(self.overlap.shape[:-1], np.nan)


# --------------------------------------------------------------------------- #
# zero temperature: asynchronous dynamics run to a fixed point
# --------------------------------------------------------------------------- #
def capacity(
    key,
    n,
    alphas,
    n_trials: int = 50,
    *,
    rule: str = "hebbian",
    flip_fraction: float = 0.0,
    threshold: float = 0.95,
    max_flips: int | None = None,
    dtype=None,
) -> CapacityResult:
    r"""Retrieval of a stored pattern against the load :math:`\alpha = P/N`, for one or several N.

    Each trial stores ``P = round(alpha N)`` fresh random patterns with
    ``rule``, starts from pattern 0 with ``flip_fraction`` of its bits
    flipped, and runs zero-temperature asynchronous dynamics to a fixed
    point: **a uniformly random unstable spin** (:math:`s_i h_i < 0`) flips,
    until none is left. This is the jump chain of random-site asynchronous
    updates (:func:`retrieve` with ``mode="async"``, ``beta=inf``): both
    follow the library's zero-temperature tie rule (a spin whose field is
    exactly zero keeps its value, so only strictly unstable spins flip), so
    they reach the same fixed points with the same probabilities. This path
    is kept separate from :class:`~jaxstat.hopfield.RetrievalSampler` for
    speed: it spends no time visiting stable sites, and a flip costs
    O(P N / 32) bit operations for Hebb's rule (fields kept as integers
    :math:`N h_i`, so ties :math:`h_i = 0` are exact) and O(N) for the
    others, against O(N^2) per sweep of the sampler. With symmetric weights
    every flip lowers the energy, so the dynamics stops.

    For Hebb's rule, random patterns and :math:`N \to \infty` the retrieval
    state disappears at :math:`\alpha_c \approx 0.138` (Amit, Gutfreund and
    Sompolinsky 1985; see :func:`ags_overlap`); at finite N the drop is
    smoothed and sharpens as N grows.

    Args:
      key: a PRNG key.
      n: a network size, or a sequence of sizes (e.g. ``(250, 500, 1000)``).
      alphas: 1-D loads > 0; ``P = max(1, round(alpha N))``.
      n_trials: independent networks (patterns and dynamics) per load and size.
      rule: ``"hebbian"``, ``"pseudo_inverse"`` (needs P < N) or ``"storkey"``.
      flip_fraction: fraction of bits of the probe flipped before the dynamics.
      threshold: overlap above which the pattern counts as retrieved.
      max_flips: cap on the number of flips per trial (default 10 N); a trial
        that reaches it is reported as not converged.
      dtype: float dtype of patterns and weights (default: float32, or
        float64 under x64).

    Returns:
      A :class:`CapacityResult`.

    Example:
      >>> import jax
      >>> from jaxstat import hopfield
      >>> r = hopfield.capacity(jax.random.key(0), 200, [0.05, 0.3], n_trials=8)
      >>> f = r.retrieved_fraction[0]          # (size, load) -> this size's loads
      >>> float(f[0]), bool(f[1] < 0.5)        # retrieved at 0.05, lost at 0.3
      (1.0, True)
    """
    check_key(key)
    check_rule(rule)
    sizes = check_sizes(n)
    p = pattern_counts(alphas, sizes, rule)
    n_trials = check_positive_int(n_trials, "n_trials")
    flip = check_fraction(flip_fraction)
    threshold = check_threshold(threshold)
    if max_flips is not None:
        max_flips = check_positive_int(max_flips, "max_flips")
    dtype = float_dtype() if dtype is None else check_float_dtype(dtype)
    out = _capacity_call(key, tuple(jnp.asarray(row, jnp.int32) for row in p), jnp.asarray(flip, dtype),
                         sizes=sizes, p_max=tuple(int(row.max()) for row in p), n_trials=n_trials, rule=rule,
                         max_flips=max_flips, dtype=dtype)
    overlap = np.stack([np.asarray(o[0]) for o in out])
    converged = np.stack([np.asarray(o[1]) for o in out])
    return CapacityResult(np.asarray(sizes), p, overlap, converged, float(threshold))


@functools.partial(jax.jit, static_argnames=("sizes", "p_max", "n_trials", "rule", "max_flips", "dtype"))
def _capacity_call(key, p_rows, flip, *, sizes, p_max, n_trials, rule, max_flips, dtype):
    def make_trial(n, p_max):
        return functools.partial(_fixed_point_trial, n=n, p_max=p_max, flip=flip, rule=rule,
                                 max_flips=10 * n if max_flips is None else max_flips, dtype=dtype)

    return over_sizes_loads_trials(key, p_rows, sizes, p_max, n_trials, make_trial)


def _fixed_point_trial(key, p, *, n, p_max, flip, rule, max_flips, dtype):
    k_xi, k_probe, k_dyn = jax.random.split(key, 3)
    words = pattern_words(k_xi, p, p_max, n)
    xi = unpack(words, p, p_max, dtype)
    s0 = probe(k_probe, xi[0], flip)
    if rule == "hebbian":
        # Integer fields N h = xi^T (xi s) - P s and columns N W[:, i], exact in floating point.
        # A column from the packed patterns: sum_mu xi_j xi_i = P - 2 popcount(bits_j XOR bits_i),
        # 32 patterns per word, so a flip costs O(N P / 32) integer operations.
        fields0 = xi.T @ (xi @ s0) - p * s0

        def column(i):
            mismatches = jnp.sum(jax.lax.population_count(words ^ words[i]), axis=-1, dtype=jnp.int32)
            return (p - 2 * mismatches).astype(dtype).at[i].set(0)
    else:
        W = weights(xi, rule)
        fields0 = W @ s0

        def column(i):
            return W[:, i]

    def cond(c):
        return (c[3] > 0) & (c[4] < max_flips)

    def body(c):
        s, h, u, count, flips = c
        # the r-th unstable site, r uniform: a uniformly random unstable spin
        r = jnp.floor(jax.random.uniform(jax.random.fold_in(k_dyn, flips)) * count).astype(jnp.int32)
        i = select_true(u, r)   # two-level prefix search: see jaxstat._cpu
        h = h - 2 * s[i] * column(i)
        s = s.at[i].multiply(-1)
        u = s * h < 0
        return s, h, u, jnp.sum(u, dtype=jnp.int32), flips + 1

    u0 = s0 * fields0 < 0
    s, _, _, count, _ = jax.lax.while_loop(cond, body, (s0, fields0, u0, jnp.sum(u0, dtype=jnp.int32), jnp.int32(0)))
    return xi[0] @ s / n, count == 0
