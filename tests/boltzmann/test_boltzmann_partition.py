"""Exact log Z against brute force over both layers, AIS against exact log Z, log-likelihood."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ALPHA, within_t
from scipy import stats as sps

from jaxstat import boltzmann
from jaxstat.boltzmann import RBM


def all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def brute_log_z(params):
    """log Σ_{v,h} exp(-E(v, h)) with the public energy, over every pair of states."""
    V, H = all_states(params.W.shape[0]), all_states(params.W.shape[1])
    E = boltzmann.energy(params, V[:, None, :], H[None, :, :])
    return jax.nn.logsumexp(-E)


def random_rbm(key, n_v, n_h, scale=1.0, dtype=jnp.float32):
    kw, ka, kb = jax.random.split(key, 3)
    return RBM(
        scale * jax.random.normal(kw, (n_v, n_h), dtype),
        jax.random.normal(ka, (n_v,), dtype),
        jax.random.normal(kb, (n_h,), dtype),
    )


# --------------------------------------------------------------------------- #
# exact log Z
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_v,n_h", [(5, 3), (3, 5)])  # enumerates the hidden, then the visible layer
@pytest.mark.parametrize("chunk_size", [3, 8192])       # 3: several chunks, the last one padded
def test_exact_log_z_matches_brute_force_over_both_layers(n_v, n_h, chunk_size):
    with jax.enable_x64(True):
        p = random_rbm(jax.random.key(n_v), n_v, n_h, dtype=jnp.float64)
        exact = boltzmann.exact_log_z(p, chunk_size=chunk_size)
        assert exact.dtype == jnp.float64
        np.testing.assert_allclose(float(exact), float(brute_log_z(p)), rtol=1e-12)
    p32 = RBM(*(jnp.asarray(np.asarray(x), jnp.float32) for x in p[:3]))
    exact32 = boltzmann.exact_log_z(p32, chunk_size=chunk_size)
    assert exact32.dtype == jnp.float32
    # float32: a few ulps of log Z (~10) per logsumexp
    np.testing.assert_allclose(float(exact32), float(exact), rtol=1e-5)


def test_exact_log_z_gaussian_matches_quadrature():
    """The analytic visible integral against a 2-D trapezoid rule over v of Σ_h exp(-E(v, h))."""
    with jax.enable_x64(True):
        kw, ka, kb = jax.random.split(jax.random.key(3), 3)
        p = RBM(
            0.7 * jax.random.normal(kw, (2, 3), jnp.float64),
            jax.random.normal(ka, (2,), jnp.float64),
            jax.random.normal(kb, (3,), jnp.float64),
            jnp.array([0.6, 1.4]),
        )
        grid = jnp.linspace(-14.0, 14.0, 401)
        V = jnp.stack(jnp.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
        H = all_states(3)
        E = boltzmann.energy(p, V[:, None, :], H[None, :, :])
        dv = float(grid[1] - grid[0])
        # the integrand is Gaussian and negligible at the edges: the trapezoid rule is spectrally accurate
        quad = jax.nn.logsumexp(jax.nn.logsumexp(-E, axis=1)) + 2 * math.log(dv)
        np.testing.assert_allclose(float(boltzmann.exact_log_z(p)), float(quad), rtol=1e-10)


def test_exact_log_z_too_many_units_says_use_ais():
    big = RBM(jnp.zeros((30, 26)), jnp.zeros(30), jnp.zeros(26))
    with pytest.raises(ValueError, match=r"hidden layer .* n = 26 .*too large.*ais_log_z"):
        boltzmann.exact_log_z(big)
    gauss = RBM(jnp.zeros((2, 26)), jnp.zeros(2), jnp.zeros(26), jnp.ones(2))
    with pytest.raises(ValueError, match="too large.*ais_log_z"):
        boltzmann.exact_log_z(gauss)
    with pytest.raises(ValueError, match="chunk_size"):
        boltzmann.exact_log_z(random_rbm(jax.random.key(0), 3, 2), chunk_size=0)


def test_log_likelihood_normalises_and_accepts_log_z():
    p = random_rbm(jax.random.key(5), 4, 3)
    V = all_states(4)
    log_p = boltzmann.log_likelihood(p, V, per_sample=True)
    assert log_p.shape == (16,)
    np.testing.assert_allclose(float(jax.nn.logsumexp(log_p)), 0.0, atol=1e-5)
    given = boltzmann.log_likelihood(p, V[:3], log_z=boltzmann.exact_log_z(p))
    np.testing.assert_allclose(float(given), float(log_p[:3].mean()), rtol=1e-6)
    with pytest.raises(ValueError, match="v must contain only 0 and 1"):
        boltzmann.log_likelihood(p, V * 0.5)
    with pytest.raises(ValueError, match="log_z must be a scalar"):
        boltzmann.log_likelihood(p, V, log_z=jnp.zeros(2))


# --------------------------------------------------------------------------- #
# AIS
# --------------------------------------------------------------------------- #
# Models like trained ones: every hidden unit detects a random subset of about
# 30% of the visible units (weights +2 on it plus N(0, 1) noise, threshold at
# half the subset), sparse visible units (biases ~ N(-1, 0.5^2)). log Z ~ 50-90.
N_V, N_H, N_MODELS = 16, 12, 24
N_BETAS = 500  # calibrated: over 200 such models sd(z) = 0.98 at 500 betas, 0.93 at 300


def structured_rbm(key):
    k1, k2, k3 = jax.random.split(key, 3)
    field = 2.0 * jax.random.bernoulli(k2, 0.3, (N_V, N_H))
    W = jax.random.normal(k1, (N_V, N_H)) + field
    return RBM(W, -1.0 + 0.5 * jax.random.normal(k3, (N_V,)), -0.5 * field.sum(0))


@pytest.fixture(scope="module")
def models():
    # jit around vmap: one compilation instead of one per random op
    ms = jax.jit(jax.vmap(structured_rbm))(jax.random.split(jax.random.key(2024), N_MODELS))
    return ms, jax.jit(jax.vmap(boltzmann.exact_log_z))(ms)


@jax.jit
def _default_schedule():
    return jnp.linspace(0.0, 1.0, N_BETAS)


def _ais_batch(key, models, betas, n_runs):
    run = lambda k, m: boltzmann.ais_log_z(k, m, n_runs=n_runs, betas=betas)
    return jax.vmap(run)(jax.random.split(key, N_MODELS), models)


_ais_batch_jit = jax.jit(_ais_batch, static_argnames="n_runs")


def ais(key, models, n_runs, betas=None):
    """AIS on every model at once; one compilation per n_runs (betas are traced)."""
    return _ais_batch_jit(key, models, _default_schedule() if betas is None else betas, n_runs=n_runs)


def calibration_pvalues(result, exact):
    """Checks that the reported stderr is the actual spread of the estimate.

    With an honest error bar z_m = (estimate_m - exact_m) / stderr_m is
    ~ N(0, 1) for each of the M independent models (AIS is asymptotically
    normal; its Jensen bias -stderr^2/2 is ~1e-3 of a stderr here), so
    Σ z_m² ~ χ²(M). Both tails at ALPHA: a stderr too small by ~1.6x
    (Σ z² ≳ 60 for M = 24) or too large by ~2x (Σ z² ≲ 6) fails. And no
    single |z_m| may exceed c with 2 M (1 - Φ(c)) = ALPHA, c = 4.6 for M = 24.
    """
    z = np.asarray((result.log_z - exact) / result.stderr, np.float64)
    chi2 = float(np.sum(z**2))
    m = len(z)
    p_two_sided = 2 * min(sps.chi2.sf(chi2, m), sps.chi2.cdf(chi2, m))
    c = sps.norm.isf(ALPHA / (2 * m))
    return z, p_two_sided, c


def test_ais_agrees_with_exact_within_an_honest_error_bar(models):
    ms, exact = models
    result = ais(jax.random.key(1), ms, n_runs=100)
    z, p, c = calibration_pvalues(result, exact)
    assert np.all(np.isfinite(z)) and np.all(np.asarray(result.stderr) > 0)
    assert p > ALPHA, f"stderr miscalibrated: z = {np.round(z, 2)}"
    assert np.max(np.abs(z)) < c, f"z = {np.round(z, 2)}"
    # the error bars are small next to log Z, so the check is not vacuous
    assert float(jnp.max(result.stderr)) < 0.1


def test_ais_error_shrinks_with_more_runs(models):
    """4x the runs: honest still, and stderr halves (a t-test on log ratios over the models)."""
    ms, exact = models
    small = ais(jax.random.key(2), ms, n_runs=100)
    large = ais(jax.random.key(3), ms, n_runs=400)
    z, p, c = calibration_pvalues(large, exact)
    assert p > ALPHA and np.max(np.abs(z)) < c, f"z = {np.round(z, 2)}"
    log_ratio = np.log(np.asarray(large.stderr) / np.asarray(small.stderr))
    sem = log_ratio.std(ddof=1) / math.sqrt(N_MODELS)
    assert within_t(log_ratio.mean(), math.log(0.5), sem, N_MODELS - 1), (log_ratio.mean(), sem)
    # That the errors themselves shrink follows from the two checks above (the large run's
    # errors are consistent with its error bars, which are half the small run's). A bare
    # err_large < err_small had no error bar: over 24 models its false-failure probability
    # is P(F(24, 24) > 4) = 6e-4, above this suite's 1e-4 per test, so it is not asserted.


def test_calibration_check_catches_a_dishonest_error_bar(models):
    """Negative control: with 10 betas (then 490 sweeps at beta = 1, which add no weight: the
    same compiled scan) the weights are heavy-tailed and the delta-method stderr far too small.
    The check above must reject it, or it could not fail."""
    ms, exact = models
    betas = jnp.concatenate([jnp.linspace(0.0, 1.0, 10), jnp.ones(N_BETAS - 10)])
    result = ais(jax.random.key(1), ms, n_runs=100, betas=betas)
    z, p, c = calibration_pvalues(result, exact)
    assert p < ALPHA or np.max(np.abs(z)) > c


def test_ais_bad_input():
    p = random_rbm(jax.random.key(0), 3, 2)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="Bernoulli-Bernoulli"):
        boltzmann.ais_log_z(key, p._replace(sigma=jnp.ones(3)))
    with pytest.raises(ValueError, match="n_runs must be an integer >= 2"):
        boltzmann.ais_log_z(key, p, n_runs=1)
    with pytest.raises(ValueError, match="betas must increase from 0 to 1"):
        boltzmann.ais_log_z(key, p, betas=jnp.array([0.0, 0.7, 0.5, 1.0]))
    with pytest.raises(ValueError, match=r"base must have shape \(n_visible,\)"):
        boltzmann.ais_log_z(key, p, base=jnp.zeros(4))
    with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
        boltzmann.ais_log_z(0, p)
