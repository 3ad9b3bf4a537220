r"""Retrieval dynamics, overlaps and corrupted probes."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    as_float_array,
    check_beta,
    check_key,
    check_positive_int,
    check_spins,
    is_concrete,
)
from jaxstat.hopfield._checks import check_patterns, check_states, check_weights
from jaxstat.hopfield._driver import RetrievalResult, retrieval_trace
from jaxstat.hopfield._trials import random_subset
from jaxstat.hopfield.sampler import RetrievalSampler, check_mode, retrieval_sampler

__all__ = ["RetrievalResult", "corrupt", "overlap", "retrieve"]


# --------------------------------------------------------------------------- #
# overlaps and probes
# --------------------------------------------------------------------------- #
def overlap(patterns, states):
    r"""Overlaps :math:`m_\mu = \frac1N \sum_i \xi^\mu_i s_i` of states with every pattern.

    Args:
      patterns: ``(P, N)`` array of ±1.
      states: ``(..., N)`` array of ±1, any leading batch axes.

    Returns:
      ``(..., P)`` overlaps in [-1, 1].

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> xi = jnp.array([[1., 1., 1., 1.], [1., -1., 1., -1.]])
      >>> hopfield.overlap(xi, jnp.array([1., 1., 1., -1.]))
      Array([0.5, 0.5], dtype=float32)
    """
    xi = check_patterns(patterns)
    n = xi.shape[1]
    s = check_states(states, n, "states", f"patterns of shape {tuple(xi.shape)}")
    return s.astype(xi.dtype) @ xi.T / n


def corrupt(key, states, fraction, mode: str = "flip", fill=-1):
    r"""Corrupt exactly :math:`k = \lfloor f N + \tfrac12 \rfloor` randomly chosen bits of each state.

    * ``mode="flip"``: the k bits are flipped, so the overlap of the result
      with the original is exactly :math:`1 - 2k/N`.
    * ``mode="mask"``: the k bits are set to ``fill`` (-1 or +1, e.g. the
      background of an image): information is erased rather than
      contradicted, and on average only half of the masked bits change.

    Each row (last axis) gets its own random set of k distinct sites.
    ``fraction`` may be traced (vmap over noise levels).

    Args:
      key: a PRNG key.
      states: ``(..., N)`` array of ±1 (patterns or configurations).
      fraction: fraction of bits to corrupt, in [0, 1].
      mode: ``"flip"`` or ``"mask"``.
      fill: the value masked bits take, -1 or +1.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> x = jnp.ones((2, 10))
      >>> hopfield.corrupt(jax.random.key(0), x, 0.3).sum(axis=-1)  # 3 flips per row
      Array([4., 4.], dtype=float32)
      >>> hopfield.corrupt(jax.random.key(0), x, 0.5, mode="mask", fill=-1).sum(axis=-1)
      Array([0., 0.], dtype=float32)
    """
    check_key(key)
    s = as_float_array(states, "states")
    if s.ndim == 0:
        raise ValueError("states must have shape (..., N); got a scalar")
    check_spins(s, (s.shape[-1],), "states")
    if np.ndim(fraction) != 0:
        raise ValueError(f"fraction must be a number in [0, 1]; got shape {np.shape(fraction)}")
    if is_concrete(fraction):
        try:
            f = float(np.asarray(fraction))
        except (TypeError, ValueError):
            f = None
        if f is None or not 0.0 <= f <= 1.0:
            raise ValueError(f"fraction must be a number in [0, 1]; got {fraction!r}")
    if mode not in ("flip", "mask"):
        raise ValueError(f"mode must be 'flip' or 'mask'; got {mode!r}")
    if fill not in (-1, 1):
        raise ValueError(f"fill must be -1 or +1 (masked bits stay valid spins); got {fill!r}")
    chosen = random_subset(key, s.shape, fraction)
    out = jnp.where(chosen, -s if mode == "flip" else jnp.asarray(fill, s.dtype), s)
    # a traced fraction outside [0, 1] cannot raise: NaN, not a plausible state
    return jnp.where((fraction >= 0) & (fraction <= 1), out, jnp.nan)


# --------------------------------------------------------------------------- #
# retrieval dynamics
# --------------------------------------------------------------------------- #
def retrieve(key, W, probe, beta=jnp.inf, n_sweeps: int = 20, mode: str = "async", theta=None, patterns=None):
    r"""Run Hopfield dynamics from ``probe`` and record energy and overlap traces.

    Local field :math:`h_i = \sum_j W_{ij} s_j - \theta_i`.

    * ``mode="async"``: one sweep is N single-spin heat-bath updates at
      uniformly random sites (:func:`jaxstat.mcmc.glauber` with
      ``order="random"`` on ``ising.dense(W, -theta, allow_asymmetric=True)``):
      :math:`P(s_i = +1) = 1/(1 + e^{-2\beta h_i})`. At ``beta = inf`` a spin
      aligns with its field and **a spin with h_i = 0 keeps its value** (the
      library's zero-temperature tie rule: a quench, a spin changes only if
      that strictly lowers the energy), so for symmetric W the energy never
      increases.
    * ``mode="sync"``: every spin updated at once from the same fields,
      :math:`s \leftarrow` heat bath of :math:`W s - \theta`. At ``beta = inf``
      this is :math:`s_i \leftarrow \mathrm{sign}(h_i)` and **a spin with
      h_i = 0 keeps its value**, so the zero-temperature map is
      deterministic. It can end in 2-cycles (reported as ``cycle2``).

    Asymmetric W is accepted in both modes (dynamics without an energy
    function). ``beta`` is traced: new temperatures do not recompile.

    This is a convenience wrapper over :func:`retrieval_sampler` (the same
    dynamics as a :mod:`jaxstat.mcmc` sampler, for ``mcmc.run``, replica
    exchange and checkpointing) that records energies and overlaps from the
    probe on. Under ``jit``/``vmap`` invalid traced values never give a
    plausible number: 0/1 probes, a negative or NaN ``beta`` or a W with a
    non-zero diagonal make every floating output NaN (and the flags False).

    Args:
      key: a PRNG key.
      W: ``(N, N)`` weights, zero diagonal, finite.
      probe: ``(..., N)`` initial state(s) of ±1; leading axes are batched
        (each batch element gets its own key).
      beta: inverse temperature >= 0, ``inf`` for zero temperature.
      n_sweeps: number of sweeps (>= 1).
      mode: ``"async"`` or ``"sync"``.
      theta: thresholds, a scalar or ``(N,)`` (default 0).
      patterns: optional ``(P, N)`` patterns for the overlap trace.

    Returns:
      A :class:`RetrievalResult`.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> xi = jax.random.rademacher(jax.random.key(0), (3, 100), dtype=jnp.float32)
      >>> probe = hopfield.corrupt(jax.random.key(1), xi[0], 0.2)
      >>> r = hopfield.retrieve(jax.random.key(2), hopfield.hebbian(xi), probe, n_sweeps=10, patterns=xi)
      >>> r.states.shape, r.energies.shape, r.overlaps.shape, float(r.overlaps[-1, 0])
      ((100,), (11,), (11, 3), 1.0)
    """
    check_key(key)
    W = check_weights(W)
    n = W.shape[0]
    s0 = check_states(probe, n, "probe", f"W of shape {tuple(W.shape)}").astype(W.dtype)
    check_beta(beta)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    sampler = retrieval_sampler(W, theta, check_mode(mode))
    if patterns is not None:
        patterns = check_patterns(patterns)
        if patterns.shape[1] != n:
            raise ValueError(
                f"patterns must have N = {n} columns to match W of shape {tuple(W.shape)}; "
                f"got patterns shape {tuple(patterns.shape)}"
            )
        patterns = patterns.astype(W.dtype)
    batch = s0.shape[:-1]
    flat = s0.reshape((-1, n))
    keys = jax.random.split(key, flat.shape[0])
    out = _retrieve_batch(keys, sampler, flat, jnp.asarray(beta, W.dtype), patterns, n_sweeps)
    return jax.tree_util.tree_map(lambda x: x.reshape(batch + x.shape[1:]), out)


@functools.partial(jax.jit, static_argnames=("n_sweeps",))
def _retrieve_batch(keys, sampler: RetrievalSampler, probes, beta, patterns, n_sweeps):
    one = functools.partial(retrieval_trace, sampler=sampler, beta=beta, patterns=patterns, n_sweeps=n_sweeps)
    return jax.vmap(lambda k, s: one(k, s0=s))(keys, probes)
