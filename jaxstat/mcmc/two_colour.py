r"""Checkerboard (two-colour) parallel updates for bipartite lattices.

Colour a site by the parity of the sum of its coordinates. Every
nearest-neighbour bond joins two colours, so all sites of one colour are
conditionally independent given the other and can be updated at once with
the Metropolis or heat-bath rule: one sweep is a half-sweep of each colour.
The fields come from array rolls, so a sweep is a handful of fused
elementwise passes over the lattice, which XLA vectorizes on CPU and GPU.

Periodic axes must have even length (an odd ring is not bipartite); open axes
may have any length.

The energy is kept without an extra pass: after the second half-sweep every
bond has exactly one end in colour 1 whose field is still exact, so
:math:`E = -\sum_{x \in 1} s_x (h_x(s) - h_x) - \sum_x h_x s_x`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxstat._cpu import fast_sum
from jaxstat._kernels import energy_unchecked, lattice_field
from jaxstat import ising
from jaxstat._validate import invalid_beta_to_nan
from jaxstat.mcmc.base import (
    Sampler,
    SpinState,
    SweepInfo,
    as_beta,
    check_rule,
    check_state,
    one_configuration,
    register_sampler,
    static_field,
    two_half_sweeps,
    uniform_open,
    update_rule,
)

__all__ = ["checkerboard", "Checkerboard"]


def _colour1(shape):
    """True on sites whose coordinates sum to an odd number.

    Built from iotas inside the compiled program rather than captured as a
    constant: a baked-in N-element mask slows large lattices several-fold.
    """
    total = sum(jax.lax.broadcasted_iota(jnp.int32, shape, k) for k in range(len(shape)))
    return (total & 1) == 1


@register_sampler
class Checkerboard(Sampler):
    """Two-colour sampler (a pytree): the lattice ``model`` is a leaf, ``rule`` static.

    Built and validated by :func:`checkerboard`.
    """

    model: Any
    rule: str = static_field(default="metropolis")

    def init(self, spins) -> SpinState:
        s = one_configuration(self.model, spins)
        return SpinState(spins=s, field=None, energy=energy_unchecked(self.model, s))

    def step(self, key, state: SpinState, beta):
        model = self.model
        shape, dtype, n = model.shape, model.dtype, model.n
        variate, update = update_rule(self.rule)
        check_state(state, shape, needs_field=False)
        beta = as_beta(beta, dtype)
        # One uniform per site serves both half-sweeps: each site is updated
        # once per sweep, so the draws stay independent.
        v = variate(uniform_open(key, shape, dtype))
        colour1 = _colour1(shape)
        s = state.spins

        def half_sweep(colour, s):
            field = lattice_field(model, s)
            return jnp.where(colour1 == (colour == 1), update(s, field, beta, v), s), field

        s1, field = two_half_sweeps(half_sweep, s)
        # Three sums in one matrix-vector product (see jaxstat._cpu.fast_sum).
        sums = fast_sum(
            jnp.stack([jnp.where(colour1, s1 * (field - model.h), 0.0), model.h * s1, (s1 != s).astype(dtype)]),
            n_lead=1,
        )
        energy = invalid_beta_to_nan(-sums[0] - sums[1], beta)
        return SpinState(spins=s1, field=None, energy=energy), SweepInfo(invalid_beta_to_nan(sums[2] / n, beta))


def check_bipartite(model, what: str):
    """Refuse a model that is not a lattice with even periodic sides (not bipartite)."""
    if not isinstance(model, ising.LatticeIsing):
        raise ValueError(
            f"{what} needs a nearest-neighbour lattice model (jaxstat.ising.lattice or "
            f"edwards_anderson), which is bipartite; got {type(model).__name__}. "
            "Use metropolis or glauber for dense models."
        )
    for k, (length, periodic) in enumerate(zip(model.shape, model.periodic)):
        if periodic and length % 2:
            raise ValueError(
                f"{what} needs even side lengths on periodic axes (an odd ring is not "
                f"bipartite); got shape {model.shape} with axis {k} of length {length}"
            )


def checkerboard(model, rule: str = "metropolis", mesh=None, packed: bool = False):
    r"""Two-colour parallel sampler for nearest-neighbour lattices.

    Args:
      model: a :class:`jaxstat.ising.LatticeIsing` (uniform or per-bond
        couplings, any dimension); periodic axes need even side lengths.
      rule: ``"metropolis"`` or ``"glauber"`` (heat bath).
      mesh: optional :class:`jax.sharding.Mesh` with 1 or 2 axes: split the
        lattice's first axis (and second) over it, each device sweeping its
        own block and exchanging one-site boundary slabs with its neighbours
        (:mod:`jaxstat.mcmc.domain`). Each mesh axis size must divide the
        lattice side it splits. The spins are bit-identical to the
        single-device sampler's for the same keys, on any number of devices.
      packed: store the spins bit-packed, 32 to a word, and update 32 at
        once with word operations (multi-spin coding, :mod:`jaxstat.mcmc.packed`):
        several times faster on large lattices. Needs a periodic lattice with
        even sides, uniform or per-bond ±J couplings of one magnitude and no
        field; anything else is refused with a ValueError. Acceptance
        probabilities are quantized to multiples of :math:`2^{-24}` (as the
        float path's float32 uniforms are), and the random stream differs
        from the float path's, so the chains are different but sample the
        same distribution.

    Returns:
      a :class:`Checkerboard` sampler (a pytree with the model's arrays as
      leaves), or with ``mesh`` a
      :class:`~jaxstat.mcmc.DecomposedCheckerboard`, or with ``packed`` a
      :class:`~jaxstat.mcmc.PackedCheckerboard` (its state holds the packed
      words; ``state.spins`` unpacks them); ``step(key, state, beta)``
      updates colour 0, then colour 1 (one sweep, N update attempts).

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.lattice((16, 16))
      >>> sampler = js.mcmc.checkerboard(m, rule="glauber")
      >>> state = sampler.init(js.ising.random_spins(jax.random.key(0), (16, 16)))
      >>> state, info = sampler.step(jax.random.key(1), state, 0.44)
      >>> bool(abs(state.energy - js.ising.energy(m, state.spins)) < 1e-3)
      True

    Multi-spin coding (the same distribution, several times faster on large lattices):
      >>> packed = js.mcmc.checkerboard(js.ising.lattice((64, 64)), packed=True)
      >>> state, trace = js.mcmc.run(jax.random.key(2), packed, js.ising.random_spins(jax.random.key(3), (64, 64)),
      ...                            0.44, 10)
      >>> state.words.shape, state.words.dtype, trace["energy"].shape, state.spins.shape
      ((2, 1, 64), dtype('uint32'), (10,), (64, 64))
    """
    check_rule(rule)
    check_bipartite(model, "checkerboard")
    if packed:
        if mesh is not None:
            raise ValueError("checkerboard: packed=True with mesh= is not supported; shard a batch of packed "
                             "chains with jaxstat.parallel instead, or use the float path on a mesh")
        from jaxstat.mcmc.packed import packed_checkerboard

        return packed_checkerboard(model, rule)
    if mesh is not None:
        from jaxstat.mcmc.domain import decomposed_checkerboard

        return decomposed_checkerboard(model, rule, mesh)
    return Checkerboard(model=model, rule=rule)
