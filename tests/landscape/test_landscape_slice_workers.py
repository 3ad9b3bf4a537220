"""``plane`` and ``line`` split over host threads (``jaxstat.landscape._grid``), against per-point losses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat.landscape import _grid
from jaxstat.landscape.directions import random_direction
from jaxstat.landscape.slices import line, plane
from jaxstat.nets import loss_fn, mlp

XS = jnp.linspace(-1.0, 1.0, 5)
YS = jnp.linspace(-0.5, 1.5, 7)  # 35 points: no chunk size or worker count below divides them evenly


@pytest.fixture(scope="module")
def mlp_plane():
    x = jax.random.normal(jax.random.key(0), (40, 6))
    y = jnp.arange(40) % 3
    f, params = loss_fn(mlp(jax.random.key(1), (6, 16, 8, 3)), x, y)
    d1, d2 = random_direction(jax.random.key(2), params), random_direction(jax.random.key(3), params)
    jf = jax.jit(f)
    # the straightforward reference: one loss evaluation per grid point, the point built as _shift builds it
    ref = np.array([[float(jf(jax.tree.map(lambda p, u, v: p + a * u + b * v, params, d1, d2))) for b in YS]
                    for a in XS])
    return f, params, d1, d2, ref


@pytest.mark.parametrize("chunk_size", [1, 3, None])
def test_plane_matches_per_point_loss_and_does_not_depend_on_workers(mlp_plane, chunk_size):
    f, params, d1, d2, ref = mlp_plane
    outs = [np.asarray(plane(f, params, d1, d2, XS, YS, chunk_size=chunk_size, workers=w)) for w in (1, 2, 3)]
    # vmapped and fused, the same sums in another order: float32 rounding of a loss ~1, a few ulps
    np.testing.assert_allclose(outs[0], ref, rtol=1e-6)
    # every block runs the same program on chunks of the same size: bit-identical for any worker count
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_line_matches_per_point_loss_and_does_not_depend_on_workers(mlp_plane):
    f, params, d1, _, _ = mlp_plane
    jf = jax.jit(f)
    ref = [float(jf(jax.tree.map(lambda p, u: p + a * u, params, d1))) for a in XS]
    one = line(f, params, d1, XS, workers=1)
    np.testing.assert_allclose(one, ref, rtol=1e-6)
    np.testing.assert_array_equal(line(f, params, d1, XS, workers=2), one)
    np.testing.assert_array_equal(line(f, params, d1, XS, chunk_size=2, workers=3),
                                  line(f, params, d1, XS, chunk_size=2, workers=1))


def test_threads_only_outside_transformations_and_on_one_cpu_device(mlp_plane):
    _, params, _, _, _ = mlp_plane
    pts = jnp.zeros((35, 2))
    assert _grid._n_workers(3, (params, pts), n_chunks=35) == 3
    assert _grid._n_workers(None, (params, pts), n_chunks=35) == min(_grid.cpu_cores(), 35)
    assert _grid._n_workers(8, (params, pts), n_chunks=2) == 2  # never more threads than chunks
    assert _grid._n_workers(3, (params, pts), n_chunks=1) == 1
    seen = []
    jax.jit(lambda p: seen.append(_grid._n_workers(3, (params, pts), 35)) or p)(1.0)
    jax.vmap(lambda p: seen.append(_grid._n_workers(3, (params, pts), 35)) or p)(jnp.ones(2))
    jax.grad(lambda p: seen.append(_grid._n_workers(3, (params, pts), 35)) or p)(1.0)
    assert seen == [1, 1, 1]


def test_plane_inside_jit_and_vmap_takes_the_single_program(mlp_plane):
    # inside a caller's transformation no thread may run: the same values come from one program
    f, params, d1, d2, ref = mlp_plane
    np.testing.assert_array_equal(jax.jit(lambda: plane(f, params, d1, d2, XS, YS, workers=2))(),
                                  plane(f, params, d1, d2, XS, YS, workers=2))
    out = jax.vmap(lambda s: plane(f, params, d1, d2, s * XS, YS, workers=2))(jnp.array([1.0, -1.0]))
    np.testing.assert_allclose(out, np.stack([ref, ref[::-1]]), rtol=1e-6)


def test_workers_must_be_a_positive_int(mlp_plane):
    f, params, d1, d2, _ = mlp_plane
    for bad in (0, 1.5, "2"):
        with pytest.raises(ValueError, match="workers"):
            plane(f, params, d1, d2, XS, YS, workers=bad)
    with pytest.raises(ValueError, match="workers"):
        line(f, params, d1, XS, workers=-1)
