"""Exact separability, Cover's formula, and the separability sweep against it."""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import numpy as np
import pytest
from helpers import ALPHA
from scipy import stats as sps

from jaxstat import perceptron
from jaxstat.perceptron import capacity

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([-1, 1, 1, -1])


# --------------------------------------------------------------------------- #
# Cover's formula and the linear program
# --------------------------------------------------------------------------- #
def test_cover_probability_exact_values():
    for n in (1, 2, 5, 20, 50):
        assert perceptron.cover_probability(2 * n, n) == 0.5
        assert perceptron.cover_probability(2 * n, n, exact=True) == Fraction(1, 2)
        assert perceptron.cover_probability(n, n) == 1.0
    # P = 3 points on a line through the origin side: 2 of 8 dichotomies
    assert perceptron.cover_probability(3, 1, exact=True) == Fraction(1, 4)
    # direct count of C(P, N) = 2 sum_{k<N} binom(P-1, k)
    assert perceptron.cover_probability(5, 2, exact=True) == Fraction(2 * (1 + 4), 32)
    # far past capacity the exact value stays positive (the float underflows honestly)
    assert perceptron.cover_probability(2000, 10, exact=True) > 0
    assert 0.0 <= perceptron.cover_probability(2000, 10) < 1e-300
    assert perceptron.cover_probability(300, 100) == pytest.approx(
        2.0 ** (1 - 300) * sum(math.comb(299, k) for k in range(100))
    )


def test_linearly_separable_with_and_without_bias():
    assert perceptron.linearly_separable(XOR_X, [-1, -1, -1, 1])  # AND
    assert not perceptron.linearly_separable(XOR_X, XOR_Y)
    # (0, 0) lies on every hyperplane through the origin: never strictly separated
    assert not perceptron.linearly_separable(XOR_X, [-1, -1, -1, 1], bias=False)
    assert perceptron.linearly_separable(XOR_X[1:], [-1, -1, 1], bias=False) is False  # (1,1) = (0,1) + (1,0)
    assert perceptron.linearly_separable(XOR_X[1:], [1, 1, 1], bias=False)


def test_bounded_fallback_lp_agrees_with_the_feasibility_lp():
    """HiGHS sometimes gives up on the unbounded feasibility LP (status 4);
    the bounded max-margin LP then decides. Both must agree where both run:
    here ±1 problems at the capacity P = 2N, half of them separable."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(11)
    answers = []
    for _ in range(30):
        x = rng.choice([-1.0, 1.0], size=(24, 12))
        y = rng.choice([-1.0, 1.0], size=24)
        answers.append(capacity._lp_separable(x, y, False))
        assert capacity._lp_max_margin(linprog, x, y, "") == answers[-1]
    assert 5 <= sum(answers) <= 25  # both outcomes were exercised


def test_linearly_separable_bad_input():
    with pytest.raises(ValueError, match="y must contain only labels"):
        perceptron.linearly_separable(XOR_X, [2, 1, 1, 2])
    with pytest.raises(ValueError, match=r"y must have shape \(P,\)"):
        perceptron.linearly_separable(XOR_X, [1, -1])
    with pytest.raises(ValueError, match="bias must be True or False"):
        perceptron.linearly_separable(XOR_X, XOR_Y, bias="no")
    with pytest.raises(ValueError, match="P must be an integer >= 1"):
        perceptron.cover_probability(0, 3)
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        perceptron.cover_probability(3, 1.5)


# --------------------------------------------------------------------------- #
# the sweep
# --------------------------------------------------------------------------- #
def cover_pvalues(result, expected):
    """Two p-values for "the separable counts follow Binomial(n_trials, expected)".

    - the smallest exact two-sided binomial p-value over the cells, times the
      number of cells (Bonferroni): catches one cell far off;
    - a chi-square of the standardized counts summed over the cells whose
      variance T c (1 - c) is >= 5 (where the normal approximation holds):
      catches a small deviation shared by many cells.

    Each has false-alarm probability <= ALPHA at ALPHA; cells are independent
    trials, so the chi-square has one degree of freedom per cell used.
    """
    t = result.separable.shape[-1]
    counts = result.separable.sum(axis=-1).ravel()
    expected = np.asarray(expected, dtype=np.float64).ravel()
    cells = [sps.binomtest(int(k), t, float(c)).pvalue for k, c in zip(counts, expected)]
    bonferroni = min(1.0, min(cells) * len(cells))
    var = t * expected * (1 - expected)
    use = var >= 5
    chi2 = float(np.sum((counts[use] - t * expected[use]) ** 2 / var[use]))
    return bonferroni, float(sps.chi2.sf(chi2, int(use.sum())))


# Loads around the transition, where Cover's probability is between 0.1 and
# 0.9 and the binomial test has power; 200 trials give the negative control
# below a power of 0.999 (noncentral chi-square with 9 cells).
COVER_N = (20, 30, 50)
COVER_ALPHAS = (1.75, 2.0, 2.25)


@pytest.fixture(scope="module")
def cover_sweep():
    return perceptron.separability_sweep(jax.random.key(2024), COVER_N, COVER_ALPHAS, 200)


def test_sweep_matches_cover_without_bias(cover_sweep):
    """Random ±1 patterns and labels: the exact separable fraction at N = 20,
    30 and 50 against Cover's C(P, N) / 2^P, 200 trials per load."""
    r = cover_sweep
    assert r.separable.shape == (3, 3, 200)
    bonferroni, chi2 = cover_pvalues(r, r.cover)
    assert bonferroni >= ALPHA and chi2 >= ALPHA, (bonferroni, chi2, r.fraction, r.cover)
    # the transition sits at alpha = 2, where Cover gives exactly 1/2 ...
    np.testing.assert_array_equal(r.cover[:, 1], 0.5)
    # ... and sharpens with N: the fraction falls further between alpha = 1.75
    # and 2.25 at N = 50 than at N = 20 (Cover: by 0.196, 3.8 standard errors of the
    # difference, so a correct sweep fails this one-sided check with probability
    # Phi(-3.8) = 7e-5)
    drop = r.fraction[:, 0] - r.fraction[:, 2]
    assert drop[2] > drop[0], drop


def test_cover_check_rejects_a_wrong_formula(cover_sweep):
    """Negative control: the same data against the formula with one dimension
    too many (forgetting that there is no bias, C(P, N + 1)) must fail."""
    r = cover_sweep
    wrong = np.array([[perceptron.cover_probability(int(p), int(n) + 1) for p in row] for n, row in zip(r.n, r.p)])
    _, chi2 = cover_pvalues(r, wrong)
    assert chi2 < ALPHA, chi2


def test_sweep_certificates_are_consistent(cover_sweep):
    r = cover_sweep
    assert r.certified.dtype == bool and r.separable.dtype == bool
    assert not np.any(r.certified & ~r.separable)  # a converged perceptron is a certificate
    np.testing.assert_array_equal(r.n_certified + r.n_lp, 200)
    assert r.n_certified.sum() > 0 and r.n_lp.sum() > 0
    np.testing.assert_array_equal(r.n, COVER_N)
    np.testing.assert_array_equal(r.alpha, COVER_ALPHAS)
    np.testing.assert_array_equal(r.p, [[35, 40, 45], [53, 60, 68], [88, 100, 113]])  # 52.5 -> 53: half up
    np.testing.assert_allclose(r.cover_stderr, np.sqrt(r.cover * (1 - r.cover) / 200))
    np.testing.assert_allclose(r.stderr, np.sqrt(r.fraction * (1 - r.fraction) / 200))


def test_sweep_answer_does_not_depend_on_max_epochs():
    """The same key gives the same patterns; with one epoch the perceptron
    certifies nothing (w = 0 misclassifies the first pattern), so every trial
    goes to the LP: the perceptron's certificates must agree with it."""
    kwargs = {"key": jax.random.key(5), "n": (6, 9), "alphas": (0.7, 1.5, 2.0, 3.0), "n_trials": 25}
    lp_only = perceptron.separability_sweep(**kwargs, bias=True, max_epochs=1)
    mixed = perceptron.separability_sweep(**kwargs, bias=True, max_epochs=100)
    assert lp_only.n_certified.sum() == 0
    assert mixed.n_certified.sum() > 50
    np.testing.assert_array_equal(mixed.separable, lp_only.separable)
    assert 0 < lp_only.separable.mean() < 1
    np.testing.assert_array_equal(lp_only.cover, [[perceptron.cover_probability(int(p), n + 1) for p in row]
                                                  for n, row in zip((6, 9), lp_only.p)])
    # a new key, or other sizes with the same maxima, reuse the compiled sweep
    compiled = capacity._sweep_jit._cache_size()
    perceptron.separability_sweep(**{**kwargs, "key": jax.random.key(6)}, bias=True, max_epochs=100)
    perceptron.separability_sweep(**{**kwargs, "n": (9, 7), "alphas": (3.0, 1.0, 0.5, 2.5)}, bias=True, max_epochs=100)
    assert capacity._sweep_jit._cache_size() == compiled


def test_sweep_with_bias_matches_cover_in_n_plus_one():
    """With a bias the perceptron is homogeneous in N + 1 dimensions."""
    r = perceptron.separability_sweep(jax.random.key(7), 20, COVER_ALPHAS, 200, bias=True)
    assert r.n.tolist() == [20] and r.p.tolist() == [[35, 40, 45]]
    np.testing.assert_allclose(r.cover, [[perceptron.cover_probability(p, 21) for p in (35, 40, 45)]])
    bonferroni, chi2 = cover_pvalues(r, r.cover)
    assert bonferroni >= ALPHA and chi2 >= ALPHA, (bonferroni, chi2, r.fraction, r.cover)


@pytest.mark.slow
@pytest.mark.parametrize("bias", [False, True])
def test_sweep_matches_cover_many_trials(bias):
    """1,000 trials per load at N = 20, 30, 50: binomial errors of ~0.015, so
    a deviation of ±1 patterns from general position would show if it
    mattered at these sizes."""
    alphas = (1.5, 1.75, 2.0, 2.25, 2.5)
    r = perceptron.separability_sweep(jax.random.key(99), (20, 30, 50), alphas, 1000, bias=bias)
    bonferroni, chi2 = cover_pvalues(r, r.cover)
    assert bonferroni >= ALPHA and chi2 >= ALPHA, (bonferroni, chi2, r.fraction, r.cover)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"key": 0}, "key must be a JAX PRNG key"),
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": 2.5}, "n must be an integer >= 1"),
        ({"n": []}, "n must be an integer >= 1 or a non-empty sequence"),
        ({"n": [10, 0]}, "n must be an integer >= 1"),
        ({"alphas": [1.0, -1.0]}, "alphas must be finite numbers > 0"),
        ({"alphas": [0.0]}, "alphas must be finite numbers > 0"),
        ({"alphas": [np.nan]}, "alphas must be finite numbers > 0"),
        ({"alphas": [[1.0, 2.0]]}, "alphas must be a number or a non-empty 1-D sequence"),
        ({"alphas": []}, "alphas must be a number or a non-empty 1-D sequence"),
        ({"alphas": "two"}, "alphas must be a number or a 1-D sequence of numbers"),
        ({"alphas": [0.01]}, r"alphas must give at least one pattern, round\(alpha N\) >= 1"),
        ({"n_trials": 0}, "n_trials must be an integer >= 1"),
        ({"bias": 1}, "bias must be True or False"),
        ({"max_epochs": 0}, "max_epochs must be an integer >= 1"),
    ],
)
def test_sweep_bad_input(kwargs, match):
    args = {"key": jax.random.key(0), "n": 10, "alphas": [1.0, 2.0], "n_trials": 4}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        perceptron.separability_sweep(**args)
