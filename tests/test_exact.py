"""Tests for jaxstat.exact: enumeration against independent numpy brute force
and closed forms, Onsager's formulas against scipy and numerical derivatives."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jaxstat import exact, ising

BETAS = (0.3, 1.1)


# --------------------------------------------------------------------------- #
# independent references (numpy only, no jaxstat code)
# --------------------------------------------------------------------------- #
def all_configs(n):
    """All 2**n configurations in itertools.product order (float64, (2**n, n))."""
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def dense_energies(J, h):
    S = all_configs(len(h))
    return -0.5 * np.einsum("si,ij,sj->s", S, J, S) - S @ h


def lattice_energies(J, h, shape, periodic):
    """E(s) = -sum_{x,k} J[k][x] s(x) s(x + e_k) - sum_x h(x) s(x), bonds
    across open edges left out; J has shape (d, *shape), h shape."""
    S = all_configs(math.prod(shape)).reshape((-1,) + shape)
    E = -np.sum(S * h, axis=tuple(range(1, len(shape) + 1)))
    for x in itertools.product(*(range(L) for L in shape)):
        for k, (L, per) in enumerate(zip(shape, periodic)):
            if x[k] == L - 1 and not per:
                continue
            y = list(x)
            y[k] = (x[k] + 1) % L
            E -= J[(k,) + x] * S[(slice(None),) + x] * S[(slice(None),) + tuple(y)]
    return E


def boltzmann_stats(E, beta, n):
    logw = -beta * E
    log_z = np.logaddexp.reduce(logw)
    p = np.exp(logw - log_z)
    m = all_configs(n).mean(axis=1)
    mean_e = p @ E
    return dict(
        log_z=log_z,
        mean_energy=mean_e,
        energy_variance=p @ (E - mean_e) ** 2,
        mean_magnetization=p @ m,
        mean_abs_magnetization=p @ np.abs(m),
        mean_magnetization_sq=p @ m**2,
        mean_magnetization_4=p @ m**4,
        probabilities=p,
        energies=E,
    )


def assert_matches(r, ref, rtol=2e-5, atol=2e-5):
    for name, want in ref.items():
        np.testing.assert_allclose(np.asarray(getattr(r, name)), want, rtol=rtol, atol=atol, err_msg=name)


def random_dense(seed=0, n=8):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    J = np.triu(A, 1)
    J = J + J.T
    h = 0.5 * rng.normal(size=n)
    return J, h


# --------------------------------------------------------------------------- #
# state numbering
# --------------------------------------------------------------------------- #
def test_state_index_is_product_order_and_inverts_states():
    S = all_configs(5)
    idx = exact.state_index(S)
    assert idx.dtype == jnp.int32
    np.testing.assert_array_equal(idx, np.arange(32))
    np.testing.assert_array_equal(exact.states(5), S)
    np.testing.assert_array_equal(exact.states(5, start=7, count=3), S[7:10])
    # lattice configs with batch axes; sites flattened in C order
    m = ising.lattice((2, 3))
    batch = exact.states(m).reshape(4, 16, 2, 3)
    assert batch.shape == (4, 16, 2, 3)
    np.testing.assert_array_equal(exact.state_index(batch, m), np.arange(64).reshape(4, 16))
    np.testing.assert_array_equal(exact.state_index(batch.reshape(4, 16, 6)), np.arange(64).reshape(4, 16))
    # jit-friendly
    np.testing.assert_array_equal(jax.jit(exact.state_index)(S[::-1]), np.arange(32)[::-1])


def test_state_index_rejects_bad_spins():
    with pytest.raises(ValueError, match="-1 and \\+1"):
        exact.state_index(jnp.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="trailing shape"):
        exact.state_index(jnp.ones((3, 3)), ising.lattice((2, 2)))
    with pytest.raises(ValueError, match="start"):
        exact.states(3, start=8)


# --------------------------------------------------------------------------- #
# enumeration vs brute force
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("beta", BETAS)
def test_dense_matches_brute_force(beta):
    J, h = random_dense()
    r = exact.enumerate(ising.dense(J, h), beta)
    assert_matches(r, boltzmann_stats(dense_energies(J, h), beta, 8))


@pytest.mark.parametrize(
    "shape, periodic", [((3, 3), True), ((2, 3), False), ((2, 3), (True, False))]
)
def test_lattice_matches_brute_force(shape, periodic):
    rng = np.random.default_rng(1)
    J = rng.normal(size=(2,) + shape)
    h = 0.3 * rng.normal(size=shape)
    per = (periodic,) * 2 if isinstance(periodic, bool) else periodic
    m = ising.lattice(shape, J=J, h=h, periodic=periodic)
    E = lattice_energies(J, h, shape, per)
    rs = jax.vmap(lambda b: exact.enumerate(m, b))(jnp.array(BETAS))
    for i, beta in enumerate(BETAS):
        assert_matches(jax.tree.map(lambda x: x[i], rs), boltzmann_stats(E, beta, math.prod(shape)))


def test_one_dimensional_closed_forms():
    betas = jnp.array([0.0, 0.4, 1.0, 2.5])
    n, Jc = 7, 0.8
    b = np.asarray(betas, np.float64) * Jc
    open_chain = ising.lattice((n,), J=Jc, periodic=False)
    ring = ising.lattice((n,), J=Jc, periodic=True)
    log_z_open = jax.vmap(lambda b: exact.enumerate(open_chain, b).log_z)(betas)
    log_z_ring = jax.vmap(lambda b: exact.enumerate(ring, b).log_z)(betas)
    np.testing.assert_allclose(log_z_open, np.log(2 * (2 * np.cosh(b)) ** (n - 1)), rtol=1e-6)
    np.testing.assert_allclose(log_z_ring, np.log((2 * np.cosh(b)) ** n + (2 * np.sinh(b)) ** n), rtol=1e-6)
    # open chain: <E> = -(n-1) J tanh(beta J), m averages to zero at h = 0
    r = exact.enumerate(open_chain, 1.0)
    np.testing.assert_allclose(r.mean_energy, -(n - 1) * Jc * np.tanh(Jc), rtol=1e-6)
    np.testing.assert_allclose(r.mean_magnetization, 0.0, atol=1e-6)
    np.testing.assert_allclose(r.specific_heat, (n - 1) / n * Jc**2 / np.cosh(Jc) ** 2, rtol=1e-5)


def test_small_periodic_lattice_approaches_onsager_at_high_temperature():
    # The high-temperature expansion of a 4x4 torus differs from the infinite
    # lattice first by its 8 straight winding loops of length 4: ln Z gains
    # 8 t^4, t = tanh(beta), so u = -d ln Z / d beta / 16 gains -2 t^3 (1 - t^2).
    # The remainder is O(t^5) ~ 1e-5 at T = 20.
    T = 20.0
    t = np.tanh(1 / T)
    r = exact.enumerate(ising.lattice((4, 4)), 1 / T)
    diff = float(r.mean_energy) / 16 - float(exact.onsager_energy(T))
    assert abs(diff - (-2 * t**3 * (1 - t**2))) < 3e-5


def test_chunk_sizes_agree():
    rng = np.random.default_rng(2)
    lat = ising.lattice((2, 4), J=rng.normal(size=(2, 2, 4)), h=rng.normal(size=(2, 4)))
    J, h = random_dense()
    dense = ising.dense(J, h)
    for m in (lat, dense):
        ref = exact.enumerate(m, 0.7)
        for chunk in (1, 8, 100, 2**20):  # 100 -> 64; 2**20 -> all 256 states in one chunk
            r = exact.enumerate(m, 0.7, chunk_size=chunk)
            for a, b in zip(r, ref):  # equal up to rounding (XLA vectorizes each batch shape its own way)
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_new_beta_does_not_recompile_and_vmap_matches_loop():
    J, h = random_dense()
    m = ising.dense(J, h)
    exact.enumerate(m, 0.3)
    n_compiled = exact.enumeration._enumerate_jit._cache_size()
    for beta in (0.9, np.float32(0.2), jnp.asarray(1.5), 2):
        exact.enumerate(m, beta)
    # a different model with the same structure reuses the compilation too
    exact.enumerate(ising.dense(-J, 2 * h), 0.4)
    assert exact.enumeration._enumerate_jit._cache_size() == n_compiled

    betas = jnp.array([0.2, 0.9, 1.5])
    log_z = jax.vmap(lambda b: exact.enumerate(m, b).log_z)(betas)
    loop = [float(exact.enumerate(m, b).log_z) for b in betas]
    np.testing.assert_allclose(log_z, loop, rtol=1e-6)
    # and jit over beta around the whole call
    np.testing.assert_allclose(jax.jit(lambda b: exact.enumerate(m, b).log_z)(0.9), loop[1], rtol=1e-6)
    # d log Z / d beta = -<E>
    grad = jax.grad(lambda b: exact.enumerate(m, b).log_z)(0.9)
    np.testing.assert_allclose(grad, -exact.enumerate(m, 0.9).mean_energy, rtol=1e-5)


def test_vmap_over_disorder():
    Js = np.stack([random_dense(seed)[0] for seed in range(3)])
    h = np.zeros(8)
    log_z = jax.vmap(lambda J: exact.enumerate(ising.dense(J, h), 0.5).log_z)(jnp.asarray(Js))
    want = [boltzmann_stats(dense_energies(J, h), 0.5, 8)["log_z"] for J in Js]
    np.testing.assert_allclose(log_z, want, rtol=1e-5)


def test_ground_states():
    g = exact.ground_states(ising.lattice((2, 2)))
    assert float(g.energy) == -8.0
    assert g.indices.tolist() == [0, 15]
    np.testing.assert_array_equal(g.states, [-np.ones((2, 2)), np.ones((2, 2))])
    J, h = random_dense()
    E = dense_energies(J, h)
    g = exact.ground_states(ising.dense(J, h))
    assert g.indices.tolist() == [int(np.argmin(E))]
    np.testing.assert_allclose(g.energy, E.min(), rtol=1e-5)


# --------------------------------------------------------------------------- #
# errors and dtypes
# --------------------------------------------------------------------------- #
def test_enumerate_errors():
    with pytest.raises(ValueError, match=r"N = 25 .*MAX_ENUMERATE_SPINS = 24"):
        exact.enumerate(ising.lattice((5, 5)), 0.5)
    m = ising.lattice((2, 2))
    with pytest.raises(ValueError, match=">= 0"):
        exact.enumerate(m, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        exact.enumerate(m, float("nan"))
    with pytest.raises(ValueError, match="finite beta.*ground_states"):
        exact.enumerate(m, jnp.inf)
    with pytest.raises(ValueError, match="scalar"):
        exact.enumerate(m, jnp.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="chunk_size"):
        exact.enumerate(m, 0.5, chunk_size=0)
    asym = ising.dense(jnp.array([[0.0, 1.0], [0.5, 0.0]]), allow_asymmetric=True)
    with pytest.raises(ValueError, match="exact enumeration needs symmetric couplings"):
        exact.enumerate(asym, 0.5)
    with pytest.raises(ValueError, match="jaxstat.ising model"):
        exact.enumerate(np.zeros((2, 2)), 0.5)


@pytest.mark.parametrize("fn", [exact.onsager_energy, exact.onsager_magnetization, exact.onsager_specific_heat])
@pytest.mark.parametrize("T", [0.0, -1.0, float("nan"), [1.0, -2.0]])
def test_onsager_rejects_bad_temperatures(fn, T):
    with pytest.raises(ValueError, match="T must be > 0"):
        fn(T)


def test_dtypes_float32_and_float64():
    J, h = random_dense()
    r32 = exact.enumerate(ising.dense(J, h), 0.5)
    assert all(x.dtype == jnp.float32 for x in r32)
    T32 = jnp.array([1.0, 3.0], jnp.float32)
    for fn in (exact.onsager_energy, exact.onsager_magnetization, exact.onsager_specific_heat, exact.elliptic_k, exact.elliptic_e):
        arg = T32 / 4 if fn in (exact.elliptic_k, exact.elliptic_e) else T32
        assert fn(arg).dtype == jnp.float32
    with jax.enable_x64(True):
        m = ising.dense(J, h)
        assert m.dtype == jnp.float64
        r = exact.enumerate(m, 0.5)
        assert all(x.dtype == jnp.float64 for x in r)
        assert_matches(r, boltzmann_stats(dense_energies(J, h), 0.5, 8), rtol=1e-12, atol=1e-12)
        assert exact.onsager_energy(np.array([1.0, 3.0])).dtype == jnp.float64
        assert exact.onsager_energy(T32).dtype == jnp.float32
        # float32 models stay float32 under x64, whatever beta's dtype
        m32 = ising.dense(J, h, dtype=jnp.float32)
        assert exact.enumerate(m32, np.float64(0.5)).log_z.dtype == jnp.float32


# --------------------------------------------------------------------------- #
# Onsager
# --------------------------------------------------------------------------- #
def test_onsager_tc():
    tc = exact.onsager_tc()
    assert tc == pytest.approx(2.269185314213022, rel=1e-15)
    assert math.sinh(2 / tc) == pytest.approx(1.0, rel=1e-14)


def test_elliptic_integrals_match_scipy():
    k = np.array([0.0, 1e-6, 0.1, 0.5, -0.7, 0.9, 0.99, 0.999999, 1.0])
    with jax.enable_x64(True):
        np.testing.assert_allclose(exact.elliptic_k(k), special.ellipk(k**2), rtol=1e-11)  # scipy: m = k^2
        np.testing.assert_allclose(exact.elliptic_e(k), special.ellipe(k**2), rtol=1e-11)
    k32 = np.asarray(jnp.asarray(k, jnp.float32), np.float64)  # compare at the rounded inputs
    np.testing.assert_allclose(exact.elliptic_k(jnp.asarray(k32, jnp.float32)), special.ellipk(k32**2), rtol=2e-6)
    np.testing.assert_allclose(exact.elliptic_e(jnp.asarray(k32, jnp.float32)), special.ellipe(k32**2), rtol=2e-6)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        exact.elliptic_k(1.5)


TEMPS = np.array([0.3, 0.8, 1.5, 2.0, 2.2, 2.25, 2.3, 2.5, 3.0, 5.0, 20.0])


def scipy_onsager(T):
    b = 1 / T
    t = np.tanh(2 * b)
    k = 2 * np.sinh(2 * b) / np.cosh(2 * b) ** 2
    K, E = special.ellipk(k**2), special.ellipe(k**2)
    u = -(1 / t) * (1 + (2 / np.pi) * (2 * t**2 - 1) * K)
    c = (4 / np.pi) * (b / t) ** 2 * (K - E - (1 - t**2) * (np.pi / 2 + (2 * t**2 - 1) * K))
    return u, c


def test_onsager_energy_and_specific_heat_vs_scipy_and_derivative():
    u_ref, c_ref = scipy_onsager(TEMPS)
    with jax.enable_x64(True):
        u = np.asarray(exact.onsager_energy(TEMPS))
        c = np.asarray(exact.onsager_specific_heat(TEMPS))
        np.testing.assert_allclose(u, u_ref, rtol=1e-10)
        np.testing.assert_allclose(c, c_ref, rtol=1e-7, atol=1e-12)
        dT = 1e-5
        du = (np.asarray(exact.onsager_energy(TEMPS + dT)) - np.asarray(exact.onsager_energy(TEMPS - dT))) / (2 * dT)
        np.testing.assert_allclose(c, du, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(c, jax.vmap(jax.grad(exact.onsager_energy))(jnp.asarray(TEMPS)), rtol=1e-8, atol=1e-12)
    # float32 agrees with the float64 reference
    np.testing.assert_allclose(exact.onsager_energy(TEMPS.astype(np.float32)), u_ref, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(exact.onsager_specific_heat(TEMPS.astype(np.float32)), c_ref, rtol=1e-3, atol=1e-6)


def test_onsager_limits():
    tc = exact.onsager_tc()
    with jax.enable_x64(True):
        assert float(exact.onsager_energy(0.1)) == pytest.approx(-2.0, abs=1e-12)
        assert float(exact.onsager_energy(tc)) == pytest.approx(-math.sqrt(2), rel=1e-10)
        assert float(exact.onsager_energy(1e3)) == pytest.approx(-2e-3, rel=1e-5)  # u ~ -2 tanh(1/T)
        assert float(exact.onsager_energy(jnp.inf)) == 0.0
        assert float(exact.onsager_specific_heat(1e3)) == pytest.approx(2e-6, rel=1e-4)  # c ~ 2/T^2
        assert float(exact.onsager_specific_heat(jnp.inf)) == 0.0
        assert float(exact.onsager_specific_heat(0.05)) == 0.0
        assert float(exact.onsager_specific_heat(tc)) > 10  # log divergence
        m = np.asarray(exact.onsager_magnetization(np.array([0.05, 1.0, 2.0, tc - 1e-6, tc, 2.5, jnp.inf])))
    assert m[0] == 1.0
    assert m[1] == pytest.approx((1 - math.sinh(2.0) ** -4) ** 0.125, rel=1e-12)
    assert m[2] == pytest.approx((1 - math.sinh(1.0) ** -4) ** 0.125, rel=1e-12)
    # m ~ (T_c - T)^(1/8) = 0.196 here; 1 - sinh^-4 ~ 3e-6 cancels ~6 digits, ^(1/8) keeps 1e-10
    assert m[3] == pytest.approx((1 - math.sinh(2 / (tc - 1e-6)) ** -4) ** 0.125, rel=1e-9)
    np.testing.assert_array_equal(m[4:], 0.0)
    # no NaN anywhere in float32, including extreme temperatures
    T = jnp.array([1e-3, 0.1, tc, 1e3, 1e30, jnp.inf], jnp.float32)
    for fn in (exact.onsager_energy, exact.onsager_magnetization, exact.onsager_specific_heat):
        assert bool(jnp.all(jnp.isfinite(fn(T))))


# --------------------------------------------------------------------------- #
# one enumeration of the 2^n states (jaxstat._states), shared with jaxstat.boltzmann
# --------------------------------------------------------------------------- #
def test_one_state_numbering_bit_order():
    """State k has unit i = bit n-1-i of k: itertools.product order, spins 2 b - 1."""
    from jaxstat import _states

    n = 5
    B = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    np.testing.assert_array_equal(_states.all_binary_states(n, jnp.float32), B)
    np.testing.assert_array_equal(_states.all_spin_states(n, jnp.float32), 2 * B - 1)
    for k in (0, 1, 6, 19, 31):
        bits = [(k >> (n - 1 - i)) & 1 for i in range(n)]
        np.testing.assert_array_equal(_states.binary_states(jnp.int32(k), n, jnp.float32), bits)
    np.testing.assert_array_equal(_states.state_index(B), np.arange(2**n))
    np.testing.assert_array_equal(_states.state_index(2 * B - 1), np.arange(2**n))
    # the public faces are the same numbering
    np.testing.assert_array_equal(exact.states(n), _states.all_spin_states(n, jnp.float32))
    # chunks that do not divide 2^n: the tail is padded past the end, to be masked
    chunks = _states.map_chunks(lambda idx: idx, n, 12)
    assert chunks.shape == (3, 12)
    np.testing.assert_array_equal(chunks.ravel()[: 2**n], np.arange(2**n))


def test_enumerations_agree_state_by_state():
    """exact.enumerate of a Boltzmann machine's Ising form, boltzmann.exact_statistics and
    boltzmann.exact_log_z (enumerating either RBM layer) all walk the same states: the same log Z,
    and the per-state probabilities line up with an independent brute force in product order."""
    from jaxstat import boltzmann

    rng = np.random.default_rng(7)
    n_v, n_h = 3, 2
    W_vh = rng.normal(size=(n_v, n_h)) * 0.8
    a, b = rng.normal(size=n_v) * 0.5, rng.normal(size=n_h) * 0.5
    W = np.zeros((n_v + n_h, n_v + n_h))
    W[:n_v, n_v:], W[n_v:, :n_v] = W_vh, W_vh.T
    machine = boltzmann.bm_from_weights(W, a, b, dtype=jnp.float32)
    model, const = ising.from_neurons(machine.W, -machine.bias)
    r = exact.enumerate(model, 1.0)
    # independent brute force over {0,1}^5 in itertools.product order
    S = np.array(list(itertools.product([0.0, 1.0], repeat=n_v + n_h)))
    log_w = 0.5 * np.einsum("si,ij,sj->s", S, W, S) + S @ np.concatenate([a, b])
    log_z = np.logaddexp.reduce(log_w)
    np.testing.assert_allclose(r.probabilities, np.exp(log_w - log_z), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(r.log_z - const, log_z, rtol=1e-6)
    np.testing.assert_allclose(boltzmann.exact_statistics(machine).log_z, log_z, rtol=1e-6)
    # the same machine as an RBM: exact_log_z enumerates the hidden layer (n_h <= n_v) ...
    rbm = boltzmann.RBM(jnp.asarray(W_vh, jnp.float32), jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32))
    np.testing.assert_allclose(boltzmann.exact_log_z(rbm), log_z, rtol=1e-6)
    # ... and its transpose the visible layer (n_v < n_h), in chunks that do not divide 2^n
    flipped = boltzmann.RBM(rbm.W.T, rbm.b, rbm.a)
    np.testing.assert_allclose(boltzmann.exact_log_z(flipped, chunk_size=3), log_z, rtol=1e-6)
    # the visible marginal p(v), state by state, from the RBM's free energy in the shared order
    p_v = np.exp(log_w - log_z).reshape(2**n_v, 2**n_h).sum(axis=1)
    V = (exact.states(n_v) + 1) / 2
    np.testing.assert_allclose(np.exp(boltzmann.log_likelihood(rbm, V, per_sample=True)), p_v, rtol=1e-5)
