r"""One lattice split across devices: the checkerboard sweep with halo exchange.

``jaxstat.mcmc.checkerboard(model, mesh=mesh)`` returns a
:class:`DecomposedCheckerboard`: the same sampler as the single-device
:func:`~jaxstat.mcmc.checkerboard`, whose lattice (spins, per-bond couplings,
per-site fields) is split into blocks along its first one or two axes over a
1D or 2D :class:`jax.sharding.Mesh`. Each sweep runs as a ``jax.shard_map``
over the mesh: every device updates its own block, and the only data that
cross devices are

* the one-site-thick boundary slabs of the spins (twice per sweep, one per
  half-sweep, in each direction along each split axis) and, for per-bond
  couplings, of the couplings (once per sweep: the backward bond
  :math:`J_k(x - e_k)` of a block's first slab lives on the previous device),
  as ``collective-permute``\ s;
* a grid of at most 32 x 32 tile sums of the energy and the flips, as one
  ``all-reduce`` per sweep (and one of the spins' tile sums per record of
  the magnetization).

No array of the lattice's size is ever gathered (the HLO test in
``tests/mcmc/test_domain.py`` checks the compiled program).

**Exact and device-count invariant.** The random numbers are keyed per site,
not per device: each device computes, for its own sites, the very words that
the single-device sampler draws (:mod:`jaxstat.mcmc._halo`), so the spins
after any number of sweeps are bit-identical to
``checkerboard(model).step`` with the same keys, on any mesh that divides
the lattice. The recorded energy, magnetization and acceptance rate are sums
taken in an order fixed by a tiling of the lattice (``gcd(L_k, 32)`` tiles
along each of the first two axes), so they are bit-identical across every
mesh whose sizes divide the tile counts (any power of two up to 32 devices
per axis on a lattice with sides divisible by 32). Where the summands are
integers and the sums stay below :math:`2^{24}` (float32; uniform or
:math:`\pm J` couplings, integer fields) the sums are exact and so also equal
the single-device checkerboard's; with real-valued couplings they differ from
it in the last bits (its sums run in another order).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxstat._validate import check_shape, invalid_beta_to_nan, is_concrete
from jaxstat.mcmc._halo import Blocks, tile_counts
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
    update_rule,
)

__all__ = ["DecomposedCheckerboard", "decomposed_checkerboard", "lattice_sharded"]


def _blocks(model, mesh: Mesh) -> Blocks:
    sizes = tuple(mesh.shape[a] for a in mesh.axis_names)
    return Blocks(model.shape, tuple(mesh.axis_names), sizes, tile_counts(model.shape, sizes))


def _spec(d: int, mesh: Mesh, lead: int = 0) -> P:
    """Partition spec of an array whose last ``d`` axes are the lattice (after ``lead`` others)."""
    names = tuple(mesh.axis_names)
    return P(*((None,) * lead + names + (None,) * (d - len(names))))


def _specs(model, mesh: Mesh):
    d = len(model.shape)
    return (_spec(d, mesh, lead=1) if model.J.ndim else P()), (_spec(d, mesh) if model.h.ndim else P())


def _place(x, sharding):
    """``x`` laid out with ``sharding``: a transfer for concrete arrays, a constraint under tracing."""
    if is_concrete(x):
        return jax.device_put(x, sharding)
    return jax.lax.with_sharding_constraint(x, sharding)


def _field(blocks: Blocks, J, Jback, h, s):
    """Local fields on the block, in the same floating-point order as ``jaxstat._kernels.lattice_field``."""
    out = h
    for k in range(blocks.d):
        fwd, bwd = blocks.shift(s, k, 1), blocks.shift(s, k, -1)
        if J.ndim == 0:
            out = out + J * (fwd + bwd)
        else:
            out = out + J[k] * fwd + Jback[k] * bwd
    return jnp.broadcast_to(out, s.shape)


def _sweep(blocks: Blocks, s, J, h, words, beta, *, rule: str):
    """One checkerboard sweep of a block (the body of ``DecomposedCheckerboard.step``)."""
    variate, update = update_rule(rule)
    dtype = s.dtype
    offsets = blocks.offsets()
    Jback = None if J.ndim == 0 else [blocks.shift(J[k], k, -1) for k in range(blocks.d)]
    v = variate(blocks.uniforms(words, offsets, dtype))
    colour1 = blocks.colour1(offsets)

    def half_sweep(colour, s):
        field = _field(blocks, J, Jback, h, s)
        return jnp.where(colour1 == (colour == 1), update(s, field, beta, v), s), field

    s1, field = two_half_sweeps(half_sweep, s)
    # After the second half-sweep every bond has one end in colour 1 whose field is exact.
    terms = jnp.stack([jnp.where(colour1, s1 * (field - h), 0.0), h * s1, (s1 != s).astype(dtype)])
    sums = blocks.ordered_sums(terms, offsets)
    return s1, -sums[0] - sums[1], sums[2]


def _energy(blocks: Blocks, s, J, h):
    """E(s) on the block, as ``jaxstat._kernels.energy_unchecked`` (each bond from its lower end)."""
    forward = 0.0
    for k in range(blocks.d):
        forward = forward + (J if J.ndim == 0 else J[k]) * blocks.shift(s, k, 1)
    sums = blocks.ordered_sums(jnp.stack([s * forward, jnp.broadcast_to(h, s.shape) * s]), blocks.offsets())
    return -sums[0] - sums[1]


def _magnetization(blocks: Blocks, s):
    return blocks.ordered_sums(s[None], blocks.offsets())[0] / math.prod(blocks.shape)


@register_sampler
class DecomposedCheckerboard(Sampler):
    """Checkerboard sampler of one lattice split over a device mesh (a pytree).

    The ``model``'s arrays are leaves; ``rule`` and ``mesh`` (lattice axis
    ``k`` is split over ``mesh.axis_names[k]``) are static. Built and
    validated by :func:`jaxstat.mcmc.checkerboard` with ``mesh=``; see
    :mod:`jaxstat.mcmc.domain` for what is exchanged and what is exact.
    """

    model: Any
    rule: str = static_field(default="metropolis")
    mesh: Mesh = static_field(default=None)

    @property
    def blocks(self) -> Blocks:
        return _blocks(self.model, self.mesh)

    @property
    def sharding(self) -> NamedSharding:
        """Sharding of one configuration: the lattice's first axes split over the mesh."""
        return NamedSharding(self.mesh, _spec(len(self.model.shape), self.mesh))

    def _map(self, f, in_specs, out_specs):
        return jax.shard_map(functools.partial(f, self.blocks), mesh=self.mesh, in_specs=in_specs,
                             out_specs=out_specs)

    def energy(self, spins):
        """E(s) of a configuration (validated), summed in the sampler's mesh-independent order."""
        return _energy_program(self, _place(one_configuration(self.model, spins), self.sharding))

    def init(self, spins) -> SpinState:
        s = _place(one_configuration(self.model, spins), self.sharding)
        return SpinState(spins=s, field=None, energy=_energy_program(self, s))

    def step(self, key, state: SpinState, beta):
        model = self.model
        check_state(state, model.shape, needs_field=False)
        beta = as_beta(beta, model.dtype)
        words = jax.random.bits(key, (2,), jnp.uint32)  # the key words of jaxstat._cpu.random_bits
        s1, energy, flips = _sweep_program(self, state.spins, words, beta)
        energy = invalid_beta_to_nan(energy, beta)
        return SpinState(spins=s1, field=None, energy=energy), SweepInfo(invalid_beta_to_nan(flips / model.n, beta))

    def observe(self, state) -> dict:
        """The default record: the energy ``E`` and the magnetization per spin ``m``, both
        summed in the mesh-independent order (bit-identical on any number of devices)."""
        return {"energy": state.energy, "magnetization": _magnetization_program(self, state.spins)}


# Each shard_map runs inside a jit of its own: called outside a compiled program (a user's
# sampler.step), an eager shard_map would run op by op, seconds for a 16 x 16 lattice. Inside
# run's program these jits are inlined.
@jax.jit
def _sweep_program(sampler, s, words, beta):
    spec = _spec(len(sampler.model.shape), sampler.mesh)
    f = sampler._map(functools.partial(_sweep, rule=sampler.rule),
                     (spec,) + _specs(sampler.model, sampler.mesh) + (P(), P()), (spec, P(), P()))
    return f(s, sampler.model.J, sampler.model.h, words, beta)


@jax.jit
def _energy_program(sampler, s):
    spec = _spec(len(sampler.model.shape), sampler.mesh)
    f = sampler._map(_energy, (spec,) + _specs(sampler.model, sampler.mesh), P())
    return f(s, sampler.model.J, sampler.model.h)


@jax.jit
def _magnetization_program(sampler, s):
    return sampler._map(_magnetization, (_spec(len(sampler.model.shape), sampler.mesh),), P())(s)


def check_mesh(shape: tuple, mesh) -> None:
    """Refuse a mesh that cannot split a lattice of ``shape``, naming both."""
    if not isinstance(mesh, Mesh):
        raise ValueError(f"mesh must be a jax.sharding.Mesh (e.g. jax.make_mesh((2, 4), ('x', 'y'))); "
                         f"got {type(mesh).__name__}")
    d = len(shape)
    if not 1 <= len(mesh.axis_names) <= min(2, d):
        raise ValueError(f"mesh must have 1 or 2 axes (at most the lattice's {d}), which split lattice axes 0 "
                         f"(and 1); got a mesh with axes {dict(mesh.shape)} for lattice shape {shape}")
    for k, name in enumerate(mesh.axis_names):
        m, length = mesh.shape[name], shape[k]
        if length % m:
            raise ValueError(f"mesh axis {name!r} has {m} devices, which does not divide lattice axis {k} of "
                             f"length {length} (lattice shape {shape}, mesh {dict(mesh.shape)})")


def _check_counters(model) -> None:
    limit = 2**32 if jnp.dtype(model.dtype) == jnp.float32 else 2**32 - 1
    if model.n > limit:
        raise ValueError(f"the checkerboard's random words are numbered by 32-bit site counters: the lattice "
                         f"may have at most {limit} sites in {jnp.dtype(model.dtype).name}; got shape {model.shape}")


def decomposed_checkerboard(model, rule: str, mesh: Mesh) -> DecomposedCheckerboard:
    """The sampler behind ``checkerboard(model, rule, mesh=mesh)``; places the model's arrays on the mesh.

    Example:
      >>> import jax, numpy as np, jaxstat as js
      >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("x",))
      >>> m = js.ising.lattice((8, 8))
      >>> s0 = js.ising.random_spins(jax.random.key(0), (8, 8))
      >>> a, _ = js.mcmc.run(jax.random.key(1), js.mcmc.checkerboard(m, mesh=mesh), s0, 0.4, 10)
      >>> b, _ = js.mcmc.run(jax.random.key(1), js.mcmc.checkerboard(m), s0, 0.4, 10)
      >>> bool((a.spins == b.spins).all())  # the same bits as on one device, on any mesh
      True
    """
    check_rule(rule)
    check_mesh(model.shape, mesh)
    _check_counters(model)
    J_spec, h_spec = _specs(model, mesh)
    model = type(model)(J=_place(model.J, NamedSharding(mesh, J_spec)), h=_place(model.h, NamedSharding(mesh, h_spec)),
                        shape=model.shape, periodic=model.periodic)
    return DecomposedCheckerboard(model=model, rule=rule, mesh=mesh)


def lattice_sharded(mesh: Mesh, shape, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` computed straight into lattice shardings, for lattices too big for one device.

    ``fn`` runs under ``jax.jit``; every output array whose trailing axes are
    the lattice ``shape`` comes out split over ``mesh`` as the decomposed
    checkerboard wants it (lattice axis ``k`` over ``mesh.axis_names[k]``),
    every other output replicated. Elementwise constructors
    (:func:`jaxstat.ising.random_spins`, :func:`jaxstat.ising.lattice`,
    :func:`jaxstat.ising.edwards_anderson`, ``jnp.ones``) are then computed
    shard by shard, and their values do not depend on the mesh (JAX's
    partitionable Threefry).

    Example:
      >>> import jax, numpy as np, jaxstat as js
      >>> mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("x",))
      >>> s = js.mcmc.lattice_sharded(mesh, (8, 8), js.ising.random_spins, jax.random.key(0), (8, 8))
      >>> s.sharding.spec == jax.sharding.PartitionSpec("x", None)
      True
    """
    shape = check_shape(shape)
    check_mesh(shape, mesh)
    if not callable(fn):
        raise ValueError(f"fn must be a function that builds arrays (e.g. jaxstat.ising.random_spins); "
                         f"got {type(fn).__name__}")
    d = len(shape)

    def sharding(leaf):
        lattice = leaf.ndim >= d and tuple(leaf.shape[leaf.ndim - d:]) == shape
        return NamedSharding(mesh, _spec(d, mesh, lead=leaf.ndim - d) if lattice else P())

    leaves, tree = jax.tree.flatten((args, kwargs))
    traced = [isinstance(x, (jax.Array, np.ndarray)) for x in leaves]

    def call(*arrays):  # arrays are traced, everything else (shapes, options) is passed as is
        it = iter(arrays)
        a, kw = jax.tree.unflatten(tree, [next(it) if t else x for x, t in zip(leaves, traced)])
        return fn(*a, **kw)

    arrays = [x for x, t in zip(leaves, traced) if t]
    out = jax.eval_shape(call, *arrays)
    return jax.jit(call, out_shardings=jax.tree.map(sharding, out))(*arrays)
