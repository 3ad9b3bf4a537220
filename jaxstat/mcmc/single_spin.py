r"""Single-spin samplers: :func:`metropolis` and :func:`glauber`, for any model.

One ``step`` is one sweep of N single-spin update attempts, visiting sites
in order (``order="sequential"``) or drawing N sites uniformly at random
(``order="random"``). The local fields are cached in the state and updated
after each flip, so a flip costs O(N) on a dense model and O(d) on a
lattice, never O(N^2).

Sequential sweeps satisfy the balance condition (each single-site update
leaves the Boltzmann distribution invariant) but not detailed balance of the
whole sweep; random-scan sweeps satisfy detailed balance. Both converge to
the Boltzmann distribution; the tests check both against exact enumeration.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import ising
from jaxstat.mcmc.base import Sampler, SpinState, SweepInfo, as_beta, uniform_open, update_rule

__all__ = ["metropolis", "glauber", "single_spin"]

ORDERS = ("sequential", "random")


def _lattice_neighbours(model: ising.LatticeIsing):
    """Neighbour table (N, 2d) and matching bond weights for a lattice."""
    shape, d, n = model.shape, len(model.shape), model.n
    index = np.arange(n).reshape(shape)
    Jb = jnp.broadcast_to(model.J, (d,) + shape)
    nbrs, weights = [], []
    for k in range(d):
        nbrs.append(np.roll(index, -1, axis=k).ravel())   # x + e_k, bond J_k(x)
        weights.append(Jb[k].ravel())
        nbrs.append(np.roll(index, 1, axis=k).ravel())    # x - e_k, bond J_k(x - e_k)
        weights.append(jnp.roll(Jb[k], 1, axis=k).ravel())
    return jnp.asarray(np.stack(nbrs, axis=1), jnp.int32), jnp.stack(weights, axis=1)


def single_spin(model, rule: str = "metropolis", order: str = "sequential") -> Sampler:
    """Single-spin sampler with the given acceptance ``rule`` and visiting ``order``.

    :func:`metropolis` and :func:`glauber` are this function with ``rule`` set.
    """
    ising._check_model(model)
    variate, update = update_rule(rule)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}; got {order!r}")
    if rule == "metropolis":
        ising.require_symmetric(model, "Metropolis acceptance")
    n = model.n
    dtype = model.dtype
    shape = ising.site_shape(model)

    if isinstance(model, ising.LatticeIsing):
        nbr, w = _lattice_neighbours(model)

        def add_flip(field, i, delta):
            return field.at[nbr[i]].add(w[i] * delta)

    else:
        J = model.J

        def add_flip(field, i, delta):
            # field_j = sum_k J_jk s_k: flipping s_i moves every field by J_ji delta.
            return field + J[:, i] * delta

    def init(spins) -> SpinState:
        s = ising._as_spins(model, spins)
        if s.shape != shape:
            raise ValueError(
                f"spins must be one configuration of shape {shape} (vmap init over chains); got {s.shape}"
            )
        return SpinState(spins=s, field=ising._field(model, s), energy=ising._energy(model, s))

    def step(key, state: SpinState, beta):
        beta = as_beta(beta, dtype)
        key_u, key_site = jax.random.split(key)
        v = variate(uniform_open(key_u, (n,), dtype))
        if order == "random":
            sites = jax.random.randint(key_site, (n,), 0, n)
        else:
            sites = jnp.arange(n)

        def body(t, carry):
            s, field, energy, flips = carry
            i = sites[t]
            old, h = s[i], field[i]
            new = update(old, h, beta, v[t])
            delta = new - old
            return (
                s.at[i].set(new),
                add_flip(field, i, delta),
                energy - delta * h,
                flips + (delta != 0),
            )

        carry = (state.spins.reshape(n), state.field.reshape(n), state.energy, jnp.zeros((), jnp.int32))
        s, field, energy, flips = jax.lax.fori_loop(0, n, body, carry)
        new_state = SpinState(spins=s.reshape(shape), field=field.reshape(shape), energy=energy)
        return new_state, SweepInfo(acceptance_rate=flips.astype(dtype) / n)

    return Sampler(init, step)



def metropolis(model, order: str = "sequential") -> Sampler:
    r"""Single-spin Metropolis sampler for any symmetric model.

    Each update proposes flipping :math:`s_i` and accepts with probability
    :math:`\min(1, e^{-\beta \Delta E})`, :math:`\Delta E = 2 s_i h_i(s)`.

    Args:
      model: a jaxstat Ising model (symmetric couplings: Metropolis needs an
        energy).
      order: ``"sequential"`` (sites 0..N-1) or ``"random"`` (N uniform draws).

    Returns:
      ``Sampler(init, step)``; ``step(key, state, beta)`` performs one sweep.

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.lattice((8, 8))
      >>> sampler = js.mcmc.metropolis(m)
      >>> state = sampler.init(js.ising.random_spins(jax.random.key(0), (8, 8)))
      >>> state, info = sampler.step(jax.random.key(1), state, 0.4)
      >>> state.spins.shape, bool(abs(state.energy - js.ising.energy(m, state.spins)) < 1e-4)
      ((8, 8), True)
    """
    return single_spin(model, "metropolis", order)


def glauber(model, order: str = "sequential") -> Sampler:
    r"""Single-spin Glauber (heat-bath) sampler for any model.

    Each update sets :math:`s_i = +1` with probability
    :math:`1/(1 + e^{-2\beta h_i(s)})`. Works for asymmetric couplings too
    (neural dynamics without an energy function; no equilibrium then).
    At ``beta = inf`` this is zero-temperature asynchronous dynamics.

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.sherrington_kirkpatrick(jax.random.key(0), 16)
      >>> sampler = js.mcmc.glauber(m, order="random")
      >>> state = sampler.init(js.ising.random_spins(jax.random.key(1), (16,)))
      >>> state, info = sampler.step(jax.random.key(2), state, float("inf"))
      >>> state.spins.dtype
      dtype('float32')
    """
    return single_spin(model, "glauber", order)
