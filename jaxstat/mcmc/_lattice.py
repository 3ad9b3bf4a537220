r"""Lattice topology for the samplers: neighbour tables and connected components.

Connected components of a lattice's active bonds are labelled on the device,
with fixed shapes, for Swendsen–Wang. Union–find with a stack is sequential;
plain label propagation (every site takes the smallest label among its
bonded neighbours) needs as many rounds as the widest cluster is long, over
a thousand at L = 512 near T_c. Pointer jumping brings that down to a few
rounds. We use FastSV (Zhang, Azad and Hu, "FastSV: a distributed-memory
connected component algorithm with fast convergence", SIAM PP 2020), a
Shiloach–Vishkin variant whose rounds are one gather, one segment-min and
elementwise work. With ``f`` a parent pointer per node (initially itself)
and ``g = f[f]`` the grandparents, each round does

1. ``m[u] = min(g[v] for v bonded to u)`` (array rolls on the lattice);
2. *stochastic hooking*: ``f[f[u]] = min(f[f[u]], m[u])`` (a segment-min);
3. *aggressive hooking* and *shortcutting*: ``f[u] = min(f[u], m[u], g[u])``;
4. ``g = f[f]``, until ``g`` stops changing.

Pointers only decrease and always point within the component, so at the end
every node points at its component's smallest index. Measured on critical
Fortuin–Kasteleyn bonds of the 2D Ising model it takes 8 rounds at L = 64,
12 at 256 and 14 at 1024 (``benchmarks/cluster.py`` times it), about 20%
faster on this CPU than hooking with full compression after every round.

An optional *ghost* node (index N) joins the sites whose ghost bond is
active: the field of an Ising model enters Swendsen–Wang as bonds to a ghost
spin that never flips.

On a CPU, where each FastSV round costs three of XLA's slowest passes, the
same roots come from a union–find in a C++ custom call
(``_native/fk_clusters.cc``, built by :mod:`jaxstat._native`); it also reads
Swendsen–Wang's coins, so the step needs no gather. ``jax.lax.platform_dependent``
keeps it out of GPU and TPU programs, and without a compiler FastSV runs
everywhere.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import _native

_NO_NEIGHBOUR = np.iinfo(np.int32).max


def fastsv(bonds, ghost=None):
    """FastSV on ``B`` independent lattices at once.

    Args:
      bonds: boolean ``(d, B, *shape)``: ``bonds[k, b][x]`` joins ``x`` and
        ``x + e_k`` of lattice ``b``.
      ghost: ``None`` or boolean ``(B, *shape)``: bonds to lattice b's ghost node.

    Returns:
      ``(roots, n_rounds)``: int32 roots of the global node numbering (site
      ``x`` of lattice ``b`` is ``b N + x``, its ghost ``B N + b``), shape
      ``(B N,)`` or ``(B N + B,)``; and the number of rounds.
    """
    d, n_batch, shape = bonds.shape[0], bonds.shape[1], bonds.shape[2:]
    n = n_batch * math.prod(shape)
    n_nodes = n + (n_batch if ghost is not None else 0)
    back = [jnp.roll(bonds[k], 1, axis=k + 1) for k in range(d)]  # the bond to x - e_k
    if ghost is not None:
        flat_ghost = ghost.reshape(n_batch, -1)
        ghost_index = n + jnp.arange(n_batch, dtype=jnp.int32)

    def min_neighbour(g):
        sites = g[:n].reshape((n_batch,) + shape)
        m = jnp.full(sites.shape, _NO_NEIGHBOUR, jnp.int32)
        for k in range(d):
            m = jnp.where(bonds[k], jnp.minimum(m, jnp.roll(sites, -1, axis=k + 1)), m)
            m = jnp.where(back[k], jnp.minimum(m, jnp.roll(sites, 1, axis=k + 1)), m)
        if ghost is None:
            return m.ravel()
        m = m.reshape(n_batch, -1)
        m = jnp.where(flat_ghost, jnp.minimum(m, g[ghost_index][:, None]), m)
        m_ghost = jnp.min(jnp.where(flat_ghost, g[:n].reshape(n_batch, -1), _NO_NEIGHBOUR), axis=1)
        return jnp.concatenate([m.ravel(), m_ghost])

    def body(carry):
        f, g, _, rounds = carry
        m = min_neighbour(g)
        f = jnp.minimum(f, jax.ops.segment_min(m, f, num_segments=n_nodes))  # f[f[u]] <- m[u]
        f = jnp.minimum(jnp.minimum(f, m), g)
        new_g = f[f]
        return f, new_g, jnp.any(new_g != g), rounds + 1

    f0 = jnp.arange(n_nodes, dtype=jnp.int32)
    _, g, _, rounds = jax.lax.while_loop(lambda c: c[2], body, (f0, f0, jnp.asarray(True), jnp.int32(0)))
    return g, rounds


def _local_roots(g, n_batch: int, n_sites: int, with_ghost: bool):
    """Global roots to per-lattice ones: ``(B, N)``, or ``(B, N + 1)`` with the ghost as N."""
    offset = (jnp.arange(n_batch, dtype=jnp.int32) * n_sites)[:, None]
    sites = g[: n_batch * n_sites].reshape(n_batch, n_sites)
    if not with_ghost:
        return sites - offset
    nodes = jnp.concatenate([sites, g[n_batch * n_sites:][:, None]], axis=1)
    return jnp.where(nodes >= n_batch * n_sites, n_sites, nodes - offset)


def _merge_vmap_axis(x, axis: int):
    """Move a vmapped leading axis into the lattice-batch axis ``axis`` (after moving)."""
    x = jnp.moveaxis(x, 0, axis)
    return x.reshape(x.shape[:axis] + (x.shape[axis] * x.shape[axis + 1],) + x.shape[axis + 2:])


def _fastsv_roots(bonds, ghost):
    g, _ = fastsv(bonds, ghost)
    return _local_roots(g, bonds.shape[1], math.prod(bonds.shape[2:]), ghost is not None)


def _native_args(bonds, ghost):
    """The native kernels' inputs: a ghost array always (no ghost bonds without a field)."""
    n_batch, n = bonds.shape[1], math.prod(bonds.shape[2:])
    ghost = jnp.zeros((n_batch, n), bool) if ghost is None else ghost.reshape(n_batch, n)
    return bonds, ghost


def _label_batch(bonds, ghost):
    """Roots of ``B`` lattices, ``(B, N)`` or ``(B, N + 1)`` with the ghost (in each lattice's numbering)."""
    n_batch, n = bonds.shape[1], math.prod(bonds.shape[2:])

    def native(bonds, ghost):
        roots = jax.ffi.ffi_call("jaxstat_fk_label", jax.ShapeDtypeStruct((n_batch, n + 1), jnp.int32))(
            *_native_args(bonds, ghost))
        return roots if ghost is not None else roots[:, :n]

    return _native.on_cpu(native, _fastsv_roots, bonds, ghost)


def _flip_batch(bonds, ghost, coins):
    """Swendsen–Wang's flips of ``B`` lattices: ``(roots, flip, n_clusters)``.

    ``coins`` ``(B, ceil((N + 1) / 32))`` uint32 hold one fair bit per node
    (bit ``r % 32`` of word ``r // 32``); a site flips with its root's bit,
    never in the ghost's cluster; ``n_clusters`` counts clusters of sites.
    """
    n_batch, shape = bonds.shape[1], bonds.shape[2:]
    n = math.prod(shape)

    def native(bonds, ghost, coins):
        out = (jax.ShapeDtypeStruct((n_batch, n + 1), jnp.int32), jax.ShapeDtypeStruct((n_batch, n), bool),
               jax.ShapeDtypeStruct((n_batch,), jnp.int32))
        roots, flip, n_clusters = jax.ffi.ffi_call("jaxstat_fk_flip", out)(*_native_args(bonds, ghost), coins)
        return (roots if ghost is not None else roots[:, :n]), flip.reshape((n_batch,) + shape), n_clusters

    def portable(bonds, ghost, coins):
        roots = _fastsv_roots(bonds, ghost)
        site_roots = roots[:, :n]
        words = jnp.take_along_axis(coins, site_roots >> 5, axis=1)
        flip = ((words >> (site_roots & 31).astype(jnp.uint32)) & 1) == 1
        if ghost is not None:
            flip = flip & (site_roots != roots[:, n:])
        n_clusters = jnp.sum(site_roots == jnp.arange(n, dtype=jnp.int32), axis=1, dtype=jnp.int32)
        return roots, flip.reshape((n_batch,) + shape), n_clusters

    return _native.on_cpu(native, portable, bonds, ghost, coins)


def _unmerge(axis_size, out):
    """Split the merged lattice-batch axis of an output (or a tuple of them) back into (chains, lattices)."""
    return jax.tree.map(lambda x: x.reshape((axis_size, -1) + x.shape[1:]), out)


# Under jax.vmap the chains become more lattices of one labelling, not a
# batched loop: measured 3x faster per chain than vmap's batched scatters and
# gathers (FastSV), and one call of the native kernel.
@jax.custom_batching.custom_vmap
def _roots(bonds):
    return _label_batch(bonds, None)


@_roots.def_vmap
def _roots_vmap(axis_size, in_batched, bonds):
    return _unmerge(axis_size, _roots(_merge_vmap_axis(bonds, 1))), True


def _broadcast_batched(axis_size, in_batched, args):
    return [x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape) for x, batched in zip(args, in_batched)]


@jax.custom_batching.custom_vmap
def _roots_with_ghost(bonds, ghost):
    return _label_batch(bonds, ghost)


@_roots_with_ghost.def_vmap
def _roots_with_ghost_vmap(axis_size, in_batched, bonds, ghost):
    bonds, ghost = _broadcast_batched(axis_size, in_batched, (bonds, ghost))
    out = _roots_with_ghost(_merge_vmap_axis(bonds, 1), _merge_vmap_axis(ghost, 0))
    return _unmerge(axis_size, out), True


@jax.custom_batching.custom_vmap
def _flips(bonds, coins):
    return _flip_batch(bonds, None, coins)


@_flips.def_vmap
def _flips_vmap(axis_size, in_batched, bonds, coins):
    bonds, coins = _broadcast_batched(axis_size, in_batched, (bonds, coins))
    return _unmerge(axis_size, _flips(_merge_vmap_axis(bonds, 1), _merge_vmap_axis(coins, 0))), (True,) * 3


@jax.custom_batching.custom_vmap
def _flips_with_ghost(bonds, ghost, coins):
    return _flip_batch(bonds, ghost, coins)


@_flips_with_ghost.def_vmap
def _flips_with_ghost_vmap(axis_size, in_batched, bonds, ghost, coins):
    bonds, ghost, coins = _broadcast_batched(axis_size, in_batched, (bonds, ghost, coins))
    out = _flips_with_ghost(_merge_vmap_axis(bonds, 1), _merge_vmap_axis(ghost, 0), _merge_vmap_axis(coins, 0))
    return _unmerge(axis_size, out), (True,) * 3


def label_components(bonds, ghost=None):
    """Smallest node index of every node's component in the graph of active bonds.

    Args:
      bonds: boolean ``(d, *shape)``; ``bonds[k][x]`` is the bond between
        ``x`` and ``x + e_k`` (periodic wrap; an open boundary's bonds are
        simply never active).
      ghost: ``None`` or a boolean array of the lattice shape: the bond
        between each site and a ghost node, index ``N``.

    Returns:
      int32 roots, shape ``(N,)`` or ``(N + 1,)`` with the ghost last,
      sites in C order. Under ``jax.vmap`` the chains are labelled as one
      graph of many lattices. On a CPU with the native kernels built
      (:mod:`jaxstat._native`) a union–find labels them, elsewhere FastSV:
      the same roots.
    """
    if ghost is None:
        return _roots(bonds[:, None])[0]
    return _roots_with_ghost(bonds[:, None], ghost[None])[0]


def n_coin_words(n_sites: int) -> int:
    """Words of :func:`cluster_flips`' coins for a lattice of ``n_sites`` sites (one bit per node)."""
    return (n_sites + 1 + 31) // 32


def cluster_flips(bonds, ghost, coins):
    """Swendsen–Wang's move: which sites flip, with every cluster flipped by one fair coin.

    Args:
      bonds: boolean ``(d, *shape)``, as for :func:`label_components`.
      ghost: ``None`` or the ghost bonds (lattice shape); the ghost's cluster never flips.
      coins: uint32 ``(n_coin_words(N),)`` random words: node ``r``'s coin is
        bit ``r % 32`` of word ``r // 32``.

    Returns:
      ``(roots, flip, n_clusters)``: the roots of :func:`label_components`,
      a boolean array of the lattice shape, and the number of clusters of sites.
    """
    if ghost is None:
        out = _flips(bonds[:, None], coins[None])
    else:
        out = _flips_with_ghost(bonds[:, None], ghost[None], coins[None])
    return tuple(x[0] for x in out)


# --------------------------------------------------------------------------- #
# bit-packed lattices: 32 sites of the last axis to a uint32 word
# --------------------------------------------------------------------------- #
# A boolean lattice field (a cluster, its frontier, its bonds) packed along
# the last axis makes every elementwise step of a frontier growth act on 32
# sites at once; XLA:CPU spends ~1 cycle per element and op, so the packed
# Wolff growth is several times faster (benchmarks/cluster.py). Site j of
# the last axis is bit j % 32 of word j // 32; bits past the side length
# (padding) stay zero.
_U32 = jnp.uint32


def pack_bits(b):
    """Boolean ``(..., L)`` to uint32 ``(..., ceil(L / 32))``."""
    L = b.shape[-1]
    words = -(-L // 32)
    b = jnp.pad(b, [(0, 0)] * (b.ndim - 1) + [(0, 32 * words - L)])
    bits = b.reshape(b.shape[:-1] + (words, 32)).astype(_U32) << jnp.arange(32, dtype=_U32)
    return jax.lax.reduce(bits, _U32(0), jax.lax.bitwise_or, (bits.ndim - 1,))


def unpack_bits(w, L: int):
    """Inverse of :func:`pack_bits`: uint32 ``(..., W)`` to boolean ``(..., L)``."""
    bits = (w[..., None] >> jnp.arange(32, dtype=_U32)) & _U32(1)
    return bits.reshape(w.shape[:-1] + (-1,))[..., :L].astype(bool)


def _bit(w, position: int):
    """Bit ``position`` of every packed row, as 0/1 uint32 (shape ``w.shape[:-1]``)."""
    return (w[..., position // 32] >> _U32(position % 32)) & _U32(1)


def _set_bit(w, position: int, bit):
    return w.at[..., position // 32].set(w[..., position // 32] | (bit << _U32(position % 32)))


def shift_forward(w, L: int, periodic: bool):
    """Packed rows with site j moved to j + 1 (site L - 1 to 0 when periodic)."""
    carry = jnp.roll(w >> _U32(31), 1, axis=-1)  # bit 31 of the word before
    out = (w << _U32(1)) | carry
    if L % 32:
        out = out & _valid_mask(L, w.shape[-1])
        if periodic:
            out = _set_bit(out.at[..., 0].set(out[..., 0] & ~_U32(1)), 0, _bit(w, L - 1))
    elif not periodic:
        out = out.at[..., 0].set(out[..., 0] & ~_U32(1))
    return out


def shift_backward(w, L: int, periodic: bool):
    """Packed rows with site j + 1 moved to j (site 0 to L - 1 when periodic)."""
    carry = jnp.roll(w << _U32(31), -1, axis=-1)  # bit 0 of the word after
    out = (w >> _U32(1)) | carry
    if L % 32:
        out = out & _valid_mask(L, w.shape[-1])
        if periodic:
            out = _set_bit(out, L - 1, w[..., 0] & _U32(1))
    elif not periodic:
        out = out.at[..., -1].set(out[..., -1] & ~(_U32(1) << _U32(31)))
    return out


def _valid_mask(L: int, words: int):
    bits = np.zeros(32 * words, bool)
    bits[:L] = True
    return jnp.asarray(np.packbits(bits.reshape(words, 32)[:, ::-1], axis=1, bitorder="big").view(">u4").ravel()
                       .astype(np.uint32))
