"""Bad input to every public function of jaxstat.perceptron is never silent.

Called directly, each case raises a ValueError whose message names the argument.
Under jax.jit / jax.vmap, where labels and inputs are traced and cannot raise,
invalid values make the learned weights NaN, never a plausible hyperplane.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat import perceptron

KEY = jax.random.key(0)
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], np.float32)
Y = np.array([-1, -1, -1, 1])
W, B = np.array([1.0, 1.0], np.float32), -1.5
LABELS = np.array([0, 1, 2, 1])

CASES = [
    # train
    ("train x rank 1", lambda: perceptron.train(X[0], Y[:1]), "x"),
    ("train x rank 3", lambda: perceptron.train(X[None], Y), "x"),
    ("train x empty", lambda: perceptron.train(np.ones((0, 2)), np.ones(0)), "x"),
    ("train x NaN", lambda: perceptron.train(np.where(X > 0, np.nan, X), Y), "x"),
    ("train x complex", lambda: perceptron.train(X.astype(np.complex64), Y), "x"),
    ("train x float16", lambda: perceptron.train(X.astype(np.float16), Y), "x"),
    ("train y 0/1", lambda: perceptron.train(X, (Y + 1) // 2), "y"),
    ("train y length", lambda: perceptron.train(X, Y[:3]), "y"),
    ("train y 2-D", lambda: perceptron.train(X, Y[:, None]), "y"),
    ("train lr 0", lambda: perceptron.train(X, Y, lr=0.0), "lr"),
    ("train lr < 0", lambda: perceptron.train(X, Y, lr=-1.0), "lr"),
    ("train lr NaN", lambda: perceptron.train(X, Y, lr=np.nan), "lr"),
    ("train lr vector", lambda: perceptron.train(X, Y, lr=np.ones(2)), "lr"),
    ("train max_epochs 0", lambda: perceptron.train(X, Y, max_epochs=0), "max_epochs"),
    ("train max_epochs float", lambda: perceptron.train(X, Y, max_epochs=10.5), "max_epochs"),
    ("train pocket text", lambda: perceptron.train(X, Y, pocket="yes"), "pocket"),
    ("train int key", lambda: perceptron.train(X, Y, key=3), "key"),
    ("train raw uint32 key of the wrong shape", lambda: perceptron.train(X, Y, key=jnp.zeros(3, jnp.uint32)), "key"),
    ("train bias None", lambda: perceptron.train(X, Y, bias=None), "bias"),
    # predict, training_errors
    ("predict w rank 2", lambda: perceptron.predict(W[None], B, X), "w"),
    ("predict x width", lambda: perceptron.predict(W, B, np.ones((3, 5))), "x"),
    ("predict b vector", lambda: perceptron.predict(W, np.zeros(2), X), "b"),
    ("training_errors w column", lambda: perceptron.training_errors(np.ones((2, 1)), 0.0, X, Y), "w"),
    ("training_errors b vector", lambda: perceptron.training_errors(W, np.zeros(4), X, Y), "b"),
    ("training_errors y 0/1", lambda: perceptron.training_errors(W, B, X, (Y + 1) // 2), "y"),
    ("training_errors x NaN", lambda: perceptron.training_errors(W, B, X * np.nan, Y), "x"),
    # capacity
    ("linearly_separable y", lambda: perceptron.linearly_separable(X, [0, 0, 0, 1]), "y"),
    ("linearly_separable bias", lambda: perceptron.linearly_separable(X, Y, bias="no"), "bias"),
    ("linearly_separable x", lambda: perceptron.linearly_separable(X[:, 0], Y), "x"),
    ("cover P 0", lambda: perceptron.cover_probability(0, 3), "P"),
    ("cover N 0", lambda: perceptron.cover_probability(5, 0), "N"),
    ("cover P float", lambda: perceptron.cover_probability(5.5, 3), "P"),
    ("cover exact text", lambda: perceptron.cover_probability(5, 3, exact="yes"), "exact"),
    ("sweep n 0", lambda: perceptron.separability_sweep(KEY, 0, [1.0], 4), "n"),
    ("sweep n 2-D", lambda: perceptron.separability_sweep(KEY, [[10]], [1.0], 4), "n"),
    ("sweep alphas < 0", lambda: perceptron.separability_sweep(KEY, 10, [-1.0], 4), "alphas"),
    ("sweep alphas tiny", lambda: perceptron.separability_sweep(KEY, 10, [0.01], 4), "alphas"),
    ("sweep n_trials", lambda: perceptron.separability_sweep(KEY, 10, [1.0], 0), "n_trials"),
    ("sweep bias", lambda: perceptron.separability_sweep(KEY, 10, [1.0], 4, bias=2), "bias"),
    ("sweep max_epochs", lambda: perceptron.separability_sweep(KEY, 10, [1.0], 4, max_epochs=0), "max_epochs"),
    ("sweep key", lambda: perceptron.separability_sweep(10, [1.0], 4, KEY), "key"),
    # teacher-student and the replica curves
    ("teacher n 0", lambda: perceptron.teacher_student(KEY, 0, [1.0], 4), "n"),
    ("teacher alphas < 0", lambda: perceptron.teacher_student(KEY, 10, [-0.5], 4), "alphas"),
    ("teacher alphas NaN", lambda: perceptron.teacher_student(KEY, 10, [np.nan], 4), "alphas"),
    ("teacher n_trials", lambda: perceptron.teacher_student(KEY, 10, [1.0], 0), "n_trials"),
    ("teacher max_epochs", lambda: perceptron.teacher_student(KEY, 10, [1.0], 4, max_epochs=-1), "max_epochs"),
    ("teacher key", lambda: perceptron.teacher_student(1, 10, [1.0], 4), "key"),
    ("gibbs alpha < 0", lambda: perceptron.gibbs_generalization_error(-1.0), "alpha"),
    ("gibbs alpha inf", lambda: perceptron.gibbs_generalization_error(np.inf), "alpha"),
    ("gibbs alpha text", lambda: perceptron.gibbs_generalization_error("x"), "alpha"),
    ("bayes alpha NaN", lambda: perceptron.bayes_generalization_error([0.5, np.nan]), "alpha"),
    # multiclass
    ("multiclass labels float", lambda: perceptron.train_multiclass(X, LABELS.astype(float)), "labels"),
    ("multiclass labels < 0", lambda: perceptron.train_multiclass(X, LABELS - 1), "labels"),
    ("multiclass labels length", lambda: perceptron.train_multiclass(X, LABELS[:3]), "labels"),
    ("multiclass labels >= C", lambda: perceptron.train_multiclass(X, LABELS, n_classes=2), "labels"),
    ("multiclass one class", lambda: perceptron.train_multiclass(X, np.zeros(4, int)), "labels"),
    ("multiclass n_classes 1", lambda: perceptron.train_multiclass(X, LABELS * 0, n_classes=1), "n_classes"),
    ("multiclass x", lambda: perceptron.train_multiclass(X[:, 0], LABELS), "x"),
    ("multiclass lr", lambda: perceptron.train_multiclass(X, LABELS, lr=-0.1), "lr"),
    ("multiclass pocket", lambda: perceptron.train_multiclass(X, LABELS, pocket=None), "pocket"),
    ("predict_multiclass w", lambda: perceptron.predict_multiclass(W, np.zeros(3), X), "w"),
    ("predict_multiclass b", lambda: perceptron.predict_multiclass(np.ones((3, 2)), np.zeros(2), X), "b"),
    ("predict_multiclass x", lambda: perceptron.predict_multiclass(np.ones((3, 2)), np.zeros(3), X[:, :1]), "x"),
]


@pytest.mark.parametrize("name, call, argument", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_value_error_naming_the_argument(name, call, argument):
    with pytest.raises(ValueError, match=rf"\b{argument}\b"):
        call()


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_traced_invalid_labels_inputs_and_lr_give_nan_weights():
    x, y = jnp.asarray(X), jnp.asarray(Y, jnp.float32)
    train = jax.jit(lambda x, y, lr: perceptron.train(x, y, lr=lr, max_epochs=50))
    good = train(x, y, 1.0)
    assert bool(good.converged) and bool(jnp.all(jnp.isfinite(good.w)))
    for args in ((x, (y + 1) / 2, 1.0), (x.at[1, 0].set(jnp.nan), y, 1.0), (x, y, -1.0), (x, y, 0.0)):
        r = train(*args)
        assert bool(jnp.all(jnp.isnan(r.w))) and bool(jnp.isnan(r.b)), args
    # vmapped over data sets: only the invalid one is NaN
    batch = jax.vmap(lambda y: perceptron.train(x, y, max_epochs=50))(jnp.stack([y, (y + 1) / 2]))
    assert bool(jnp.all(jnp.isfinite(batch.w[0]))) and bool(jnp.all(jnp.isnan(batch.w[1])))
