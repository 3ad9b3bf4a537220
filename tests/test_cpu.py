"""The CPU kernels of jaxstat._cpu: bit-identical Threefry, sums, prefix search."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import threefry_2x32
from scipy import stats as sps

from jaxstat._cpu import fast_sum, random_bits, select_true, threefry2x32
from jaxstat.mcmc.base import uniform_open


def test_bit_identical_to_jax_threefry():
    key = jnp.array([0x13198A2E, 0x03707344], jnp.uint32)
    count = jnp.arange(64, dtype=jnp.uint32)
    ref = threefry_2x32(key, count)
    a, b = threefry2x32(key[0], key[1], count[:32], count[32:])
    np.testing.assert_array_equal(np.concatenate([a, b]), np.asarray(ref))


def test_uniforms_are_uniform_and_open():
    """KS test at a fixed seed; also the range (0, 1) exclusive, and shapes."""
    for dtype in (jnp.float32,):
        u = np.asarray(uniform_open(jax.random.key(0), (200, 500), dtype), np.float64).ravel()
        assert u.min() > 0 and u.max() < 1
        assert sps.kstest(u, "uniform").pvalue > 1e-4
        # neighbouring draws are uncorrelated: |r| < 4 / sqrt(n)
        assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4 / np.sqrt(u.size)
    with jax.enable_x64(True):
        u = uniform_open(jax.random.key(1), (50_000,), jnp.float64)
        assert u.dtype == jnp.float64
        u = np.asarray(u)
        assert sps.kstest(u, "uniform").pvalue > 1e-4
        assert len(np.unique(u)) == u.size  # 53-bit resolution: no collisions expected
    bits = random_bits(jax.random.key(2), (3, 5))
    assert bits.shape == (3, 5) and bits.dtype == jnp.uint32
    assert random_bits(jax.random.key(2), (7,)).shape == (7,)  # odd sizes


def test_different_keys_give_independent_streams():
    a = np.asarray(uniform_open(jax.random.key(3), (20_000,), jnp.float32), np.float64)
    b = np.asarray(uniform_open(jax.random.key(4), (20_000,), jnp.float32), np.float64)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(a.size)


def test_fast_sum_matches_sum():
    x = jax.random.normal(jax.random.key(0), (3, 4, 5, 6))
    np.testing.assert_allclose(fast_sum(x), jnp.sum(x), rtol=1e-5)
    np.testing.assert_allclose(fast_sum(x, n_lead=1), jnp.sum(x, axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(fast_sum(jnp.ones((7,))), 7.0)


def test_row_layout_gives_the_same_words():
    from jaxstat._cpu import random_bits_by_rows

    for shape in [(2, 6, 5), (4, 3), (3, 4), (2,), (6, 2, 3, 2)]:
        key = jax.random.key(sum(shape))
        np.testing.assert_array_equal(np.asarray(random_bits_by_rows(key, shape)), np.asarray(random_bits(key, shape)))


def test_select_true_finds_the_rth_true_entry():
    rng = np.random.default_rng(0)
    for n in (1, 31, 32, 33, 1000):
        mask = rng.random(n) < 0.3
        mask[rng.integers(n)] = True
        where = np.flatnonzero(mask)
        got = [int(select_true(jnp.asarray(mask), r)) for r in range(len(where))]
        np.testing.assert_array_equal(got, where)
