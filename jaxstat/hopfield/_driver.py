"""Drive a :class:`~jaxstat.hopfield.RetrievalSampler` from one probe and record the traces
that :func:`jaxstat.hopfield.retrieve` and the (alpha, T) diagram report."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class RetrievalResult(NamedTuple):
    """Output of :func:`~jaxstat.hopfield.retrieve`; leading axes are the probe's batch axes.

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


def retrieval_trace(key, sampler, s0, beta, patterns, n_sweeps):
    """``n_sweeps`` steps of ``sampler`` from one probe ``s0`` (N,), as a :class:`RetrievalResult`.

    Not :func:`jaxstat.mcmc.run`: the result needs the probe's own energy and
    overlaps (before the first sweep) and the last three states (``converged``,
    ``cycle2``), which run's per-record ``observe(state)`` cannot see. The
    sweeps themselves are the sampler's ``step``. Invalid traced input (NaN
    spins from 0/1 states, a negative or NaN beta) makes every floating
    output NaN and the flags False, as in ``mcmc.run``.
    """
    W, h = sampler.model.J, sampler.model.h
    n = s0.shape[-1]

    def observe(s):
        e = -0.5 * s @ (W @ s) - h @ s   # recomputed, not accumulated: exact per sweep
        return e, (None if patterns is None else patterns @ s / n)

    x0 = sampler.init(s0)

    def body(carry, k):
        x, last, _ = carry
        old = x.spins
        x, _ = sampler.step(k, x, beta)
        return (x, old, last), observe(x.spins)

    # carry: (state after sweep t, spins after t-1, spins after t-2)
    (x, last, before), obs = jax.lax.scan(body, (x0, x0.spins, x0.spins), jax.random.split(key, n_sweeps))
    e0, m0 = observe(x0.spins)
    energies = jnp.concatenate([e0[None], obs[0]])
    overlaps = None if patterns is None else jnp.concatenate([m0[None], obs[1]])
    final = x.spins
    valid = jnp.all(jnp.isfinite(x0.spins)) & (beta >= 0)
    converged = jnp.all(final == last) & valid
    cycle2 = jnp.all(final == before) & ~converged & (n_sweeps >= 2) & valid

    def nan_unless(a):
        return None if a is None else jnp.where(valid, a, jnp.nan)

    return RetrievalResult(nan_unless(final), nan_unless(energies), nan_unless(overlaps), converged, cycle2)
