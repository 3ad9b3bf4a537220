"""The lattice machinery under the cluster samplers: connected components against scipy's,
on both labelling paths (the native CPU union-find and FastSV), under vmap too, and the
bit-packed rows of the Wolff growth."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from jaxstat.mcmc._lattice import label_components, pack_bits, shift_backward, shift_forward, unpack_bits


def scipy_components(bonds, ghost):
    """Component ids of every node by scipy (sites in C order, the ghost last)."""
    d, shape = bonds.shape[0], bonds.shape[1:]
    n = math.prod(shape)
    index = np.arange(n).reshape(shape)
    src = [index[bonds[k]] for k in range(d)]
    dst = [np.roll(index, -1, axis=k)[bonds[k]] for k in range(d)]
    if ghost is not None:
        src.append(index[ghost])
        dst.append(np.full(int(ghost.sum()), n))
    src, dst = np.concatenate(src), np.concatenate(dst)
    n_nodes = n + (ghost is not None)
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n_nodes, n_nodes))
    return connected_components(graph, directed=False)


SHAPES = [(7,), (6, 5), (8, 8), (3, 4, 5)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("with_ghost", [False, True])
def test_components_match_scipy(shape, with_ghost, kernels):
    rng = np.random.default_rng(len(shape) * 10 + with_ghost)
    label = jax.jit(label_components)
    for p in (0.2, 0.5, 0.8):  # below, at and above 2D bond percolation
        bonds = rng.random((len(shape),) + shape) < p
        ghost = rng.random(shape) < 0.05 if with_ghost else None
        roots = np.asarray(label(jnp.asarray(bonds), None if ghost is None else jnp.asarray(ghost)))
        n_comp, ids = scipy_components(bonds, ghost)
        # the same partition ...
        assert len(np.unique(roots)) == n_comp
        assert len(set(zip(roots.tolist(), ids.tolist()))) == n_comp
        # ... labelled by each component's smallest node
        for r in np.unique(roots):
            assert r == np.flatnonzero(roots == r).min()


def test_vmapped_and_nested_labelling_equal_per_chain(kernels):
    """vmapped chains are merged into one labelling of many lattices (a custom vmap rule):
    the roots must be each chain's own, for vmap, nested vmap and an unbatched ghost."""
    rng = np.random.default_rng(3)
    bonds = jnp.asarray(rng.random((3, 4, 2, 6, 5)) < 0.5)
    ghost = jnp.asarray(rng.random((3, 4, 6, 5)) < 0.1)
    nested = jax.jit(jax.vmap(jax.vmap(label_components)))(bonds, ghost)
    part = jax.jit(jax.vmap(label_components, in_axes=(0, None)))(bonds[0], ghost[0, 0])
    plain = jax.jit(jax.vmap(lambda b: label_components(b)))(bonds[1])
    one = jax.jit(label_components)
    for i in range(3):
        for j in range(4):
            np.testing.assert_array_equal(nested[i, j], one(bonds[i, j], ghost[i, j]))
    for j in range(4):
        np.testing.assert_array_equal(part[j], one(bonds[0, j], ghost[0, 0]))
        np.testing.assert_array_equal(plain[j], one(bonds[1, j]))


@pytest.mark.parametrize("L", [1, 5, 31, 32, 33, 64, 70])
def test_packed_rows_round_trip_and_shift(L):
    rng = np.random.default_rng(L)
    b = rng.random((3, L)) < 0.5
    w = pack_bits(jnp.asarray(b))
    assert w.shape == (3, -(-L // 32)) and w.dtype == jnp.uint32
    np.testing.assert_array_equal(unpack_bits(w, L), b)
    for periodic in (True, False):
        forward, backward = np.roll(b, 1, axis=-1), np.roll(b, -1, axis=-1)
        if not periodic:
            forward[:, 0] = False
            backward[:, -1] = False
        np.testing.assert_array_equal(unpack_bits(shift_forward(w, L, periodic), L), forward)
        np.testing.assert_array_equal(unpack_bits(shift_backward(w, L, periodic), L), backward)
        # padding bits stay zero, so packed popcounts and comparisons stay exact
        full = np.asarray(unpack_bits(shift_forward(w, L, periodic), 32 * w.shape[-1]))
        assert not full[:, L:].any()
