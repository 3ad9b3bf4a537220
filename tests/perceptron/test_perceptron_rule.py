"""Rosenblatt's rule, the pocket, predictions and the padding mask; the fruit data."""

from __future__ import annotations

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
        ({"n": 1}, "n must be an integer >= 2"),
        ({"n": 2.5}, "n must be an integer"),
        ({"n": 10, "overlap": -0.1}, r"overlap must be a number in \[0, 1\]"),
        ({"n": 10, "overlap": 1.5}, r"overlap must be a number in \[0, 1\]"),
        ({"n": 3, "overlap": 0.5}, "n must be >= 4 when overlap > 0"),
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
@pytest.mark.parametrize("key", [None, jax.random.key(2)], ids=["in order", "shuffled"])
def test_converges_on_separable_fruit(key):
    x, y = datasets.fruit(jax.random.key(1), 101)  # 101 as above: one compile of fruit for both
    result = perceptron.train(x, y, max_epochs=500, key=key)  # a key turns shuffling on
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
    x, y = datasets.fruit(jax.random.key(4), 101)
    plain = perceptron.train(x, y, max_epochs=500)
    pocket = perceptron.train(x, y, max_epochs=500, pocket=True)
    assert bool(pocket.converged)
    assert int(perceptron.training_errors(pocket.w, pocket.b, x, y)) == 0
    np.testing.assert_array_equal(plain.errors, pocket.errors)


def test_without_bias_the_boundary_goes_through_the_origin():
    # Two points on a line on the same side of 0 with opposite labels: a
    # threshold between them separates them, no hyperplane through 0 does.
    x, y = np.array([[1.0], [2.0]]), np.array([-1, 1])
    assert bool(perceptron.train(x, y, max_epochs=50).converged)
    through_origin = perceptron.train(x, y, max_epochs=50, bias=False)
    assert not bool(through_origin.converged) and float(through_origin.b) == 0.0
    assert not perceptron.linearly_separable(x, y, bias=False)
    # labels of a teacher through the origin: separable without a bias
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5))
    y = np.where(x @ rng.normal(size=5) > 0, 1, -1)
    result = perceptron.train(x, y, max_epochs=1000, bias=False)
    assert bool(result.converged) and float(result.b) == 0.0
    assert bool(jnp.all(y * (x @ result.w) > 0))


@pytest.mark.parametrize("bias", [False, True])
def test_padding_rows_and_columns_changes_nothing(bias):
    """The sweeps pad every problem to (P_max, N_max): zero columns, and zero
    rows that are masked. The padded run must be the unpadded run exactly."""
    from jaxstat.perceptron._core import train_impl

    rng = np.random.default_rng(7)
    x = rng.choice([-1.0, 1.0], size=(9, 6)).astype(np.float32)
    y = rng.choice([-1.0, 1.0], size=9).astype(np.float32)
    padded = np.zeros((13, 10), np.float32)
    padded[:9, :6] = x
    y_padded = np.concatenate([y, np.ones(4, np.float32)])  # labels of masked rows are irrelevant
    mask = np.arange(13) < 9
    one = jnp.float32(1)
    args = {"max_epochs": 60, "pocket": False, "shuffle": False, "bias": bias}
    ref = train_impl(jnp.asarray(x), jnp.asarray(y), jnp.ones(9, bool), one, jax.random.key(0), **args)
    pad = train_impl(jnp.asarray(padded), jnp.asarray(y_padded), jnp.asarray(mask), one, jax.random.key(0), **args)
    np.testing.assert_array_equal(pad.errors, ref.errors)
    np.testing.assert_array_equal(pad.w[:6], ref.w)
    np.testing.assert_array_equal(pad.w[6:], 0.0)
    assert float(pad.b) == float(ref.b)
    assert int(ref.errors[0]) > 0  # the run did something


def test_train_vmaps_and_keeps_dtype():
    keys = jax.random.split(jax.random.key(5), 4)
    xs, ys = jax.vmap(lambda k: datasets.fruit(k, 30))(keys)
    results = jax.vmap(lambda x, y: perceptron.train(x, y, max_epochs=300))(xs, ys)
    assert results.w.shape == (4, 2) and results.errors.shape == (4, 300)
    assert bool(jnp.all(results.converged))
    assert results.w.dtype == jnp.float32 and results.b.dtype == jnp.float32


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
        (XOR_X, XOR_Y, {"max_epochs": 0}, "max_epochs must be an integer >= 1"),
        (XOR_X, XOR_Y, {"lr": -1.0}, "lr must be a finite number > 0"),
        (XOR_X, XOR_Y, {"key": 7}, "key"),
        (XOR_X, XOR_Y, {"bias": 1}, "bias must be True or False"),
        (XOR_X, XOR_Y, {"pocket": "yes"}, "pocket must be True or False"),
        (np.full((4, 2), np.nan), XOR_Y, {}, "x must be finite"),
    ],
)
def test_train_bad_input(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        perceptron.train(x, y, **kwargs)


def test_predict_bad_input():
    with pytest.raises(ValueError, match="x must have shape"):
        perceptron.predict(jnp.ones(3), 0.0, XOR_X)
    with pytest.raises(ValueError, match="b must be a scalar"):
        perceptron.predict(jnp.ones(2), jnp.zeros(2), XOR_X)
