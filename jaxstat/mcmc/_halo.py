r"""Kernels of a lattice split into blocks across a device mesh (run inside ``shard_map``).

A :class:`Blocks` describes the split (static: the lattice shape, the mesh
axis over which each lattice axis is split, the mesh sizes, the tiling of the
sums). Its methods see one device's block, whose first one or two lattice
axes are split, and compute exactly what the single-device checkerboard
computes for those sites:

* :meth:`Blocks.shift`: neighbour values ``x(y ± e_k)``. Along an axis that
  is not split this is the single-device ``jnp.roll``; along a split axis it
  is the block's own slabs shifted by one plus the one-site slab that the
  neighbouring device sends (a cyclic ``ppermute``: the periodic wrap; open
  boundaries are the model's zero couplings across the edge, as on one
  device, so they need no special case).
* :meth:`Blocks.uniforms`: the uniforms of ``jaxstat.mcmc.base.uniform_open``
  for the block's sites, bit for bit, with no communication.
  ``jaxstat._cpu.random_bits(key, shape)`` encrypts counter pairs
  :math:`(c, c + H)`, :math:`H = \lceil N/2 \rceil`, and lays out all first
  outputs, then all second ones: the word at flat site index :math:`p` is the
  first output of counter :math:`p` when :math:`p < H`, else the second
  output of counter :math:`p - H`. Each device evaluates Threefry once per
  own site from its global flat index (block offsets plus iotas), where the
  single-device generator evaluates it once per pair of sites.
* :meth:`Blocks.ordered_sums`: lattice sums whose floating-point order does
  not depend on the mesh. The first one or two lattice axes are cut into a
  fixed grid of tiles (a property of the lattice, not of the mesh); each tile
  is summed on the device that holds it; the grid of tile sums (at most
  32 x 32 numbers on a mesh that divides the tiling) is made whole on every device by an all-reduce in which
  each entry has exactly one non-zero contribution (so it is exact); every
  device then sums the same grid with the same program.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from jaxstat._cpu import threefry2x32

_U = jnp.uint32
TILES = 32  # tiles per axis: gcd(L_k, TILES), so sums are bit-identical on meshes of up to 32 devices per axis


def tile_counts(shape: tuple, mesh_sizes: tuple) -> tuple:
    """Tiles along the first ``min(d, 2)`` lattice axes: ``gcd(L_k, 32)``, or its least common
    multiple with the mesh size where that does not divide it (such a mesh sums in its own order)."""
    counts = []
    for k in range(min(len(shape), 2)):
        n = math.gcd(shape[k], TILES)
        m = mesh_sizes[k] if k < len(mesh_sizes) else 1
        counts.append(n * m // math.gcd(n, m))
    return tuple(counts)


@dataclasses.dataclass(frozen=True)
class Blocks:
    """A lattice of ``shape`` split along axis ``k`` over mesh axis ``names[k]`` (``sizes[k]`` devices)
    for ``k < len(names)``; the other axes are whole on every device."""

    shape: tuple
    names: tuple
    sizes: tuple
    tiles: tuple

    @property
    def d(self) -> int:
        return len(self.shape)

    @property
    def block(self) -> tuple:
        """Shape of one device's block."""
        return tuple(n // (self.sizes[k] if k < len(self.sizes) else 1) for k, n in enumerate(self.shape))

    def offsets(self) -> list:
        """Global coordinate of the block's first site along each lattice axis (int32 scalars)."""
        return [
            jax.lax.axis_index(self.names[k]) * self.block[k] if k < len(self.names) else jnp.int32(0)
            for k in range(self.d)
        ]

    def shift(self, x, k: int, direction: int):
        """``x(y + direction e_k)`` on the block; lattice axis ``k`` is axis ``x.ndim - d + k``."""
        axis = x.ndim - self.d + k
        m = self.sizes[k] if k < len(self.sizes) else 1
        if m == 1:
            return jnp.roll(x, -direction, axis=axis)
        n, name = x.shape[axis], self.names[k]
        if direction == 1:  # the next device's first slab completes my block; mine goes to the previous one
            edge = jax.lax.slice_in_dim(x, 0, 1, axis=axis)
            halo = jax.lax.ppermute(edge, name, [(i, (i - 1) % m) for i in range(m)])
            return jnp.concatenate([jax.lax.slice_in_dim(x, 1, n, axis=axis), halo], axis=axis)
        edge = jax.lax.slice_in_dim(x, n - 1, n, axis=axis)
        halo = jax.lax.ppermute(edge, name, [(i, (i + 1) % m) for i in range(m)])
        return jnp.concatenate([halo, jax.lax.slice_in_dim(x, 0, n - 1, axis=axis)], axis=axis)

    def colour1(self, offsets):
        """True on the block's sites whose global coordinates sum to an odd number."""
        total = sum(jax.lax.broadcasted_iota(jnp.int32, self.block, k) for k in range(self.d)) + sum(offsets)
        return (total & 1) == 1

    def flat_index(self, offsets):
        """Global C-order flat index of each site of the block (uint32, wrapping; N <= 2^32)."""
        strides = [math.prod(self.shape[k + 1:]) for k in range(self.d)]
        return sum(
            (jax.lax.broadcasted_iota(_U, self.block, k) + offsets[k].astype(_U)) * _U(strides[k])
            for k in range(self.d)
        )

    def uniforms(self, words, offsets, dtype):
        """``uniform_open(key, shape, dtype)`` restricted to the block; ``words = jax.random.bits(key, (2,), uint32)``."""
        n = math.prod(self.shape)
        p = self.flat_index(offsets)
        if jnp.dtype(dtype) == jnp.float64:
            # random_bits(key, (2, *shape)): H = N, so both words of a site come from counter p.
            hi, lo = threefry2x32(words[0], words[1], p, p + _U(n))
            hi = (hi >> 6).astype(dtype)
            lo = (lo >> 5).astype(dtype)
            return (hi * 2.0**27 + lo + 0.5) * (2.0 ** -53)
        half = _U(-(-n // 2))
        first = p < half
        c = jnp.where(first, p, p - half)
        a, b = threefry2x32(words[0], words[1], c, c + half)
        k = jnp.where(first, a, b) >> 8
        return (k.astype(jnp.float32) + 0.5).astype(dtype) * jnp.asarray(2.0 ** -24, dtype)

    def ordered_sums(self, x, offsets):
        """Sums over the lattice of each ``x[i]`` (``x``: ``(q, *block)``), replicated, in an order
        fixed by the tiling alone (see the module docstring)."""
        q, t = x.shape[0], len(self.tiles)
        local = tuple(n // (self.sizes[k] if k < len(self.sizes) else 1) for k, n in enumerate(self.tiles))
        split = [q]
        for k in range(t):
            split += [local[k], self.block[k] // local[k]]
        tiles = jnp.sum(x.reshape(split + [-1]), axis=tuple(range(2, 2 * t + 1, 2)) + (2 * t + 1,))
        if self.names:
            start = [jnp.int32(0)] + [(offsets[k] // (self.block[k] // local[k])).astype(jnp.int32) for k in range(t)]
            grid = jnp.zeros((q,) + self.tiles, x.dtype)
            tiles = jax.lax.psum(jax.lax.dynamic_update_slice(grid, tiles, start), self.names)
        return jnp.sum(tiles.reshape(q, -1), axis=1)
