"""Tests for jaxstat.exact.kaufman (Kaufman's finite-torus solution): against
exact enumeration, an independent NumPy transfer matrix, Onsager's infinite
lattice, the known T_c finite-size scaling, and float32 against float64.

Tolerances: these are deterministic closed forms. In float64 kaufman is
accurate to a few ulp (against 60-digit mpmath, naive Kaufman formula: relative
errors <= 3e-15 in log Z, <E> and Var E for 0.01 <= beta <= 1, sides 2..64);
the NumPy references add up 2**N terms or products of 2**M x 2**M matrices, so
comparisons allow 1e-11 relative.

kaufman compiles once per float dtype and bucket of min(L, M) (<= 32, 64, ...,
1024); the tests share those buckets to stay fast.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js

BETA_C = 0.5 * math.log(1 + math.sqrt(2))
A0 = (2 / math.pi) * math.log(1 + math.sqrt(2)) ** 2  # c ~ A0 ln L at T_c (Ferdinand & Fisher)
BETAS = (0.0, 0.05, 0.3, BETA_C, 0.7, 1.5)


def stats64(shape, betas, J=1.0):
    """(log Z, <E>, Var E) in float64, each of shape (len(betas),)."""
    with jax.enable_x64(True):
        r = js.exact.kaufman(shape, jnp.asarray(betas, jnp.float64), J=J)
        return np.stack([r.log_z, r.mean_energy, r.energy_variance])


# --------------------------------------------------------------------------- #
# independent reference: row-to-row transfer matrix in NumPy float64
# --------------------------------------------------------------------------- #
def transfer_matrix_stats(L, M, beta):
    """(log Z, <E>, Var E) of the L x M torus, E = -sum_<xy> s_x s_y (J = 1), from
    Z = tr T^L with the 2^M x 2^M row transfer matrix T_ab = exp(-beta e_ab) and
    its derivatives T' = -e T, T'' = e^2 T:

        Z' = L tr(T^{L-1} T'),   Z'' = L tr(T^{L-1} T'') + L sum_j tr(T^j T' T^{L-2-j} T').

    Each row is a ring (a ring of 2 couples its pair twice, as jaxstat does),
    and L = 2 rows couple twice through tr T^2 in the same way.
    """
    rows = np.array(list(itertools.product([-1.0, 1.0], repeat=M)))
    ring = -np.sum(rows * np.roll(rows, -1, axis=1), axis=1)
    e = -rows @ rows.T + (ring[:, None] + ring[None, :]) / 2
    e0 = e.min()  # shift so the entries of T are <= 1
    d = e - e0
    T = np.exp(-beta * d)
    T1, T2 = -d * T, d**2 * T
    P = [np.eye(len(T))]
    for _ in range(L):
        P.append(P[-1] @ T)
    z = np.trace(P[L])
    z1 = L * np.trace(P[L - 1] @ T1)
    z2 = L * np.trace(P[L - 1] @ T2) + L * sum(np.trace(P[j] @ T1 @ P[L - 2 - j] @ T1) for j in range(L - 1))
    mean_d = -z1 / z
    return np.log(z) - beta * L * e0, L * e0 + mean_d, z2 / z - mean_d**2


def test_transfer_matrix_reference_matches_brute_force():
    """The reference itself, against a direct sum over all 2**9 states of a 3 x 3 torus."""
    S = np.array(list(itertools.product([-1, 1], repeat=9))).reshape(-1, 3, 3)
    E = -np.sum(S * np.roll(S, -1, 1), axis=(1, 2)) - np.sum(S * np.roll(S, -1, 2), axis=(1, 2))
    w = np.exp(-0.4 * (E - E.min()))
    p = w / w.sum()
    want = (np.log(w.sum()) - 0.4 * E.min(), p @ E, p @ (E - p @ E) ** 2)
    np.testing.assert_allclose(transfer_matrix_stats(3, 3, 0.4), want, rtol=1e-12)


# --------------------------------------------------------------------------- #
# exactness
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", [(2, 2), (2, 4), (4, 4), (3, 4)])
def test_matches_enumeration(shape):
    with jax.enable_x64(True):
        model = js.ising.lattice(shape)
        betas = jnp.array(BETAS)
        e = jax.vmap(lambda b: js.exact.enumerate(model, b))(betas)
        r = js.exact.kaufman(shape, betas)
        assert r.log_z.dtype == jnp.float64
        for name in ("log_z", "mean_energy", "energy_variance"):
            np.testing.assert_allclose(getattr(r, name), getattr(e, name), rtol=1e-11, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(r.specific_heat, e.specific_heat, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 5), (6, 6), (5, 6), (6, 4), (2, 5), (3, 3)])
def test_matches_transfer_matrix(shape):
    want = np.stack([transfer_matrix_stats(*shape, beta) for beta in BETAS], axis=1)
    np.testing.assert_allclose(stats64(shape, BETAS), want, rtol=1e-11, atol=1e-12)


def test_beta_zero_and_tiny_beta_are_the_high_temperature_limit():
    # Var E at beta = 0 is the sum of squared pair couplings (a side of 2 couples with 2J)
    for shape, var0 in (((4, 4), 32), ((2, 4), 4 * 2**2 + 8), ((2, 2), 16), ((3, 5), 30)):
        log_z, mean_e, var_e = stats64(shape, BETAS)[:, 0]
        assert log_z == pytest.approx(math.prod(shape) * math.log(2), rel=1e-15)
        assert mean_e == 0.0 and var_e == pytest.approx(var0, rel=1e-15)
    r = js.exact.kaufman((16, 16), jnp.array([0.0, 1e-30, 1e-12, 1e-6]))  # float32
    np.testing.assert_allclose(r.log_z, 256 * math.log(2), rtol=3e-7)  # 2 ulp
    np.testing.assert_allclose(r.energy_variance, 512.0, rtol=1e-6)
    np.testing.assert_allclose(r.energy_per_spin, -2 * r.beta, rtol=0, atol=1e-7)  # absolute accuracy ~eps


def test_low_temperature_approaches_the_ground_state():
    with jax.enable_x64(True):
        r = js.exact.kaufman((8, 8), jnp.array([10.0, 20.0, 50.0, 1e2, 1e3, 1e6]))
        np.testing.assert_allclose(r.mean_energy, -128.0, rtol=1e-15)
        np.testing.assert_allclose(r.log_z, 128 * r.beta + math.log(2), rtol=1e-15)  # 2 ground states
        assert bool(jnp.all(r.energy_variance >= 0)) and bool(jnp.all(r.energy_variance < 1e-20))


# --------------------------------------------------------------------------- #
# large lattices
# --------------------------------------------------------------------------- #
def test_large_lattice_approaches_onsager_away_from_tc():
    with jax.enable_x64(True):
        T = jnp.array([1.5, 3.5])
        for shape in ((512, 512), (1024, 512)):
            r = js.exact.kaufman(shape, 1 / T)
            # correlation lengths ~1.3 sites: finite-size corrections ~exp(-512/1.3) vanish
            np.testing.assert_allclose(r.energy_per_spin, js.exact.onsager_energy(T), rtol=0, atol=1e-12)
            np.testing.assert_allclose(r.specific_heat, js.exact.onsager_specific_heat(T), rtol=1e-10)
            # below T_c the torus has two ordered phases: log Z gains ln 2
            want = _onsager_log_z_per_spin(1 / T) + np.array([math.log(2), 0]) / math.prod(shape)
            np.testing.assert_allclose(r.log_z / r.n_spins, want, rtol=1e-13)


def _onsager_log_z_per_spin(beta, n=64):
    """Onsager: log Z / N -> ln 2 + (1/8 pi^2) int_0^2pi int_0^2pi ln[cosh^2 2K - sinh 2K (cos a + cos b)],
    by the trapezoid rule, exponentially accurate for this periodic integrand away from T_c."""
    a = 2 * np.pi * np.arange(n) / n
    K = np.asarray(beta)[:, None, None]
    f = np.log(np.cosh(2 * K) ** 2 - np.sinh(2 * K) * (np.cos(a)[:, None] + np.cos(a)[None, :]))
    return np.log(2) + f.mean(axis=(1, 2)) / 2


def test_finite_size_scaling_at_tc():
    """Ferdinand & Fisher: at T_c, c(L) = A0 ln L + B0 + O(ln L / L) and e(L) = -sqrt 2 + O(1/L),
    so c(2L) - c(L) -> A0 ln 2 and 2 e(2L) - e(L) -> -sqrt 2."""
    with jax.enable_x64(True):
        r512, r1024 = (js.exact.kaufman((L, L), BETA_C) for L in (512, 1024))
        assert float(r1024.specific_heat - r512.specific_heat) == pytest.approx(A0 * math.log(2), abs=2e-3)
        assert float(2 * r1024.energy_per_spin - r512.energy_per_spin) == pytest.approx(-math.sqrt(2), abs=2e-6)


@pytest.mark.parametrize("L", [16, 32, 1024])
def test_float32_agrees_with_float64_at_tc(L):
    """Measured float32 - float64 at beta_c (L = 16, 32, 1024): log Z <= 2e-8 relative,
    energy per spin <= 6e-7, specific heat <= 9e-6 relative. Tolerances: ~10x those."""
    r32 = js.exact.kaufman((L, L), BETA_C)
    with jax.enable_x64(True):
        r64 = js.exact.kaufman((L, L), BETA_C)
    assert r32.log_z.dtype == jnp.float32 and r64.log_z.dtype == jnp.float64
    for r in (r32, r64):
        assert all(bool(jnp.isfinite(x)) for x in (r.log_z, r.mean_energy, r.energy_variance))
    assert float(r32.log_z) == pytest.approx(float(r64.log_z), rel=2e-7)
    assert float(r32.energy_per_spin) == pytest.approx(float(r64.energy_per_spin), abs=6e-6)
    assert float(r32.specific_heat) == pytest.approx(float(r64.specific_heat), rel=1e-4)


# --------------------------------------------------------------------------- #
# API: shapes, dtypes, jit, vmap, J
# --------------------------------------------------------------------------- #
JITTED = jax.jit(js.exact.kaufman, static_argnums=0)


def test_shapes_dtypes_and_no_recompilation():
    betas = jnp.array([[0.2, BETA_C, 0.5], [0.7, 1.0, 0.0]])
    r = js.exact.kaufman((8, 6), betas)
    for x in r:
        assert x.shape == betas.shape and x.dtype == jnp.float32
    assert r.energy_per_spin.shape == r.specific_heat.shape == betas.shape
    np.testing.assert_array_equal(r.n_spins, 48)
    np.testing.assert_allclose(r.specific_heat, betas**2 * r.energy_variance / 48, rtol=1e-6)
    scalar = js.exact.kaufman((6, 8), 0.7)
    assert scalar.log_z.shape == () and scalar.log_z.dtype == jnp.float32
    np.testing.assert_allclose(scalar.log_z, r.log_z[1, 0], rtol=1e-6)
    n_compiled = js.exact.torus._kaufman._cache_size()
    js.exact.kaufman((8, 6), betas + 0.01)  # new betas,
    js.exact.kaufman((5, 32), jnp.arange(5.0), J=2.0)  # other sides <= 32, beta shapes, J
    assert js.exact.torus._kaufman._cache_size() == n_compiled


def test_jit_and_vmap_over_beta():
    betas = jnp.array([0.2, BETA_C, 0.7, 1.0])
    want = js.exact.kaufman((4, 4), betas)
    mapped = jax.vmap(lambda b: js.exact.kaufman((4, 4), b))(betas)
    for got in (JITTED((4, 4), betas), mapped):
        for name in ("log_z", "mean_energy", "energy_variance", "beta", "n_spins"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-6, err_msg=name)


def test_invalid_traced_beta_gives_nan():
    r = JITTED((4, 4), jnp.array([-1.0, jnp.nan, jnp.inf, 0.5]))
    for x in (r.log_z, r.mean_energy, r.energy_variance):
        assert bool(jnp.all(jnp.isnan(x[:3]))) and bool(jnp.isfinite(x[3]))


def test_coupling_scaling():
    betas = np.array(BETAS)
    for J in (0.5, 2.5):
        log_z, mean_e, var_e = stats64((6, 5), betas, J=J)
        ref = stats64((6, 5), betas * J)
        np.testing.assert_allclose(np.stack([log_z, mean_e / J, var_e / J**2]), ref, rtol=1e-14, atol=1e-14)
    with jax.enable_x64(True):
        r = js.exact.kaufman((4, 4), jnp.array(BETAS), J=2.0)
        e = jax.vmap(lambda b: js.exact.enumerate(js.ising.lattice((4, 4), J=2.0), b))(jnp.array(BETAS))
        for name in ("log_z", "mean_energy", "energy_variance"):
            np.testing.assert_allclose(getattr(r, name), getattr(e, name), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(shape=(4,)), r"shape must be two side lengths \(L, M\), integers >= 2; got \(4,\)"),
        (dict(shape=(4, 4, 4)), r"shape must be two side lengths .*got \(4, 4, 4\)"),
        (dict(shape=(1, 4)), r"shape must be two side lengths .*integers >= 2; got \(1, 4\)"),
        (dict(shape=(4.0, 4)), r"shape must be two side lengths .*got \(4.0, 4\)"),
        (dict(shape=(True, 4)), r"shape must be two side lengths"),
        (dict(shape=4), r"shape must be two side lengths .*got 4"),
        (dict(beta=-0.1), r"beta must be finite inverse temperatures >= 0 .*got 1 bad value\(s\), e.g. .*-0.1"),
        (dict(beta=[0.1, float("nan")]), r"beta must be finite inverse temperatures >= 0 \(not NaN\); .*nan"),
        (dict(beta=float("inf")), r"beta must be finite: log Z diverges at beta = inf"),
        (dict(beta=True), r"beta must be inverse temperatures >= 0; got a boolean True"),
        (dict(J=0.0), r"J must be a finite coupling > 0 \(ferromagnet\); got 1 bad value\(s\), e.g. .*0.0"),
        (dict(J=-1.0), r"J must be a finite coupling > 0 .*-1.0"),
        (dict(J=float("inf")), r"J must be a finite coupling > 0 .*inf"),
        (dict(J=[1.0, 2.0]), r"J must be a scalar coupling > 0; got \[1.0, 2.0\]"),
    ],
)
def test_validation(kwargs, match):
    args = dict(shape=(4, 4), beta=0.4, J=1.0) | kwargs
    with pytest.raises(ValueError, match=match):
        js.exact.kaufman(args["shape"], args["beta"], J=args["J"])
