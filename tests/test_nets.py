"""jaxstat.nets: the NNX MLP, the optax training loop and the loss(params) bridge."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.flatten_util import ravel_pytree

from jaxstat.datasets import digits
from jaxstat.nets import batched_loss_fn, loss_fn, mlp, train


@pytest.fixture(scope="module")
def data():
    x, y = digits()
    return x, y


def _np_cross_entropy(logits, y):
    logits = np.asarray(logits, np.float64)
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), np.asarray(y)].mean()


@pytest.mark.parametrize("widths", [(64, 10), (64, 16, 10), (64, 128, 128, 10)])
def test_mlp_shapes_and_layers(widths):
    model = mlp(jax.random.key(0), widths)
    assert model(jnp.zeros((3, widths[0]))).shape == (3, widths[-1])
    params = nnx.split(model, nnx.Param, ...)[1]
    n = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    assert ravel_pytree(params)[0].size == n
    assert [layer.kernel[...].shape for layer in model.layers] == list(zip(widths[:-1], widths[1:]))


def test_mlp_activations_match_a_hand_written_forward_pass():
    x = jax.random.normal(jax.random.key(1), (4, 5))
    for name, fn in [("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0)),
                     ("sigmoid", lambda z: 1 / (1 + np.exp(-z))), (jnp.sin, np.sin)]:
        model = mlp(nnx.Rngs(0), (5, 3, 2), activation=name)
        l1, l2 = model.layers
        h = fn(np.asarray(x) @ np.asarray(l1.kernel[...]) + np.asarray(l1.bias[...]))
        expected = h @ np.asarray(l2.kernel[...]) + np.asarray(l2.bias[...])
        np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)


def test_mlp_bad_input():
    with pytest.raises(ValueError, match="activation"):
        mlp(jax.random.key(0), (4, 2), activation="swish-ish")
    with pytest.raises(ValueError, match="widths"):
        mlp(jax.random.key(0), (4,))
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        mlp(jax.random.key(0), (4, 0))
    with pytest.raises(ValueError, match="key"):
        mlp(3, (4, 2))


def test_full_batch_training_fits_the_digits(data):
    x, y = data
    model = mlp(jax.random.key(0), (64, 32, 10))
    before = np.asarray(model.layers[0].kernel[...]).copy()
    r = train(model, x, y, optax.adam(1e-2), n_epochs=60)
    h = r.history
    assert h.loss.shape == h.accuracy.shape == (60,)
    # a training-quality bar, not a statistical test: full-batch adam on fixed keys is
    # deterministic, and 60 epochs fit the 1,797 training digits almost perfectly; a wrong
    # gradient or a broken update stays near the 0.1 of chance
    assert float(h.accuracy[-1]) > 0.95
    assert float(h.loss[-1]) < float(h.loss[0])
    # the history is the trained model's own full-set loss and accuracy
    logits = r.model(x)
    np.testing.assert_allclose(h.loss[-1], _np_cross_entropy(logits, y), rtol=1e-4)
    assert float(h.accuracy[-1]) == pytest.approx(float(np.mean(np.argmax(logits, 1) == np.asarray(y))))
    np.testing.assert_array_equal(model.layers[0].kernel[...], before)  # the input model is untouched
    assert r.snapshots is None
    # params is the trained model's nnx.Param state: the loss closure at r.params is the last history entry
    f, params = loss_fn(r.model, x, y)
    assert jax.tree.structure(r.params) == jax.tree.structure(params)
    np.testing.assert_allclose(f(r.params), h.loss[-1], rtol=1e-5)


def test_training_continues_from_opt_state(data):
    """Two runs of 3 epochs, the second from the first's params and optimizer state, equal one run of 6."""
    x, y = data
    model = mlp(jax.random.key(0), (64, 10))
    opt = optax.adam(1e-2)
    full = train(model, x, y, opt, n_epochs=6)
    first = train(model, x, y, opt, n_epochs=3)
    second = train(first.model, x, y, opt, n_epochs=3, opt_state=first.opt_state)
    np.testing.assert_allclose(second.history.loss, full.history.loss[3:], rtol=1e-5)
    with pytest.raises(ValueError, match="opt_state"):
        train(model, x, y, optax.sgd(0.1, momentum=0.9), n_epochs=1, opt_state=first.opt_state)


def test_minibatch_training_is_reproducible_and_learns(data):
    x, y = data
    model = mlp(jax.random.key(0), (64, 32, 10), activation="relu")
    r1 = train(model, x, y, optax.sgd(0.1, momentum=0.9), n_epochs=5, batch_size=64, key=jax.random.key(3))
    r2 = train(model, x, y, optax.sgd(0.1, momentum=0.9), n_epochs=5, batch_size=64, key=jax.random.key(3))
    np.testing.assert_array_equal(r1.history.loss, r2.history.loss)
    # training quality on fixed keys (reproducible, asserted just above), not a statistical
    # bound: 5 epochs of momentum SGD reach well above 0.9, chance is 0.1
    assert float(r1.history.accuracy[-1]) > 0.9


def test_minibatches_without_a_key_take_the_samples_in_order(data):
    """Without key= nothing is random: one epoch of in-order minibatches equals hand-rolled SGD steps."""
    x, y = data
    x, y = x[:10], y[:10]
    model = mlp(jax.random.key(0), (64, 10))
    r = train(model, x, y, optax.sgd(0.5), n_epochs=1, batch_size=4)   # batches [0:4], [4:8]; 8, 9 sit out
    f0, p = loss_fn(model, x[:4], y[:4])
    p = jax.tree.map(lambda a, g: a - 0.5 * g, p, jax.grad(f0)(p))
    f1 = loss_fn(model, x[4:8], y[4:8])[0]
    p = jax.tree.map(lambda a, g: a - 0.5 * g, p, jax.grad(f1)(p))
    np.testing.assert_allclose(ravel_pytree(r.params)[0], ravel_pytree(p)[0], rtol=1e-5, atol=1e-6)
    shuffled = train(model, x, y, optax.sgd(0.5), n_epochs=1, batch_size=4, key=jax.random.key(1))
    assert not np.allclose(ravel_pytree(shuffled.params)[0], ravel_pytree(p)[0])


def test_snapshots_record_the_trajectory(data):
    x, y = data
    model = mlp(jax.random.key(0), (64, 10))
    params0 = nnx.split(model, nnx.Param, ...)[1]
    r = train(model, x, y, optax.adam(1e-2), n_epochs=7, snapshot_every=3)
    # epochs 0, 3, 6; the 7th epoch is trained but falls between snapshots
    assert r.snapshots.shape == (3, 650)
    np.testing.assert_array_equal(r.snapshots[0], ravel_pytree(params0)[0])
    r6 = train(model, x, y, optax.adam(1e-2), n_epochs=6, snapshot_every=3)
    final6 = ravel_pytree(nnx.split(r6.model, nnx.Param, ...)[1])[0]
    np.testing.assert_allclose(r6.snapshots[-1], final6, rtol=1e-6)
    np.testing.assert_allclose(r.snapshots[:3], r6.snapshots, rtol=1e-6)
    np.testing.assert_allclose(r.history.loss[:6], r6.history.loss, rtol=1e-6)
    restored = r6.unravel(r6.snapshots[-1])
    assert jax.tree.structure(restored) == jax.tree.structure(params0)


def test_loss_closure_equals_the_models_loss(data):
    x, y = data
    model = mlp(jax.random.key(2), (64, 16, 10))
    f, params = loss_fn(model, x[:300], y[:300])
    np.testing.assert_allclose(f(params), _np_cross_entropy(model(x[:300]), y[:300]), rtol=1e-5)
    # moving the params moves the loss: the closure does not capture the weights
    shifted = jax.tree.map(lambda p: p * 0.0, params)
    np.testing.assert_allclose(f(shifted), np.log(10.0), rtol=1e-6)


@pytest.mark.parametrize("batch_size", [1797, 500])
def test_batched_loss_equals_full_batch_loss(data, batch_size):
    x, y = data
    model = mlp(jax.random.key(4), (64, 16, 10))
    f, params = loss_fn(model, x, y)
    g, params_g = batched_loss_fn(model, x, y, batch_size)
    (vg, gg), (vf, gf) = (jax.jit(jax.value_and_grad(h))(params) for h in (g, f))
    np.testing.assert_allclose(vg, vf, rtol=1e-5)
    np.testing.assert_allclose(ravel_pytree(gg)[0], ravel_pytree(gf)[0],
                               rtol=1e-4, atol=1e-6)


def test_train_and_loss_bad_input(data):
    x, y = data
    model = mlp(jax.random.key(0), (64, 10))
    with pytest.raises(ValueError, match="y must be integer labels"):
        loss_fn(model, x, y.astype(jnp.float32))
    with pytest.raises(ValueError, match="x must be a 2-D"):
        train(model, x[0], y[:1])
    with pytest.raises(ValueError, match="batch_size"):
        train(model, x, y, batch_size=5000, key=jax.random.key(0))
    with pytest.raises(ValueError, match="key"):
        train(model, x, y, batch_size=32, key=0)
    with pytest.raises(ValueError, match="optimizer"):
        train(model, x, y, optimizer="adam")
    with pytest.raises(ValueError, match="n_epochs"):
        train(model, x, y, n_epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        batched_loss_fn(model, x, y, 0)
