"""Statistical test helpers shared by the sampler tests.

The chi-square test compares a histogram of independent samples with exact
probabilities. Samples are the final states of independent chains, so they
are independent by construction (no autocorrelation correction needed).
Bins with an expected count below 5 are pooled into one, the textbook
condition for the chi-square approximation. Repeats are combined with
Fisher's method: X = -2 sum log p ~ chi2(2k) under the null.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

# The significance level for rejecting a sampler. With fixed seeds the tests
# are deterministic; this level is what a correct sampler passes with
# probability 1 - 1e-4 on any seed, and the negative controls show a wrong
# distribution is rejected far below it.
ALPHA = 1e-4


def chi2_pvalue(sample_ids, probabilities) -> float:
    """p-value of the chi-square goodness-of-fit of integer samples to ``probabilities``."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities / probabilities.sum()
    n = len(sample_ids)
    counts = np.bincount(np.asarray(sample_ids).ravel(), minlength=len(probabilities)).astype(np.float64)
    expected = n * probabilities
    big = expected >= 5
    obs = list(counts[big])
    exp = list(expected[big])
    if (~big).any() and expected[~big].sum() > 0:
        obs.append(counts[~big].sum())
        exp.append(expected[~big].sum())
    obs, exp = np.array(obs), np.array(exp)
    dof = len(obs) - 1
    assert dof >= 1, "too few bins for a chi-square test; use more samples"
    stat = np.sum((obs - exp) ** 2 / exp)
    return float(sps.chi2.sf(stat, dof))


def fisher_combine(pvalues) -> float:
    """Combined p-value of independent tests (Fisher's method)."""
    p = np.clip(np.asarray(pvalues, dtype=np.float64), 1e-300, 1.0)
    return float(sps.chi2.sf(-2.0 * np.log(p).sum(), 2 * len(p)))


def within_sigmas(estimate, exact, stderr, n_sigma=4.0) -> bool:
    """|estimate - exact| <= n_sigma * stderr, for a stderr known accurately.

    Right when stderr comes from a known variance (a binomial count) or from
    hundreds of independent samples; with few chains use :func:`within_t`.
    """
    return abs(float(estimate) - float(exact)) <= n_sigma * float(stderr)


# Two-sided false-fail probability of a 4-sigma Gaussian check:
# 2 * (1 - Phi(4)) = 6.334e-5. within_t uses the same level.
T_ALPHA = 6.3e-5


def within_t(mean, exact, stderr, dof, alpha=T_ALPHA) -> bool:
    """|mean - exact| <= t_{1 - alpha/2, dof} * stderr: a two-sided one-sample t-test.

    Derivation: with n independent, (near-)normal chain means x_i and the
    sample standard error s / sqrt(n), s^2 = sum (x_i - xbar)^2 / (n - 1),
    the statistic (xbar - mu) / (s / sqrt(n)) follows Student's t with
    dof = n - 1 under the null xbar ~ mu. The check therefore fails a correct
    sampler with probability exactly alpha. A fixed "4 standard errors"
    ignores that s itself is estimated from few chains: with n = 8 (7 dof)
    P(|t_7| > 4) = 5e-3, eighty times the 6.3e-5 of a true 4-sigma test;
    here t_{1 - alpha/2, 7} = 8.5, t_{.., 15} = 5.5, t_{.., 3} = 32.7.
    Chain means are averages of hundreds of sweeps, so near-normal by the
    central limit theorem, which is what the t distribution assumes.
    """
    dof = int(dof)
    assert dof >= 1, "a t-test needs at least two chains"
    tol = float(sps.t.ppf(1.0 - alpha / 2.0, dof)) * float(stderr)
    return abs(float(mean) - float(exact)) <= tol


def sigmas(alpha) -> float:
    """The n of a two-sided n-sigma Gaussian check that fails with probability ``alpha``.

    sigmas(6.3e-5) = 4.0; for k checks sharing a per-test budget ALPHA
    (Bonferroni), pass ``ALPHA / k``: sigmas(1e-4 / 9) = 4.39.
    """
    return float(sps.norm.isf(float(alpha) / 2.0))


def once_per_session(tmp_path_factory, worker_id, name: str, produce) -> str:
    """``produce()`` (a string, e.g. a subprocess's JSON report) computed once per test session.

    Under pytest-xdist a module's tests may land on several workers: the first
    one runs ``produce`` (the multi-device subprocesses take ~30 s), the others
    wait on a file lock and read its result (xdist's documented recipe).
    """
    if worker_id == "master":
        return produce()
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = shared / f"{name}.json"
        if not cached.exists():
            cached.write_text(produce())
        return cached.read_text()
