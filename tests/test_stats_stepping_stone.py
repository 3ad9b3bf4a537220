"""Calibration of jaxstat.stats.stepping_stone against exact enumeration.

An error bar is right when z = (estimate - exact) / stderr has mean ~0 and
standard deviation ~1 over independent runs. One compiled, vmapped call runs
N_RUNS independent parallel-tempering chains on an 8-spin SK model (256 states,
so log Z is exact at every rung) and the checks below test the distribution
of z, not a single run.

What this guards: parallel tempering correlates neighbouring rungs (a replica
swapped upwards carries its energy to the next rung a step later), so error
bars that add the pairs' variances as if the rungs were independent are too
small. On this very setting their z has a standard deviation of 1.34
(measured, 512 runs, another seed), far outside the band tested below; the
negative control at the end keeps the setting sensitive to that mistake.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as sps

import jaxstat as js
from jaxstat.stats.free_energy import MIN_EFFECTIVE_SAMPLES, _stepping_stone

N_SPINS, N_RUNGS, BETA_MAX = 8, 16, 1.5
N_RUNS, N_SWEEPS, BURN_IN = 512, 1000, 100
# The documented accuracy of the error bars for runs of >= MIN_EFFECTIVE_SAMPLES effective
# samples (module docstring of jaxstat.stats.free_energy): the spread of z within 10% of 1
# and its mean within 0.1 of 0 (a 12-spin calibration measured 1.00-1.11 and |mean| <= 0.08
# at n_eff = 90-700). This run has n_eff ~ 200 (asserted below).
SPREAD_BAND = 1.1
MEAN_BAND = 0.1
# Three checks share the false-failure budget 1e-4.
ALPHA = 1e-4 / 3


@pytest.fixture(scope="module")
def runs():
    model = js.ising.sherrington_kirkpatrick(jax.random.key(3), N_SPINS)
    betas = jnp.linspace(0.0, BETA_MAX, N_RUNGS)
    pt = js.mcmc.parallel_tempering(js.mcmc.metropolis(model), betas)
    exact = np.asarray(jax.vmap(lambda b: js.exact.enumerate(model, b).log_z)(betas), np.float64)

    @jax.jit
    def one_call(keys):
        def one(key):
            k_init, k_run = jax.random.split(key)
            spins = jnp.where(jax.random.bernoulli(k_init, 0.5, (N_RUNGS, N_SPINS)), 1.0, -1.0)
            _, trace = js.mcmc.run(k_run, pt, spins, None, N_SWEEPS, burn_in=BURN_IN)
            r = js.stats.stepping_stone(betas, trace["energy"])
            return r, _stepping_stone(betas, trace["energy"])[1]  # and the run's n_eff

        return jax.vmap(one)(keys)

    r, n_eff = one_call(jax.random.split(jax.random.key(0), N_RUNS))
    return exact - exact[0], r, np.asarray(n_eff)


def _z(r, exact, k):
    return (np.asarray(r.log_z, np.float64)[:, k] - exact[k]) / np.asarray(r.log_z_stderr, np.float64)[:, k]


def test_runs_are_past_the_trust_threshold(runs):
    """The calibration below is stated for runs that the function does not warn about:
    the typical run holds >= MIN_EFFECTIVE_SAMPLES effective samples (its n_eff is ~200;
    deterministic given the seed, and the median of 512 runs cannot move by a factor 2)."""
    _, _, n_eff = runs
    assert np.median(n_eff) >= MIN_EFFECTIVE_SAMPLES, np.percentile(n_eff, [10, 50, 90])


def test_error_bars_are_calibrated_against_enumeration(runs):
    """z of log Z(beta_max) - log Z(0), one per independent run (independent draws).

    Mean: a one-sample t-test, |mean z| <= MEAN_BAND + t s / sqrt(N_RUNS), t the
    two-sided ALPHA quantile of Student's t with N_RUNS - 1 dof: fails with
    probability <= ALPHA whenever |E z| <= MEAN_BAND.

    Spread: for near-normal z (measured excess kurtosis |kappa| < 0.4 at these run
    lengths, so the chi-square law of the sample variance applies),
    (N_RUNS - 1) s^2 / sigma^2 ~ chi2(N_RUNS - 1). Accept when
    s in [sigma_lo q_lo, sigma_hi q_hi], q = sqrt(chi2 quantile / (N_RUNS - 1)) at
    ALPHA / 2 and 1 - ALPHA / 2, [sigma_lo, sigma_hi] = [1 / SPREAD_BAND, SPREAD_BAND]:
    for any true sigma in the band, false failure <= ALPHA. The bounds are [0.79, 1.25].
    Checked for the whole ladder and for its middle (where rung correlations pile up most
    relative to the error): 2 spread checks + 1 mean check, 3 ALPHA = 1e-4 in all.
    """
    exact, r, _ = runs
    z_top = _z(r, exact, N_RUNGS - 1)
    assert np.all(np.isfinite(z_top))
    n = z_top.size
    t = sps.t.ppf(1 - ALPHA / 2, n - 1)
    s_top = z_top.std(ddof=1)
    assert abs(z_top.mean()) <= MEAN_BAND + t * s_top / np.sqrt(n), (z_top.mean(), s_top)
    q_lo = np.sqrt(sps.chi2.ppf(ALPHA / 2, n - 1) / (n - 1))
    q_hi = np.sqrt(sps.chi2.ppf(1 - ALPHA / 2, n - 1) / (n - 1))
    lo, hi = q_lo / SPREAD_BAND, q_hi * SPREAD_BAND
    for k in (N_RUNGS // 2, N_RUNGS - 1):
        s = _z(r, exact, k).std(ddof=1)
        assert lo <= s <= hi, (k, s, lo, hi)


def test_independent_rung_errors_would_fail_here(runs):
    """Negative control: this setting must expose the mistake the fix removed. Adding the
    pairs' variances as if the rungs were independent gives z with spread 1.34 (measured on
    another seed; its standard error is 1.34 / sqrt(2 * 511) = 0.042). Asserting > 1.15, 4.5
    standard errors below, fails by chance with probability ~3e-6."""
    exact, r, _ = runs
    k = N_RUNGS - 1
    naive = np.sqrt(np.sum(np.asarray(r.stderr, np.float64)[:, :k] ** 2, axis=1))
    z = (np.asarray(r.log_z, np.float64)[:, k] - exact[k]) / naive
    assert z.std(ddof=1) > 1.15, z.std(ddof=1)


def test_short_run_warns():
    """A drifting trace (a run still far from equilibrium: energies on a ramp) has an
    autocorrelation time of the order of its length, so n_eff is a few: it warns, with no
    randomness involved. 4096 independent samples have tau_int = 1/2 (n_eff ~ 4096, while
    a warning would need tau_int > 20): no warning."""
    betas = jnp.array([0.0, 0.5])
    ramp = jnp.stack([jnp.linspace(-1.0, 1.0, 512)] * 2, axis=1)
    with pytest.warns(UserWarning, match="effective samples"):
        js.stats.stepping_stone(betas, ramp)
    e = jax.random.normal(jax.random.key(1), (4096, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = js.stats.stepping_stone(betas, e)
    # iid N(0, 1) energies: <e^{-0.5 E}> = e^{1/8}; the error bar is ~0.5 / sqrt(4096) ~ 0.008,
    # 4 of them is 0.03 (two-sided normal tail 6e-5).
    assert abs(float(r.log_z[1]) - 0.125) < 4 * float(r.log_z_stderr[1]) < 0.05
