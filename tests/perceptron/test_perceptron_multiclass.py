"""One perceptron per class: training, prediction and validation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat import perceptron


def clusters(rng, n_per_class, n_classes=4, n=6, spread=0.5):
    """Gaussian clusters around 5 e_c: class c is cut off from the rest by
    the plane x_c = 2.5, five standard deviations from its centre."""
    centres = 5.0 * np.eye(n)[:n_classes]
    labels = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[labels] + spread * rng.normal(size=(len(labels), n))
    order = rng.permutation(len(labels))
    return x[order].astype(np.float32), labels[order]


def test_separates_well_separated_clusters():
    rng = np.random.default_rng(0)
    x, labels = clusters(rng, 30)
    # every class is exactly separable from the rest (decided by the LP) ...
    for c in range(4):
        assert perceptron.linearly_separable(x, np.where(labels == c, 1, -1))
    result = perceptron.train_multiclass(x, labels, max_epochs=200)
    w, b, errors = result
    assert w.shape == (4, 6) and b.shape == (4,) and errors.shape == (4, 200)
    # ... so every perceptron converges, and then each sample scores > 0 only
    # for its own class: the argmax is right on every training sample
    assert bool(jnp.all(result.converged))
    assert np.array_equal(np.asarray(perceptron.predict_multiclass(w, b, x)), labels)
    x_new, labels_new = clusters(rng, 100)
    accuracy = np.mean(np.asarray(perceptron.predict_multiclass(w, b, x_new)) == labels_new)
    # fresh points of classes five standard deviations from every cut: a point is misclassified
    # with probability ~Phi(-5) ~ 3e-7 per plane, so 3 errors in 100 is a < 1e-12 event
    assert accuracy >= 0.98, accuracy


@pytest.mark.parametrize("pocket", [False, True])
def test_each_class_is_the_binary_perceptron(pocket):
    """The vmapped one-vs-rest run is C independent calls of train: same
    updates in the same order, so the same weights (integer-valued data keep
    the arithmetic exact)."""
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, size=(24, 3)).astype(np.float32)
    labels = rng.integers(0, 3, size=24)
    multi = perceptron.train_multiclass(x, labels, max_epochs=40, pocket=pocket)
    for c in range(3):
        single = perceptron.train(x, np.where(labels == c, 1, -1), max_epochs=40, pocket=pocket)
        np.testing.assert_array_equal(multi.weights[c], single.w)
        assert float(multi.biases[c]) == float(single.b)
        np.testing.assert_array_equal(multi.errors[c], single.errors)


def test_n_classes_adds_empty_classes_and_predict_shapes():
    x = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], np.float32)
    result = perceptron.train_multiclass(x, [0, 1, 2], n_classes=5, max_epochs=50)
    w, b, _ = result
    assert w.shape == (5, 2) and bool(jnp.all(result.converged))
    assert perceptron.predict_multiclass(w, b, x).tolist() == [0, 1, 2]
    # a class without samples learns "never me": its one update, on the first
    # sample (the origin), moves only the bias, below zero
    assert bool(jnp.all(w[3:] == 0)) and bool(jnp.all(b[3:] < 0))
    np.testing.assert_array_equal(result.errors[3:, :2], [[1, 0], [1, 0]])
    pred = perceptron.predict_multiclass(w, b, jnp.zeros((2, 7, 2)))
    assert pred.shape == (2, 7) and pred.dtype == jnp.int32


@pytest.mark.parametrize(
    "x, labels, kwargs, match",
    [
        (np.ones((3, 2)), [0.0, 1.0, 1.0], {}, r"labels must be integers in \[0, n_classes\); got dtype float"),
        (np.ones((3, 2)), [0, -1, 1], {}, r"labels must be integers in \[0, n_classes\); got -1"),
        (np.ones((3, 2)), [0, 3, 1], {"n_classes": 3}, r"in \[0, n_classes\) = \[0, 3\); got 3"),
        (np.ones((3, 2)), [0, 1], {}, r"labels must have shape \(P,\) = \(3,\)"),
        (np.ones((3, 2)), [[0, 1, 1]], {}, r"labels must have shape \(P,\)"),
        (np.ones((3, 2)), [True, False, True], {}, "labels must be integers"),
        (np.ones((3, 2)), [0, 0, 0], {}, "labels must hold at least two classes"),
        (np.ones((3, 2)), [0, 0, 0], {"n_classes": 1}, "n_classes must be an integer >= 2"),
        (np.ones(3), [0, 1, 1], {}, r"x must have shape \(P, N\)"),
        (np.full((3, 2), np.inf), [0, 1, 1], {}, "x must be finite"),
        (np.ones((3, 2)), [0, 1, 1], {"max_epochs": 0}, "max_epochs must be an integer >= 1"),
        (np.ones((3, 2)), [0, 1, 1], {"lr": 0.0}, "lr must be a finite number > 0"),
        (np.ones((3, 2)), [0, 1, 1], {"key": 7}, "key"),
        (np.ones((3, 2)), [0, 1, 1], {"pocket": None}, "pocket must be True or False"),
    ],
)
def test_train_multiclass_bad_input(x, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        perceptron.train_multiclass(x, labels, **kwargs)


def test_train_multiclass_refuses_traced_labels():
    with pytest.raises(ValueError, match="labels must be a concrete array"):
        jax.jit(lambda l: perceptron.train_multiclass(jnp.ones((3, 2)), l).weights)(jnp.array([0, 1, 1]))


def test_predict_multiclass_bad_input():
    w, b, x = jnp.ones((3, 2)), jnp.zeros(3), jnp.ones((5, 2))
    with pytest.raises(ValueError, match=r"w must have shape \(C, N\)"):
        perceptron.predict_multiclass(w[0], b, x)
    with pytest.raises(ValueError, match=r"b must have shape \(C,\) = \(3,\)"):
        perceptron.predict_multiclass(w, jnp.zeros(2), x)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., N\) with N = w.shape\[1\] = 2"):
        perceptron.predict_multiclass(w, b, jnp.ones((5, 3)))


def test_one_perceptron_per_class_on_the_uci_digits():
    """The course notes' multiclass scheme on real data: 10 one-vs-rest perceptrons on the 8x8 digits.

    Held-out accuracy of such a linear classifier is about 0.95; 0.90 leaves room for the split
    (397 test images: a binomial standard error of about 0.011 at 0.95, so 0.90 is 4.5 standard
    errors below: false-failure probability ~3e-6)."""
    from jaxstat import datasets

    x, labels = datasets.digits()
    order = np.asarray(jax.random.permutation(jax.random.key(0), x.shape[0]))
    train, test = order[:1400], order[1400:]
    r = perceptron.train_multiclass(x[train], labels[train], n_classes=10, max_epochs=20)
    predicted = perceptron.predict_multiclass(r.weights, r.biases, x[test])
    accuracy = float(jnp.mean(predicted == labels[test]))
    assert accuracy > 0.90, accuracy
    assert predicted.dtype == jnp.int32 and predicted.shape == (397,)
