r"""Replica exchange (parallel tempering) over any sampler.

R replicas of a base sampler run at the rungs of a ladder
:math:`\beta_0 < \beta_1 < \dots < \beta_{R-1}` (``betas[-1]`` is usually
the temperature of interest, ``betas[0]`` a hot one where the base sampler
mixes). One step moves every replica with the base sampler at its own
:math:`\beta` (``jax.vmap``), then offers exchanges between neighbouring
rungs, each accepted with probability

.. math:: \alpha_i = \min\bigl(1, e^{(\beta_{i+1} - \beta_i)(E_{i+1} - E_i)}\bigr),

which keeps the product :math:`\prod_i e^{-\beta_i E(x_i)}/Z_i` invariant.
As large-scale codes do, an exchange swaps the *rungs* of two replicas (an
index permutation), never their states: ``state.replica[i]`` is the
replica at rung ``i``, and ``state.spins[i]`` / ``state.energy[i]`` are
gathered in rung order whatever the bookkeeping.

Schemes:

* ``"nonreversible"`` (deterministic even–odd, Okabe et al. 2001; analysed
  by Syed, Bouchard-Côté, Deligiannidis and Doucet, JRSSB 2022): even steps
  offer the pairs (0,1), (2,3), ...; odd steps (1,2), (3,4), .... A replica
  accepted upward keeps being offered upward, so it crosses the ladder in
  O(R) steps, not the O(R^2) of a random walk. With efficient local moves
  the round-trip rate is :math:`[2 + 2\sum_i r_i/(1 - r_i)]^{-1}` for
  rejection rates :math:`r_i`.
* ``"reversible"``: each step offers the even or the odd pairs at random.

``info`` (a :class:`TemperingInfo`) reports every pair's acceptance
probability :math:`\alpha_i` at every step (attempted or not: its mean
estimates the pair's rejection rate :math:`r_i = 1 - E[\alpha_i]` with less
noise than counting swaps, as in Syed et al.), the swaps made, the round
trips completed (a replica's trip from rung 0 to rung R-1 and back) and the
index process (each replica's rung).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, is_concrete
from jaxstat.mcmc.base import Sampler, register_sampler, static_field, uniform_open

__all__ = ["parallel_tempering", "ParallelTempering", "TemperingState", "TemperingInfo", "SCHEMES"]

SCHEMES = ("nonreversible", "reversible")

# Direction of each replica for counting round trips: it heads up once it has
# been at rung 0, heads down once it has then been at the top, and completes
# a trip on its next visit to rung 0. A replica that reaches the top before
# ever visiting rung 0 is on its way down but owes no trip yet.
_UNKNOWN, _UP, _DOWN, _DOWN_UNCOUNTED = 0, 1, -1, -2


class TemperingState(NamedTuple):
    """State of :class:`ParallelTempering`.

    Attributes:
      replicas: the base sampler's states, one per replica (leading axis R),
        in *replica* order.
      replica: int32 ``(R,)``; ``replica[i]`` is the replica at rung ``i``.
      direction: int32 ``(R,)`` per replica, for counting round trips.
      round_trips: int32 ``(R,)``, round trips completed by each replica.
      n_steps: int32 scalar, steps taken (the even/odd alternation).
    """

    replicas: Any
    replica: jax.Array
    direction: jax.Array
    round_trips: jax.Array
    n_steps: jax.Array

    def _in_rung_order(self, x):
        # Batch-aware (a state returned by a vmapped run has leading chain axes):
        # the rung axis is the last axis of ``replica``.
        axis = self.replica.ndim - 1
        index = self.replica.reshape(self.replica.shape + (1,) * (x.ndim - self.replica.ndim))
        return jnp.take_along_axis(x, index, axis=axis)

    @property
    def spins(self):
        """Configurations in rung order: ``spins[i]`` is at ``betas[i]`` (``spins[..., i, :]``
        for a batch of states)."""
        return self._in_rung_order(self.replicas.spins)

    @property
    def energy(self):
        """Energies in rung order, shape ``(R,)`` (or ``(..., R)`` for a batch of states)."""
        return self._in_rung_order(self.replicas.energy)

    @property
    def beta_index(self):
        """The rung of each replica, int32 ``(R,)``: the inverse permutation of ``replica``."""
        return _inverse(self.replica)


class TemperingInfo(NamedTuple):
    """Diagnostics of one parallel-tempering step.

    Attributes:
      swap_acceptance: ``(R-1,)``, :math:`\\alpha_i` of every neighbouring
        pair (i, i+1), offered or not; ``1 - mean`` is the rejection rate.
      swapped: ``(R-1,)``, whether pair (i, i+1) exchanged this step.
      round_trips: round trips completed this step, all replicas together.
      beta_index: ``(R,)``, the rung of each replica after the step.
      base: the base sampler's info, in rung order (leading axis R).
    """

    swap_acceptance: jax.Array
    swapped: jax.Array
    round_trips: jax.Array
    beta_index: jax.Array
    base: Any


def _inverse(permutation):
    """The inverse permutation along the last axis (a sort of R small integers; batch axes allowed)."""
    return jnp.argsort(permutation, axis=-1).astype(permutation.dtype)


def _rung_order(tree, replica):
    """Every leaf of one state's ``tree`` (replica order, leading axis R) in rung order."""
    return jax.tree.map(lambda x: jnp.take(x, replica, axis=0), tree)


def _initial_direction(rung, n_rungs):
    return jnp.where(rung == 0, _UP, jnp.where(rung == n_rungs - 1, _DOWN_UNCOUNTED, _UNKNOWN)).astype(jnp.int32)


def _track_round_trips(direction, round_trips, rung, n_rungs):
    """Update directions and round-trip counts (per replica) after a step."""
    at_top, at_bottom = rung == n_rungs - 1, rung == 0
    completed = at_bottom & (direction == _DOWN)
    direction = jnp.where(
        at_top,
        jnp.where(direction == _UP, _DOWN, jnp.where(direction == _UNKNOWN, _DOWN_UNCOUNTED, direction)),
        direction,
    )
    direction = jnp.where(at_bottom, _UP, direction).astype(jnp.int32)
    return direction, round_trips + completed, jnp.sum(completed)


@register_sampler
class ParallelTempering(Sampler):
    """Replica exchange over ``base`` (a pytree: the base sampler and ``betas`` are
    leaves, so a retuned ladder of the same length reuses compiled code).
    Built and validated by :func:`parallel_tempering`."""

    base: Any
    betas: jax.Array
    scheme: str = static_field(default="nonreversible")

    has_ladder = True

    @property
    def n_rungs(self) -> int:
        return self.betas.shape[0]

    @property
    def site_shape(self) -> tuple:
        return (self.n_rungs,) + tuple(self.base.site_shape)

    def init(self, spins) -> TemperingState:
        """One configuration per rung ``(R, *site)``, or one configuration for every rung."""
        R = self.n_rungs
        spins = jnp.asarray(spins)
        site = tuple(self.base.site_shape)
        if spins.shape == site:
            spins = jnp.broadcast_to(spins, (R,) + site)
        elif spins.shape != (R,) + site:
            raise ValueError(
                f"spins must be one configuration of shape {site}, or one per rung of shape {(R,) + site} "
                f"(R = {R}, the ladder's length); got shape {tuple(spins.shape)}"
            )
        if is_concrete(spins):
            # Each row through the base init, so its value checks name what is wrong.
            states = [self.base.init(spins[r]) for r in range(R)]
            replicas = jax.tree.map(lambda *xs: jnp.stack(xs), *states)
        else:
            replicas = jax.vmap(self.base.init)(spins)
        rung = jnp.arange(R, dtype=jnp.int32)
        return TemperingState(
            replicas=replicas,
            replica=rung,
            direction=_initial_direction(rung, R),
            round_trips=jnp.zeros(R, jnp.int32),
            n_steps=jnp.zeros((), jnp.int32),
        )

    def step(self, key, state: TemperingState, beta=None):
        if beta is not None:
            raise ValueError("parallel tempering carries its ladder (sampler.betas): call step(key, state)")
        R = self.n_rungs
        if not isinstance(state, TemperingState):
            raise ValueError(f"state must be a TemperingState from this sampler's init; got {type(state).__name__}")
        if state.replica.shape != (R,):
            raise ValueError(
                f"state has {state.replica.shape[0] if state.replica.ndim else 0} rungs but this ladder has "
                f"R = {R}: it comes from another parallel_tempering sampler (vmap step over independent ladders)"
            )
        k_local, k_swap, k_set = jax.random.split(key, 3)
        rung = _inverse(state.replica)
        replicas, infos = jax.vmap(self.base.step)(jax.random.split(k_local, R), state.replicas, self.betas[rung])

        energy = _rung_order(replicas.energy, state.replica)
        log_alpha = jnp.minimum((self.betas[1:] - self.betas[:-1]) * (energy[1:] - energy[:-1]), 0.0)
        if self.scheme == "nonreversible":
            parity = state.n_steps % 2
        else:
            parity = jax.random.bernoulli(k_set).astype(jnp.int32)
        offered = (jnp.arange(R - 1) % 2) == parity
        log_u = jnp.log(uniform_open(k_swap, (R - 1,), log_alpha.dtype))
        swapped = offered & (log_u < log_alpha)  # NaN energies never swap
        # Offered pairs are disjoint, so every rung moves at most one step.
        up = jnp.concatenate([swapped, jnp.zeros(1, bool)])     # rung i takes rung i+1's replica
        down = jnp.concatenate([jnp.zeros(1, bool), swapped])   # rung i takes rung i-1's replica
        replica = jnp.where(up, jnp.roll(state.replica, -1), jnp.where(down, jnp.roll(state.replica, 1), state.replica))

        new_rung = _inverse(replica)
        direction, round_trips, completed = _track_round_trips(state.direction, state.round_trips, new_rung, R)
        new_state = TemperingState(replicas, replica, direction, round_trips, state.n_steps + 1)
        info = TemperingInfo(
            swap_acceptance=jnp.exp(log_alpha),
            swapped=swapped,
            round_trips=completed,
            beta_index=new_rung,
            base=_rung_order(infos, state.replica),
        )
        return new_state, info

    def observe(self, state: TemperingState):
        """The base sampler's default record at every rung (leading axis R, rung order)."""
        return jax.vmap(self.base.observe)(_rung_order(state.replicas, state.replica))


def check_ladder(betas, name: str = "betas"):
    """A ladder: a 1-D array of at least two finite betas >= 0, strictly increasing (checked when concrete)."""
    betas = as_float_array(betas, name)
    if betas.ndim != 1 or betas.shape[0] < 2:
        raise ValueError(
            f"{name} must be a 1-D ladder of at least two inverse temperatures; got shape {tuple(betas.shape)}"
        )
    if is_concrete(betas):
        b = np.asarray(betas, np.float64)
        if not np.all(np.isfinite(b)):
            raise ValueError(f"{name} must be finite (a rung at beta = inf never exchanges); got {b.tolist()}")
        if b[0] < 0:
            raise ValueError(f"{name} must be >= 0 (inverse temperatures); got {name}[0] = {b[0]}")
        steps = np.diff(b)
        if np.any(steps <= 0):
            i = int(np.argmax(steps <= 0))
            raise ValueError(
                f"{name} must be strictly increasing (hot to cold); got {name}[{i}] = {b[i]} >= "
                f"{name}[{i + 1}] = {b[i + 1]}"
            )
    return betas


def parallel_tempering(sampler, betas, scheme: str = "nonreversible") -> ParallelTempering:
    r"""Replica exchange of ``sampler`` over the ladder ``betas``.

    Args:
      sampler: any jaxstat sampler with ``step(key, state, beta)`` (single
        spin, checkerboard, cluster, Kawasaki, RBM Gibbs).
      betas: strictly increasing inverse temperatures, at least two, finite,
        ``>= 0``; in the model's dtype.
      scheme: ``"nonreversible"`` (deterministic even/odd alternation, the
        default) or ``"reversible"`` (a random pair set each step).

    Returns:
      a :class:`ParallelTempering` sampler. ``init(spins)`` takes one
      configuration per rung or one for all; ``step(key, state)`` (no beta:
      the ladder lives in the sampler) returns a :class:`TemperingState`
      and a :class:`TemperingInfo`. Run it with
      ``jaxstat.mcmc.run(key, pt, spins, None, n_sweeps)``; the default
      record holds the energy and magnetization at every rung.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.sherrington_kirkpatrick(jax.random.key(0), 16)
      >>> pt = js.mcmc.parallel_tempering(js.mcmc.metropolis(m), jnp.linspace(0.2, 2.0, 6))
      >>> state, trace = js.mcmc.run(jax.random.key(1), pt, jnp.ones(16), None, 50)
      >>> trace["energy"].shape, state.spins.shape, trace["swap_acceptance"].shape
      ((50, 6), (6, 16), (50, 5))
    """
    if not isinstance(sampler, Sampler) or sampler.has_ladder:
        raise ValueError(
            "sampler must be a jaxstat sampler with step(key, state, beta), e.g. jaxstat.mcmc.metropolis(model); "
            f"got {type(sampler).__name__}"
        )
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}; got {scheme!r}")
    betas = check_ladder(betas)
    dtype = getattr(getattr(sampler, "model", None), "dtype", None)
    if dtype is not None:
        betas = betas.astype(dtype)
    return ParallelTempering(base=sampler, betas=betas, scheme=scheme)
