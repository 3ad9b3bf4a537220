"""Perceptron training, linear separability and Cover's formula; the fruit data."""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat import datasets, perceptron

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([-1, 1, 1, -1])


# --------------------------------------------------------------------------- #
# fruit data
# --------------------------------------------------------------------------- #
def test_fruit_shapes_ranges_and_story():
    x, y = datasets.fruit(jax.random.key(0), 101)
    assert x.shape == (101, 2) and y.shape == (101,)
    assert x.dtype == jnp.float32 and y.dtype == jnp.int32
    assert int((y == 1).sum()) == 51 and int((y == -1).sum()) == 50
    assert float(x[:, 1].min()) >= 1.0 and float(x[:, 1].max()) <= 10.0
    apples, oranges = x[y == 1], x[y == -1]
    # apples heavier and less sweet, oranges lighter and sweeter
    assert float(apples[:, 0].min()) > float(oranges[:, 0].max())
    assert float(apples[:, 1].mean()) < float(oranges[:, 1].mean())
    assert perceptron.linearly_separable(x, y)


def test_fruit_overlap_is_not_separable():
    for seed, overlap in [(0, 0.05), (1, 0.3), (2, 1.0)]:
        x, y = datasets.fruit(jax.random.key(seed), 40, overlap=overlap)
        assert not perceptron.linearly_separable(x, y)
    x, y = datasets.fruit(jax.random.key(3), 4, overlap=0.01)
    assert not perceptron.linearly_separable(x, y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=1), "n must be an integer >= 2"),
        (dict(n=2.5), "n must be an integer"),
        (dict(n=10, overlap=-0.1), r"overlap must be a number in \[0, 1\]"),
        (dict(n=10, overlap=1.5), r"overlap must be a number in \[0, 1\]"),
        (dict(n=3, overlap=0.5), "n must be >= 4 when overlap > 0"),
    ],
)
def test_fruit_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.fruit(jax.random.key(0), **kwargs)


def test_fruit_bad_key():
    with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
        datasets.fruit(0, 10)


# --------------------------------------------------------------------------- #
# training
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shuffle", [False, True])
def test_converges_on_separable_fruit(shuffle):
    x, y = datasets.fruit(jax.random.key(1), 200)
    result = perceptron.train(x, y, max_epochs=500, shuffle=shuffle, key=jax.random.key(2))
    w, b, errors = result
    assert bool(result.converged)
    n_epochs = int(result.n_epochs)
    assert errors.shape == (500,)
    assert int(errors[n_epochs - 1]) == 0 and bool(jnp.all(errors[: n_epochs - 1] > 0))
    assert bool(jnp.all(errors[n_epochs:] == 0))
    # every point strictly on its own side of w . x + b = 0
    assert bool(jnp.all(y * (x @ w + b) > 0))
    assert int(perceptron.training_errors(w, b, x, y)) == 0
    assert bool(jnp.all(perceptron.predict(w, b, x) == y))
    # the boundary is a weight threshold: apples (+1) on the heavy side
    assert float(w[0]) > 0


def test_reports_xor_honestly():
    result = perceptron.train(XOR_X, XOR_Y, max_epochs=200)
    assert not bool(result.converged)
    assert int(result.n_epochs) == 200
    assert bool(jnp.all(result.errors > 0))
    assert int(perceptron.training_errors(result.w, result.b, XOR_X, XOR_Y)) > 0
    assert not perceptron.linearly_separable(XOR_X, XOR_Y)


def test_non_separable_fruit_not_converged_and_pocket_at_least_as_good():
    for seed in range(3):
        x, y = datasets.fruit(jax.random.key(10 + seed), 120, overlap=0.2)
        last = perceptron.train(x, y, max_epochs=100)
        pocket = perceptron.train(x, y, max_epochs=100, pocket=True)
        assert not bool(last.converged) and not bool(pocket.converged)
        e_last = int(perceptron.training_errors(last.w, last.b, x, y))
        e_pocket = int(perceptron.training_errors(pocket.w, pocket.b, x, y))
        assert 0 < e_pocket <= e_last
        # the pocket is never worse than the best end-of-epoch count seen
        assert e_pocket <= int(last.errors.min())


def test_pocket_equals_plain_on_separable_data():
    x, y = datasets.fruit(jax.random.key(4), 60)
    plain = perceptron.train(x, y)
    pocket = perceptron.train(x, y, pocket=True)
    assert bool(pocket.converged)
    assert int(perceptron.training_errors(pocket.w, pocket.b, x, y)) == 0
    np.testing.assert_array_equal(plain.errors, pocket.errors)


def test_train_vmaps_and_keeps_dtype():
    keys = jax.random.split(jax.random.key(5), 4)
    xs, ys = jax.vmap(lambda k: datasets.fruit(k, 30))(keys)
    results = jax.vmap(lambda x, y: perceptron.train(x, y, max_epochs=300))(xs, ys)
    assert results.w.shape == (4, 2) and results.errors.shape == (4, 300)
    assert bool(jnp.all(results.converged))
    assert results.w.dtype == jnp.float32 and results.b.dtype == jnp.float32


# --------------------------------------------------------------------------- #
# Cover's formula
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


def test_separability_fraction_matches_cover():
    """Random ±1 patterns, random ±1 labels, N = 20, a perceptron *with* bias.

    With a bias the perceptron is homogeneous in N + 1 dimensions, so the
    prediction is cover_probability(P, N + 1). Separability is decided by the
    linear program; the tolerance is 4 binomial standard errors of 200 trials.
    """
    n, trials = 20, 200
    rng = np.random.default_rng(20240601)
    for p in (30, 40, 50):
        x = rng.choice([-1.0, 1.0], size=(trials, p, n))
        y = rng.choice([-1, 1], size=(trials, p))
        separable = np.array([perceptron.linearly_separable(x[t], y[t]) for t in range(trials)])
        expected = perceptron.cover_probability(p, n + 1)
        stderr = math.sqrt(expected * (1 - expected) / trials)
        assert abs(separable.mean() - expected) <= 4 * stderr, (p, separable.mean(), expected)
        # a converged perceptron is a certificate: it never contradicts the LP
        results = jax.vmap(lambda xx, yy: perceptron.train(xx, yy, max_epochs=100))(
            jnp.asarray(x, jnp.float32), jnp.asarray(y)
        )
        converged = np.asarray(results.converged)
        assert not np.any(converged & ~separable)


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "x, y, kwargs, match",
    [
        (XOR_X, [0, 1, 1, 0], {}, "y must contain only labels -1 and \\+1"),
        (XOR_X, [-1, 1, 1], {}, r"y must have shape \(P,\) = \(4,\)"),
        (XOR_X, [[-1, 1, 1, -1]], {}, r"y must have shape \(P,\)"),
        (XOR_X[0], [1, -1], {}, r"x must have shape \(P, N\)"),
        (XOR_X[None], XOR_Y, {}, r"x must have shape \(P, N\)"),
        (XOR_X, XOR_Y, dict(max_epochs=0), "max_epochs must be an integer >= 1"),
        (XOR_X, XOR_Y, dict(lr=-1.0), "lr must be a finite number > 0"),
        (XOR_X, XOR_Y, dict(shuffle=True), "key must be a JAX PRNG key"),
        (np.full((4, 2), np.nan), XOR_Y, {}, "x must be finite"),
    ],
)
def test_train_bad_input(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        perceptron.train(x, y, **kwargs)


def test_other_bad_input():
    with pytest.raises(ValueError, match="y must contain only labels"):
        perceptron.linearly_separable(XOR_X, [2, 1, 1, 2])
    with pytest.raises(ValueError, match=r"y must have shape \(P,\)"):
        perceptron.linearly_separable(XOR_X, [1, -1])
    with pytest.raises(ValueError, match="x must have shape"):
        perceptron.predict(jnp.ones(3), 0.0, XOR_X)
    with pytest.raises(ValueError, match="P must be an integer >= 1"):
        perceptron.cover_probability(0, 3)
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        perceptron.cover_probability(3, 1.5)
