r"""Retrieval dynamics, overlaps and corrupted probes."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import ising, mcmc
from jaxstat._validate import (
    as_float_array,
    check_beta,
    check_coupling_matrix,
    check_key,
    check_positive_int,
    check_spins,
    is_concrete,
)
from jaxstat.hopfield.rules import _check_patterns
from jaxstat.mcmc.base import glauber_from_variate, glauber_variate, uniform_open

__all__ = ["RetrievalResult", "corrupt", "overlap", "retrieve"]

MODES = ("async", "sync")
ASYNC_BLOCK = 8


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
    xi = _check_patterns(patterns)
    n = xi.shape[1]
    s = _check_states(states, n, "states", f"patterns of shape {tuple(xi.shape)}")
    return s.astype(xi.dtype) @ xi.T / n


def _check_states(states, n, name, against):
    s = as_float_array(states, name)
    if s.ndim == 0 or s.shape[-1] != n:
        raise ValueError(
            f"{name} must have last dimension N = {n} to match {against}; got {name} shape {tuple(s.shape)}"
        )
    return check_spins(s, (n,), name)


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
    if is_concrete(fraction):
        f = float(np.asarray(fraction)) if np.ndim(fraction) == 0 else None
        if f is None or not 0.0 <= f <= 1.0:
            raise ValueError(f"fraction must be a number in [0, 1]; got {fraction!r}")
    if mode not in ("flip", "mask"):
        raise ValueError(f"mode must be 'flip' or 'mask'; got {mode!r}")
    if fill not in (-1, 1):
        raise ValueError(f"fill must be -1 or +1 (masked bits stay valid spins); got {fill!r}")
    chosen = _random_subset(key, s.shape, fraction)
    return jnp.where(chosen, -s if mode == "flip" else jnp.asarray(fill, s.dtype), s)


def _random_subset(key, shape, fraction):
    """Boolean mask with exactly round(fraction * N) True entries per row, uniformly placed."""
    k = jnp.floor(jnp.asarray(fraction, jnp.float32) * shape[-1] + 0.5)
    # The rank of each site in a random permutation picks k distinct sites.
    rank = jnp.argsort(jnp.argsort(jax.random.uniform(key, shape), axis=-1), axis=-1)
    return rank < k


# --------------------------------------------------------------------------- #
# retrieval dynamics
# --------------------------------------------------------------------------- #
class RetrievalResult(NamedTuple):
    """Output of :func:`retrieve`; leading axes are the probe's batch axes.

    Attributes:
      states: final states, shaped like the probe.
      energies: ``(..., n_sweeps + 1)`` energy :math:`E(s)` before the first
        and after every sweep. For asymmetric W this is the formula's value,
        not a Lyapunov function.
      overlaps: ``(..., n_sweeps + 1, P)`` overlaps with ``patterns`` along
        the way, or ``None`` when no patterns were given.
      converged: the last sweep changed no spin. (A random-scan async sweep
        may miss sites, so this is not proof of a fixed point.)
      cycle2: the final state equals the state two sweeps earlier but not
        the one before (a 2-cycle of zero-temperature synchronous dynamics;
        needs n_sweeps >= 2; at finite beta only a snapshot).
    """

    states: jax.Array
    energies: jax.Array
    overlaps: jax.Array | None
    converged: jax.Array
    cycle2: jax.Array


def retrieve(key, W, probe, beta=jnp.inf, n_sweeps: int = 20, mode: str = "async", theta=None, patterns=None):
    r"""Run Hopfield dynamics from ``probe`` and record energy and overlap traces.

    Local field :math:`h_i = \sum_j W_{ij} s_j - \theta_i`.

    * ``mode="async"``: one sweep is N single-spin heat-bath updates at
      uniformly random sites (:func:`jaxstat.mcmc.glauber` with
      ``order="random"`` on ``ising.dense(W, -theta, allow_asymmetric=True)``):
      :math:`P(s_i = +1) = 1/(1 + e^{-2\beta h_i})`. At ``beta = inf`` a spin
      aligns with its field (random sign on an exact tie) and, for symmetric
      W, the energy never increases.
    * ``mode="sync"``: every spin updated at once from the same fields,
      :math:`s \leftarrow` heat bath of :math:`W s - \theta`. At ``beta = inf``
      this is :math:`s_i \leftarrow \mathrm{sign}(h_i)` and **a spin with
      h_i = 0 keeps its value**, so the zero-temperature map is
      deterministic. It can end in 2-cycles (reported as ``cycle2``).

    Asymmetric W is accepted in both modes (dynamics without an energy
    function). ``beta`` is traced: new temperatures do not recompile.

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
    W = as_float_array(W, "W")
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a square (N, N) weight matrix with N >= 1; got shape {tuple(W.shape)}")
    n = W.shape[0]
    if is_concrete(W):
        check_coupling_matrix(W, "W", allow_asymmetric=True)  # asymmetric W: dynamics only
    s0 = _check_states(probe, n, "probe", f"W of shape {tuple(W.shape)}").astype(W.dtype)
    check_beta(beta)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    theta = as_float_array(0.0 if theta is None else theta, "theta").astype(W.dtype)
    if theta.ndim != 0 and theta.shape != (n,):
        raise ValueError(f"theta must be a scalar or have shape (N,) = ({n},) to match W; got shape {theta.shape}")
    h = jnp.broadcast_to(-theta, (n,))
    if patterns is not None:
        patterns = _check_patterns(patterns)
        if patterns.shape[1] != n:
            raise ValueError(
                f"patterns must have N = {n} columns to match W of shape {tuple(W.shape)}; "
                f"got patterns shape {tuple(patterns.shape)}"
            )
        patterns = patterns.astype(W.dtype)
    batch = s0.shape[:-1]
    flat = s0.reshape((-1, n))
    keys = jax.random.split(key, flat.shape[0])
    out = _retrieve_batch(keys, W, h, flat, jnp.asarray(beta, W.dtype), patterns, n_sweeps, mode)
    return jax.tree_util.tree_map(lambda x: x.reshape(batch + x.shape[1:]), out)


@functools.partial(jax.jit, static_argnames=("n_sweeps", "mode"))
def _retrieve_batch(keys, W, h, probes, beta, patterns, n_sweeps, mode):
    one = functools.partial(_retrieve_one, W=W, h=h, beta=beta, patterns=patterns, n_sweeps=n_sweeps, mode=mode)
    return jax.vmap(one)(keys, probes)


def _retrieve_one(key, s0, *, W, h, beta, patterns, n_sweeps, mode):
    n, dtype = s0.shape[-1], s0.dtype

    def observe(s):
        e = -0.5 * s @ (W @ s) - h @ s   # recomputed, not accumulated: exact per sweep
        return e, (None if patterns is None else patterns @ s / n)

    if mode == "async":
        # = mcmc.glauber(model, order="random") with a smaller field-refresh
        # block: measured here, it halves compile time (2.3 s vs 4.1 s) and
        # runs a vmapped N = 1000 batch faster (1.4 s vs 1.9 s for 10 sweeps).
        model = ising.dense(W, h, allow_asymmetric=True)
        sampler = mcmc.single_spin(model, "glauber", order="random", block_size=ASYNC_BLOCK)
        x0, spins = sampler.init(s0), (lambda x: x.spins)

        def advance(k, x):
            return sampler.step(k, x, beta)[0]
    else:
        x0, spins = s0, (lambda x: x)

        def advance(k, s):
            field = W @ s + h
            new = glauber_from_variate(s, field, beta, glauber_variate(uniform_open(k, (n,), dtype)))
            return jnp.where(jnp.isinf(beta) & (field == 0), s, new)

    def body(carry, k):
        x, last, _ = carry
        old = spins(x)
        x = advance(k, x)
        return (x, old, last), observe(spins(x))

    # carry: (state after sweep t, state after t-1, state after t-2)
    (x, last, before), obs = jax.lax.scan(body, (x0, s0, s0), jax.random.split(key, n_sweeps))
    e0, m0 = observe(s0)
    energies = jnp.concatenate([e0[None], obs[0]])
    overlaps = None if patterns is None else jnp.concatenate([m0[None], obs[1]])
    final = spins(x)
    converged = jnp.all(final == last)
    cycle2 = jnp.all(final == before) & ~converged & (n_sweeps >= 2)
    return RetrievalResult(final, energies, overlaps, converged, cycle2)
