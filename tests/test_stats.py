"""Tests of jaxstat.stats against exact answers.

The workhorse is the stationary AR(1) process
    x_0 ~ N(0, 1),  x_t = phi x_{t-1} + sqrt(1 - phi^2) eps_t,
which has unit variance, rho(t) = phi^t, tau_int = (1 + phi) / (2 (1 - phi))
(Sokal convention) and, for blocks of B samples,
    B Var(block mean) = (1 + phi)/(1 - phi) - 2 phi (1 - phi^B) / (B (1 - phi)^2).
One trace of 4 independent chains for each phi in PHIS is generated once with
a fixed seed; tolerances are a few standard deviations of each estimator
(derived next to each check), never tuned to the seed.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat import stats

N = 2**16
PHIS = np.repeat([0.0, 0.5, 0.8, 0.9], 4)  # 16 chains, 4 per phi
TAU = (1 + PHIS) / (2 * (1 - PHIS))


def _ar1(rng, phis, n):
    """Exact AR(1) samples: a log-depth prefix scan of x_t = phi x_{t-1} + u_t."""
    u = rng.standard_normal((n, phis.size)) * np.sqrt(1 - phis**2)
    u[0] = rng.standard_normal(phis.size)  # stationary start
    s = 1
    while s < n:  # after this pass x_t = sum_{j < 2s} phi^j u_{t-j}
        u[s:] = u[s:] + phis**s * u[:-s]
        s *= 2
    return u


def _block_var(phi, b):
    """Exact Var(mean of b consecutive AR(1) samples)."""
    if phi == 0:
        return 1.0 / b
    return ((1 + phi) / (1 - phi) - 2 * phi * (1 - phi**b) / (b * (1 - phi) ** 2)) / b


def _group_means(values):
    """Average the 4 chains of each phi."""
    return np.asarray(values, np.float64).reshape(-1, 4).mean(axis=1)


@pytest.fixture(scope="module")
def trace():
    return jnp.asarray(_ar1(np.random.default_rng(20240611), PHIS, N), jnp.float32)


# --------------------------------------------------------------------------- #
# thermodynamic observables: hand-computed values
# --------------------------------------------------------------------------- #
def test_susceptibility_hand_computed_per_temperature():
    # column 0: <m^2> = 0.625, <|m|> = 0.75, <m> = 0; column 1 is frozen.
    m = jnp.array([[0.5, 1.0], [-0.5, 1.0], [1.0, 1.0], [-1.0, 1.0]])
    betas = jnp.array([0.5, 2.0])
    np.testing.assert_allclose(stats.susceptibility(m, betas, 4), [0.5 * 4 * 0.0625, 0.0], rtol=1e-6)
    np.testing.assert_allclose(
        stats.susceptibility(m, betas, 4, absolute=False), [0.5 * 4 * 0.625, 0.0], rtol=1e-6
    )
    # beta = inf: a frozen trace responds with 0 (not NaN), a fluctuating one with inf.
    chi = stats.susceptibility(m, jnp.inf, 4)
    assert np.isposinf(chi[0]) and chi[1] == 0.0
    # one beta per temperature through vmap gives the same as the broadcast form
    by_vmap = jax.vmap(lambda col, b: stats.susceptibility(col, b, 4), in_axes=(1, 0))(m, betas)
    np.testing.assert_allclose(by_vmap, stats.susceptibility(m, betas, 4), rtol=1e-6)


def test_specific_heat_is_var_of_total_energy():
    e = jnp.array([-2.0, -1.0, -2.0, -1.0, -1.5])  # energy per spin
    n, beta = 4, 0.7
    E = np.asarray(e, np.float64) * n
    expected = beta**2 * np.var(E) / n  # c = beta^2 Var(E_total) / N
    np.testing.assert_allclose(stats.specific_heat(e, beta, n), expected, rtol=1e-6)
    assert float(stats.specific_heat(jnp.full(5, -2.0), jnp.inf, n)) == 0.0


def test_binder_limits(trace):
    # +-const samples: <m^4> = m0^4 = <m^2>^2, so U = 1 - 1/3 exactly.
    pm = jnp.array([0.9, -0.9, -0.9, 0.9, 0.9])
    np.testing.assert_allclose(stats.binder_cumulant(pm), 2 / 3, rtol=1e-6)
    # Gaussian samples: <m^4> = 3 <m^2>^2, U = 0. Delta method for unit variance:
    # U - 0 ~ -(mean(x^4 - 6 x^2) + 3) / 3 with Var(x^4 - 6x^2) = 105 - 180 + 108 - 9 = 24,
    # so sd(U) = sqrt(24 / 9 / n) per iid chain (the phi = 0 columns).
    u = np.asarray(stats.binder_cumulant(trace[:, :4]))
    assert np.all(np.abs(u) < 5 * math.sqrt(24 / 9 / N)), u


# --------------------------------------------------------------------------- #
# autocorrelation
# --------------------------------------------------------------------------- #
def test_autocorrelation_matches_direct_sum():
    # the definition, O(n^2): C(t) = (1/n) sum_{i < n - t} d_i d_{i+t}, no wrap-around
    x = np.random.default_rng(1).standard_normal(64).cumsum()
    d = x - x.mean()
    c = np.array([d[: 64 - t] @ d[t:] for t in range(64)]) / 64
    rho = stats.autocorrelation(jnp.asarray(x, jnp.float32))
    assert rho.shape == (64,)
    np.testing.assert_allclose(rho, c / c[0], atol=1e-5)
    np.testing.assert_allclose(stats.autocorrelation(jnp.asarray(x, jnp.float32), max_lag=5), c[:6] / c[0], atol=1e-5)


def test_autocorrelation_of_ar1(trace):
    # Bartlett: for AR(1), Var(rho_hat(t)) <= (1 + phi^2) / ((1 - phi^2) n) at every lag.
    max_lag = 20
    rho = np.asarray(stats.autocorrelation(trace, max_lag))
    assert rho.shape == (max_lag + 1, PHIS.size)
    exact = PHIS[None, :] ** np.arange(max_lag + 1)[:, None]
    sd = np.sqrt((1 + PHIS**2) / ((1 - PHIS**2) * N))
    # 20 random lags x 16 chains; 5.3 sd two-sided is 1.2e-7 each (normal), 4e-5 by the union bound
    # (and Bartlett's variance is an upper bound, so the real rate is lower): the false-failure probability.
    assert np.all(np.abs(rho - exact) < 5.3 * sd + 1e-6), np.abs(rho - exact).max(axis=0) / sd


def test_tau_int_of_ar1(trace):
    tau = np.asarray(stats.integrated_autocorrelation_time(trace))
    assert tau.shape == PHIS.shape and tau.dtype == np.float32
    # Sokal: sd(tau_hat) ~ tau sqrt(2 (2W + 1) / n) with the window W ~ c tau = 5 tau;
    # truncating the sum at W misses phi^(W+1) / (1 - phi) (a bias, added to the tolerance).
    window = np.ceil(5 * TAU)
    sd = TAU * np.sqrt(2 * (2 * window + 1) / N)
    bias = np.where(PHIS > 0, PHIS ** (window + 1) / (1 - PHIS), 0.0)
    # 16 estimates at 5 sd: 16 x 5.7e-7 = 9e-6 false-failure probability (normal approximation)
    assert np.all(np.abs(tau - TAU) < 5 * sd + bias), (tau, TAU)
    # the 4 independent chains of each phi: their mean has sd / 2; 4 means at 4.5 sd: 4 x 6.8e-6 = 3e-5
    assert np.all(np.abs(_group_means(tau) - TAU[::4]) < 4.5 * sd[::4] / 2 + bias[::4])


def test_tau_int_pooled_over_short_chains():
    """chain_axis: many short chains of one process give one estimate from the pooled mean and
    averaged autocovariance. 64 AR(1) chains, phi = 0.9 (tau = 9.5), of 20 tau each: Sokal's
    error for all 64 x 190 samples is tau sqrt(2 (2W + 1) / (64 n)) = 1.2 with W = 5 tau; the
    pooled estimate must be within 4 of those (plus the window's truncation bias). (Averaging
    the 64 per-chain estimates instead gives about 6.5 on such chains: each chain's own mean
    biases its estimate low.)"""
    phi, n, chains = 0.9, 190, 64
    x = jnp.asarray(_ar1(np.random.default_rng(5), np.full(chains, phi), n), jnp.float32)
    tau_true = (1 + phi) / (2 * (1 - phi))
    window = np.ceil(5 * tau_true)
    sd = tau_true * np.sqrt(2 * (2 * window + 1) / (chains * n))
    bias = phi ** (window + 1) / (1 - phi)
    pooled = float(stats.integrated_autocorrelation_time(x, chain_axis=1))
    # one estimate at 4 sd: false-failure probability 6e-5 (normal approximation)
    assert abs(pooled - tau_true) < 4 * sd + bias, pooled


def test_effective_sample_size(trace):
    ess = np.asarray(stats.effective_sample_size(trace))
    # iid chains: ESS = n; the relative sd of tau_hat (W ~ 3) is sqrt(2 * 7 / n) ~ 1.5%.
    # 4 chains at 5 sd: false-failure probability 4 x 5.7e-7 = 2e-6.
    assert np.all(np.abs(ess[:4] / N - 1) < 5 * math.sqrt(14 / N)), ess[:4] / N
    # consistent with tau_int in the same (Sokal) convention
    np.testing.assert_allclose(ess, N / (2 * np.asarray(stats.integrated_autocorrelation_time(trace))), rtol=1e-6)


def test_vmap_over_chains_matches_trailing_axes(trace):
    x = trace  # the direct results for this shape are already compiled by the tests above
    by_vmap = jax.vmap(stats.integrated_autocorrelation_time, in_axes=1)(x)
    np.testing.assert_allclose(by_vmap, stats.integrated_autocorrelation_time(x), rtol=1e-5)
    # under jit only shapes are validated; values pass through to the same numbers
    small = x[:64, 0]
    for a, b in zip(jax.jit(stats.mean_and_error)(small), stats.mean_and_error(small)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# --------------------------------------------------------------------------- #
# error bars of the mean
# --------------------------------------------------------------------------- #
EXACT_SE = np.sqrt([_block_var(p, N) for p in PHIS])  # exact sd of the mean of N samples


def test_blocking_levels_of_iid_data(trace):
    # iid unit variance: every level has E[SE_k^2] = 1/n, with relative sd of SE_k
    # about 1 / sqrt(2 (n_k - 1)) for n_k = n / B blocks.
    sizes, se = stats.blocking_levels(trace[:, :4])
    assert sizes.tolist() == [2**k for k in range(12)]  # 2^16 / 2^11 = 32 blocks at the end
    n_k = N // sizes
    rel_sd = 1 / np.sqrt(2 * (n_k - 1))
    ratio = np.asarray(se) * math.sqrt(N)
    # 12 levels x 4 columns at 5 sd (>= 32 blocks each, near normal): 48 x 5.7e-7 = 3e-5 false failure
    assert np.all(np.abs(ratio - 1) < 5 * rel_sd[:, None]), ratio


def _plateau_tolerance():
    # The plateau rule picks the first B = 2^k with B^3 > 2 n (2 tau)^2. Allowing for the
    # noise of that rule, take one level coarser (half as many blocks) for the sd
    # 1/sqrt(2 (n_k - 1)) of the error bar; short blocks bias SE by about
    # -phi / (B (1 - phi^2)) (from _block_var), added to the tolerance.
    b = 2.0 ** np.ceil(np.log2((2 * N * (2 * TAU) ** 2) ** (1 / 3)) + 1e-9)
    sd = 1 / np.sqrt(2 * (N / (2 * b) - 1))
    return sd, PHIS / (b * (1 - PHIS**2))


def test_blocking_error_of_ar1_mean(trace):
    se = np.asarray(stats.blocking_error(trace))
    assert se.shape == PHIS.shape and se.dtype == np.float32
    ratio = se / EXACT_SE  # EXACT_SE ~ sqrt(2 tau_int var / n)
    sd, bias = _plateau_tolerance()
    # false failure: 16 ratios at 5 sd (9e-6) plus 4 group means at 4.5 sd (3e-5), normal approximation
    assert np.all(np.abs(ratio - 1) < 5 * sd + bias), ratio
    assert np.all(np.abs(_group_means(ratio) - 1) < 4.5 * sd[::4] / 2 + bias[::4]), _group_means(ratio)
    # the conservative rule is never below the plateau rule and stays within the coarsest level's noise
    se_max = np.asarray(stats.blocking_error(trace, rule="max"))
    assert np.all(se_max >= se)
    # one-sided 5 sd at each of 12 levels x 16 chains: 192 x 2.9e-7 = 6e-5 false failure
    assert np.all(se_max / EXACT_SE < 1 + 5 / math.sqrt(2 * 31))


def test_binning_error_of_ar1_mean(trace):
    # 256 bins of 256 samples: relative sd 1/sqrt(2 * 255); bias -phi / (256 (1 - phi^2)).
    se = np.asarray(stats.binning_error(trace, n_bins=256))
    ratio = se / EXACT_SE
    sd, bias = 1 / math.sqrt(2 * 255), PHIS / (256 * (1 - PHIS**2))
    # false failure: 16 ratios at 5 sd (9e-6) plus 4 group means at 4.5 sd (3e-5), normal approximation
    assert np.all(np.abs(ratio - 1) < 5 * sd + bias), ratio
    assert np.all(np.abs(_group_means(ratio) - 1) < 4.5 * sd / 2 + bias[::4])


def test_mean_and_error(trace):
    mean, err = stats.mean_and_error(trace)
    np.testing.assert_allclose(mean, np.asarray(trace, np.float64).mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(err, stats.blocking_error(trace), rtol=1e-6)
    # the true mean is 0: each chain's mean lies within 5 of its (exact) standard errors
    assert np.all(np.abs(np.asarray(mean)) < 5 * EXACT_SE)


def test_binning_drops_leading_remainder():
    x = jnp.concatenate([jnp.array([1e3]), jnp.arange(1.0, 9.0)])  # 9 samples, 4 bins of 2
    np.testing.assert_allclose(stats.binning_error(x, n_bins=4), math.sqrt(20 / 3 / 4), rtol=1e-6)


def test_constant_trace():
    x = jnp.full((64,), 2.5)
    assert float(stats.blocking_error(x)) == 0.0 and float(stats.binning_error(x)) == 0.0
    assert np.isnan(float(stats.integrated_autocorrelation_time(x)))  # documented: undefined


@pytest.mark.parametrize("value", [0.1, 1.0, 0.7071, -3.3, 0.0])
def test_frozen_traces_give_nan_at_every_length(value):
    """A constant trace leaves a rounding residual after the mean is subtracted: that must not
    pass for an autocorrelation (it gave n/2 for some lengths, e.g. 50 for n = 100)."""
    for n in (7, 64, 100, 500, 1001):
        x = jnp.full((n,), value, jnp.float32)
        assert np.isnan(float(stats.integrated_autocorrelation_time(x))), n
        assert np.isnan(float(stats.effective_sample_size(x))), n
        assert np.all(np.isnan(np.asarray(stats.autocorrelation(x, 3)))), n
    # per column and pooled over chains: only the frozen column is NaN
    x = jnp.stack([jnp.full((200,), value), jax.random.normal(jax.random.key(0), (200,))], axis=1)
    tau = np.asarray(stats.integrated_autocorrelation_time(x))
    # iid column: tau = 1/2 with a standard error of about 0.5 sqrt(2 (2W + 1) / n) < 0.15 here;
    # 4 standard errors either side (false failure ~1e-4)
    assert np.isnan(tau[0]) and abs(tau[1] - 0.5) < 0.6
    chains = jnp.full((200, 4), value)
    assert np.isnan(float(stats.integrated_autocorrelation_time(chains, chain_axis=1)))


# --------------------------------------------------------------------------- #
# dtypes
# --------------------------------------------------------------------------- #
def _all_outputs(x):
    return [
        stats.susceptibility(jnp.tanh(x), 0.5, 4),  # a magnetization per spin, |m| <= 1
        stats.specific_heat(x, 0.5, 4),
        stats.binder_cumulant(x),
        stats.autocorrelation(x, 3),
        stats.integrated_autocorrelation_time(x),
        stats.effective_sample_size(x),
        stats.binning_error(x),
        stats.blocking_levels(x)[1],
        stats.blocking_error(x),
        *stats.mean_and_error(x),
    ]


def test_float32_preserved():
    x = jnp.asarray(np.random.default_rng(2).standard_normal(64), jnp.float32)
    assert all(out.dtype == jnp.float32 for out in _all_outputs(x))
    assert stats.binder_cumulant(jnp.array([1, -1, 1])).dtype == jnp.float32  # ints -> default float


def test_float64_under_x64():
    with jax.enable_x64(True):
        x64 = jnp.asarray(np.random.default_rng(2).standard_normal(64), jnp.float64)
        assert all(out.dtype == jnp.float64 for out in _all_outputs(x64))
        # float32 stays float32 under x64 (no promotion by internal float64 constants)
        x32 = x64.astype(jnp.float32)
        assert stats.susceptibility(jnp.tanh(x32), np.float64(0.5), 4).dtype == jnp.float32
        assert stats.effective_sample_size(x32).dtype == jnp.float32
        assert stats.mean_and_error(x32)[1].dtype == jnp.float32


# --------------------------------------------------------------------------- #
# validation at the boundary
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: stats.binder_cumulant(jnp.zeros((0,))), r"m needs at least 1 sample.*got shape \(0,\)"),
        (lambda: stats.binder_cumulant(1.0), "m must have a leading Monte Carlo time axis"),
        (lambda: stats.mean_and_error(jnp.array([1.0, jnp.nan] * 32)), "x must be finite; got 32 NaN or inf"),
        (lambda: stats.autocorrelation(jnp.ones(1)), r"x needs at least 2 sample\(s\).*got shape \(1,\)"),
        (lambda: stats.autocorrelation(jnp.ones(8), max_lag=8), r"max_lag must be < n_samples = 8 .*got 8"),
        (lambda: stats.autocorrelation(jnp.ones(8), max_lag=-1), "max_lag must be an integer >= 0"),
        (lambda: stats.integrated_autocorrelation_time(jnp.ones(8), c=0.0), r"c \(Sokal's window"),
        (lambda: stats.integrated_autocorrelation_time(jnp.ones((8, 2)), chain_axis=0), r"chain_axis must be .* \[1, 1\]; got 0"),
        (lambda: stats.susceptibility(jnp.ones(4), -1.0, 4), "beta must be >= 0"),
        (lambda: stats.susceptibility(jnp.array([16.0, -14.0, 12.0]), 0.5, 16), r"magnetization per spin.*max \|m\| = 16"),
        (lambda: stats.susceptibility(jnp.ones(4), float("nan"), 4), "beta must be a real number >= 0; got NaN"),
        (lambda: stats.susceptibility(jnp.ones((4, 2)), jnp.array([1.0, -2.0]), 4), "beta must be >= 0.*min -2"),
        (lambda: stats.susceptibility(jnp.ones((4, 2)), jnp.ones(3), 4), r"beta must be a scalar or broadcast.*\(2,\).*\(3,\)"),
        (lambda: stats.specific_heat(jnp.ones(4), 1.0, 0), "n_spins must be an integer >= 1; got 0"),
        (lambda: stats.binning_error(jnp.ones(10), n_bins=32), r"at least n_bins = 32 samples.*\(10,\)"),
        (lambda: stats.binning_error(jnp.ones(10), n_bins=1), "n_bins must be an integer >= 2"),
        (lambda: stats.blocking_error(jnp.ones(31)), r"at least min_blocks = 32 samples.*\(31,\)"),
        (lambda: stats.blocking_error(jnp.ones(64), rule="median"), "rule must be 'plateau' or 'max'; got 'median'"),
    ],
)
def test_bad_inputs_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
