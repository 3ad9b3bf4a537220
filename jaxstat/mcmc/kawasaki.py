r"""Kawasaki spin-exchange dynamics: the magnetization is conserved exactly.

A Kawasaki move picks a site :math:`i` and one of its nearest neighbours
:math:`j` uniformly and proposes to exchange their spins. Exchanging equal
spins changes nothing; exchanging :math:`s_j = -s_i` is flipping both, with

.. math:: \Delta E = 2 s_i h_i + 2 s_j h_j - 4 J_{ij} s_i s_j ,

where :math:`h` are the local fields (each single-flip cost counts the bond
:math:`ij` once, but flipping both leaves it unchanged). It is accepted with
the Metropolis probability :math:`\min(1, e^{-\beta\Delta E})` or the
heat-bath probability :math:`1/(1 + e^{\beta\Delta E})`. The proposal is
symmetric, so the chain samples the Boltzmann distribution restricted to the
sector of the starting magnetization: the canonical ensemble of a lattice gas
(up spins are particles) or of a binary alloy, and the dynamics of phase
separation. Start from :func:`jaxstat.ising.random_spins` with
``magnetization=`` to fix the sector.

One step is one sweep: N exchange attempts. Exchanges across an open
boundary are never proposed (the pair is not neighbours).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxstat._kernels import energy_unchecked, lattice_field, neighbour_table
from jaxstat import ising
from jaxstat._validate import invalid_beta_to_nan
from jaxstat.mcmc.base import (
    Sampler,
    SpinState,
    SweepInfo,
    as_beta,
    check_rule,
    check_state,
    glauber_variate,
    metropolis_variate,
    one_configuration,
    register_sampler,
    static_field,
    uniform_open,
)

__all__ = ["kawasaki", "Kawasaki"]


def _accepts(rule: str, dE, beta, v):
    """Accept a move of energy change ``dE`` given the rule's variate ``v`` of a uniform."""
    # The zero-temperature tie rule: at beta = inf a move that leaves the energy
    # unchanged is refused (beta = inf is a quench), for both rules.
    if rule == "metropolis":  # v = -log u > 0; beta = inf, dE = 0 gives NaN < v: refused
        return (dE < 0) | (beta * dE < v)
    # heat bath, v = logit(u): accept w.p. 1 / (1 + e^{beta dE}); at dE = 0 a fair coin at finite beta
    tie = jnp.where(jnp.isinf(beta), -jnp.inf, 0.0)
    return v < jnp.where(dE == 0, tie, -beta * dE)


@register_sampler
class Kawasaki(Sampler):
    """Kawasaki exchange sampler (a pytree); built and validated by :func:`kawasaki`."""

    model: Any
    rule: str = static_field(default="metropolis")

    def init(self, spins) -> SpinState:
        s = one_configuration(self.model, spins)
        return SpinState(spins=s, field=lattice_field(self.model, s), energy=energy_unchecked(self.model, s))

    def step(self, key, state: SpinState, beta):
        model = self.model
        shape, n, d, dtype = model.shape, model.n, len(model.shape), model.dtype
        check_state(state, shape, needs_field=True)
        beta = as_beta(beta, dtype)
        nbr, w, exists = neighbour_table(model)
        exists = jnp.asarray(exists)
        k_u, k_site, k_dir = jax.random.split(key, 3)
        variate = metropolis_variate if self.rule == "metropolis" else glauber_variate
        v = variate(uniform_open(k_u, (n,), dtype))
        sites = jax.random.randint(k_site, (n,), 0, n)
        slots = jax.random.randint(k_dir, (n,), 0, 2 * d)

        def body(t, carry):
            s, field, moves = carry
            i, c = sites[t], slots[t]
            j = nbr[i, c]
            si, sj = s[i], s[j]
            # The whole coupling of the pair: on a periodic side of length 2 the
            # pair is joined by two bonds.
            Jij = jnp.sum(jnp.where(nbr[i] == j, w[i], 0.0))
            dE = 2 * si * field[i] + 2 * sj * field[j] - 4 * Jij * si * sj
            accept = exists[i, c] & (si != sj) & _accepts(self.rule, dE, beta, v[t])
            di = jnp.where(accept, -2 * si, 0.0)
            dj = jnp.where(accept, -2 * sj, 0.0)
            field = field.at[nbr[i]].add(w[i] * di).at[nbr[j]].add(w[j] * dj)
            return s.at[i].add(di).at[j].add(dj), field, moves + accept

        carry = (state.spins.ravel(), state.field.ravel(), jnp.zeros((), jnp.int32))
        s, _, moves = jax.lax.fori_loop(0, n, body, carry)
        s = s.reshape(shape)
        # Exact fields and energy once per sweep: incremental float updates drift.
        new_state = SpinState(
            spins=s, field=lattice_field(model, s), energy=invalid_beta_to_nan(energy_unchecked(model, s), beta)
        )
        return new_state, SweepInfo(acceptance_rate=invalid_beta_to_nan(moves.astype(dtype) / n, beta))


def kawasaki(model, rule: str = "metropolis") -> Kawasaki:
    r"""Kawasaki nearest-neighbour spin-exchange sampler (conserved magnetization).

    Args:
      model: a :class:`jaxstat.ising.LatticeIsing` (any dimension, periodic
        or open, uniform or per-bond couplings of any sign, any field; a
        uniform field only shifts the energy of the sector).
      rule: ``"metropolis"`` or ``"glauber"`` (heat-bath acceptance
        :math:`1/(1 + e^{\beta\Delta E})`).

    Returns:
      a :class:`Kawasaki` sampler; one ``step`` is N exchange attempts and
      ``info.acceptance_rate`` the fraction of them that moved two spins.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((16, 16))
      >>> s0 = js.ising.random_spins(jax.random.key(0), (16, 16), magnetization=0.5)
      >>> state, trace = js.mcmc.run(jax.random.key(1), js.mcmc.kawasaki(m), s0, 0.6, 20)
      >>> [float(trace["magnetization"][t]) for t in (0, -1)]   # conserved exactly
      [0.5, 0.5]
    """
    check_rule(rule)
    if not isinstance(model, ising.LatticeIsing):
        raise ValueError(
            "kawasaki needs a nearest-neighbour lattice model (jaxstat.ising.lattice or edwards_anderson); "
            f"got {type(model).__name__}"
        )
    return Kawasaki(model=model, rule=rule)
