r"""Lattice topology for the samplers: neighbour tables and connected components.

Connected components of a lattice's active bonds are labelled on the device,
with fixed shapes.

Swendsen–Wang needs every Fortuin–Kasteleyn cluster of the lattice labelled
inside ``jit``. Union–find with a stack is sequential; label propagation
(every site takes the smallest label among its bonded neighbours) needs as
many rounds as the longest cluster is wide, over a thousand at L = 512 near
T_c. Hooking and compression (Shiloach and Vishkin's scheme, as in GPU
connected-components codes) needs a few rounds:

1. every site points at a root, initially itself;
2. *hook*: for every active bond whose ends have different roots, the larger
   root is pointed at the smaller (a scatter-min, so a root hooked by several
   bonds takes the smallest; pointers only go down, so no cycles form);
3. *compress*: pointer jumping ``parent = parent[parent]`` until every site
   points at a root (depth halves each time);
4. repeat until no active bond joins two roots.

Each round at least halves the number of roots that touch an active bond to
another component, so the rounds are few (about log2 of the number of
clusters merged at once; 5 to 10 at the sizes measured in
``benchmarks/cluster.py``), and each is a handful of vectorized passes over
the lattice. A component's label is its smallest site index.

An optional *ghost* node (index N) joins sites whose ghost bond is active:
the field of an Ising model enters Swendsen–Wang and Wolff as bonds to a
ghost spin that never flips.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def _compress(parent):
    """Pointer jumping until every node points at a root."""

    def cond(p):
        return jnp.any(p[p] != p)

    return jax.lax.while_loop(cond, lambda p: p[p], parent)


def label_components(bonds, ghost=None):
    """Root of every node in the graph of active lattice bonds (plus a ghost node).

    Args:
      bonds: boolean ``(d, *shape)``; ``bonds[k][x]`` is the bond between
        ``x`` and ``x + e_k`` (periodic wrap; an open boundary's bonds are
        simply never active).
      ghost: ``None`` or a boolean array of the lattice shape: the bond
        between each site and a ghost node, index ``N``.

    Returns:
      ``(roots, n_rounds)``: int32 roots, shape ``(N,)`` or ``(N + 1,)``
      with the ghost last, in C order of the sites; each root is the
      smallest node index of its component. ``n_rounds`` counts hooking rounds.
    """
    d, shape = bonds.shape[0], bonds.shape[1:]
    n = math.prod(shape)
    n_nodes = n + (ghost is not None)
    dump = n_nodes  # scatter target of inactive candidates, dropped afterwards

    def candidates(parent):
        """(hi, lo) pairs to hook, hi = dump where there is nothing to hook."""
        roots = parent[:n].reshape(shape)
        his, los = [], []
        for k in range(d):
            other = jnp.roll(roots, -1, axis=k)
            join = bonds[k] & (roots != other)
            his.append(jnp.where(join, jnp.maximum(roots, other), dump).ravel())
            los.append(jnp.minimum(roots, other).ravel())
        if ghost is not None:
            g = parent[n]
            join = ghost & (roots != g)
            his.append(jnp.where(join, jnp.maximum(roots, g), dump).ravel())
            los.append(jnp.minimum(roots, g).ravel())
        return jnp.concatenate(his), jnp.concatenate(los)

    def body(carry):
        parent, _, rounds = carry
        hi, lo = candidates(parent)
        extended = jnp.concatenate([parent, jnp.full((1,), dump, parent.dtype)])
        parent = _compress(extended.at[hi].min(lo)[:n_nodes])
        return parent, jnp.any(hi != dump), rounds + 1

    parent0 = jnp.arange(n_nodes, dtype=jnp.int32)
    parent, _, rounds = jax.lax.while_loop(lambda c: c[1], body, (parent0, jnp.asarray(True), jnp.int32(0)))
    # The last round found nothing to hook; it is the convergence check.
    return parent, rounds - 1


def neighbour_table(model):
    """Neighbours of every site of a lattice model, in C order.

    Returns ``(nbr, weight, exists)``, each ``(N, 2d)``: the flat index of the
    neighbour at ``+e_k`` and ``-e_k`` for each axis k, the coupling of that
    bond (``J_k(x)`` forward, ``J_k(x - e_k)`` backward; zero across an open
    edge), and whether the neighbour exists (``False`` across an open edge).
    """
    shape, d, n = model.shape, len(model.shape), model.n
    index = np.arange(n).reshape(shape)
    coords = np.indices(shape)
    J = jnp.broadcast_to(model.J, (d,) + shape)
    nbrs, weights, exists = [], [], []
    for k in range(d):
        nbrs.append(np.roll(index, -1, axis=k).ravel())
        weights.append(J[k].ravel())
        exists.append((model.periodic[k] | (coords[k] < shape[k] - 1)).ravel())
        nbrs.append(np.roll(index, 1, axis=k).ravel())
        weights.append(jnp.roll(J[k], 1, axis=k).ravel())
        exists.append((model.periodic[k] | (coords[k] > 0)).ravel())
    return jnp.asarray(np.stack(nbrs, axis=1), jnp.int32), jnp.stack(weights, axis=1), np.stack(exists, axis=1)
