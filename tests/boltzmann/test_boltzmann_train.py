"""Tests of jaxstat.boltzmann.train: the CD/PCD gradient and training by fit.

The gradient test compares autodiff with the textbook statistics on the same
negative samples (to float tolerance). The training tests use a small known
distribution (8 visible units, so log Z and the true log-probabilities are
exact) and require that training raises the exact log-likelihood of
held-out samples by more than 4 standard errors of the paired difference,
and that it stays below the true distribution's (Gibbs' inequality).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxstat.boltzmann import base_rate_bias, log_likelihood, rbm
from jaxstat.boltzmann.contrastive import cd_gradient, contrastive_loss
from jaxstat.boltzmann.train import FitResult, _with_decay, fit

N_VISIBLE = 8
FLIP = 0.1  # each pixel of a prototype flips with this probability
PROTOTYPES = np.array(
    [[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0]], dtype=np.float32
)


def _draw(rng, n):
    """n samples of the mixture: a uniformly chosen prototype with independent bit flips."""
    proto = PROTOTYPES[rng.integers(len(PROTOTYPES), size=n)]
    return np.abs(proto - (rng.random(proto.shape) < FLIP)).astype(np.float32)


def _true_log_p(v):
    """Exact log-probability of each row of v under the mixture."""
    d = np.abs(v[:, None, :] - PROTOTYPES[None]).sum(-1)  # (n, n_prototypes) Hamming distances
    log_terms = d * np.log(FLIP) + (N_VISIBLE - d) * np.log1p(-FLIP) - np.log(len(PROTOTYPES))
    return np.logaddexp.reduce(log_terms, axis=1)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return _draw(rng, 600), _draw(rng, 4000)


# --------------------------------------------------------------------------- #
# the gradient
# --------------------------------------------------------------------------- #
def _textbook(params, v, v_model):
    """<v h>_data - <v h>_model etc., with h replaced by p(h|v) (Rao-Blackwellised)."""
    p_data = jax.nn.sigmoid(v @ params.W + params.b)
    p_model = jax.nn.sigmoid(v_model @ params.W + params.b)
    dW = v.T @ p_data / len(v) - v_model.T @ p_model / len(v_model)
    da = v.mean(0) - v_model.mean(0)
    db = p_data.mean(0) - p_model.mean(0)
    return dW, da, db


@pytest.mark.parametrize("chains", [None, 5])
def test_autodiff_gradient_is_the_textbook_form(chains):
    params = rbm(jax.random.key(0), 6, 4, scale=0.5)._replace(b=jnp.linspace(-1, 1, 4), a=jnp.linspace(1, -1, 6))
    v = jax.random.bernoulli(jax.random.key(1), 0.4, (7, 6)).astype(jnp.float32)
    start = None if chains is None else jax.random.bernoulli(jax.random.key(2), 0.5, (chains, 6)).astype(jnp.float32)
    grads, v_model = cd_gradient(jax.random.key(3), params, v, k=2, chains=start)
    assert v_model.shape == (7 if chains is None else chains, 6)
    assert set(np.unique(np.asarray(v_model))) <= {0.0, 1.0}
    dW, da, db = _textbook(params, v, v_model)
    # The update descends the loss: minus the gradient is the likelihood ascent direction.
    np.testing.assert_allclose(-grads.W, dW, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(-grads.a, da, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(-grads.b, db, rtol=1e-5, atol=1e-6)
    # and it is jax.grad of the public surrogate loss
    ref = jax.grad(contrastive_loss)(params, v, v_model)
    for got, want in zip(grads, ref):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_weight_decay_acts_on_weights_only():
    params = rbm(jax.random.key(0), 5, 3, scale=1.0, visible_bias=jnp.ones(5))._replace(b=jnp.ones(3))
    opt = _with_decay(optax.sgd(0.1), 0.5)
    zero = jax.tree.map(jnp.zeros_like, params)
    updates, _ = opt.update(zero, opt.init(params), params)
    np.testing.assert_allclose(updates.W, -0.1 * 0.5 * params.W, rtol=1e-6)
    assert float(jnp.abs(updates.a).max()) == 0.0 and float(jnp.abs(updates.b).max()) == 0.0


# --------------------------------------------------------------------------- #
# training raises the exact likelihood
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("persistent", [False, True], ids=["cd1", "pcd"])
def test_training_increases_exact_log_likelihood(data, persistent):
    train, test = data
    p0 = rbm(jax.random.key(0), N_VISIBLE, 4, visible_bias=base_rate_bias(train))
    result = fit(jax.random.key(1), p0, train, n_epochs=20, batch_size=20, persistent=persistent,
                 optimizer=optax.sgd(0.1, momentum=0.5))
    assert isinstance(result, FitResult)
    before = np.asarray(log_likelihood(p0, test, per_sample=True), np.float64)
    after = np.asarray(log_likelihood(result.params, test, per_sample=True), np.float64)
    gain = after - before
    stderr = gain.std(ddof=1) / np.sqrt(len(gain))
    true = _true_log_p(test)
    assert gain.mean() > 4 * stderr
    # Learning, not a nudge: at least half the gap to the true distribution
    # closes (a deliberately loose bar: 20 epochs close most of it).
    assert gain.mean() > 0.5 * (true.mean() - before.mean())
    # Gibbs' inequality: no model beats the true distribution's mean log p, up to noise.
    excess = after - true
    assert excess.mean() < 4 * excess.std(ddof=1) / np.sqrt(len(excess))


def test_fit_history_chains_and_resume(data):
    train, _ = data
    p0 = rbm(jax.random.key(0), N_VISIBLE, 3)
    observe = lambda p: {"w": jnp.abs(p.W).sum()}
    r = fit(jax.random.key(1), p0, train, n_epochs=2, batch_size=50, n_chains=7, observe=observe)
    assert r.history["w"].shape == (2,)
    assert r.chains.shape == (7, N_VISIBLE) and r.params.W.dtype == jnp.float32
    again = fit(jax.random.key(2), r.params, train, n_epochs=1, batch_size=50, chains=r.chains,
                opt_state=r.opt_state, observe=observe)
    assert again.chains.shape == (7, N_VISIBLE) and again.history["w"].shape == (1,)
    assert bool(jnp.all(jnp.isfinite(again.params.W)))


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_epochs": 0}, "n_epochs must be an integer >= 1; got 0"),
        ({"n_epochs": 1, "k": 0}, "k must be an integer >= 1; got 0"),
        ({"n_epochs": 1, "batch_size": 31}, r"batch_size must be <= the number of samples in data \(30\); got 31"),
        ({"n_epochs": 1, "batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"n_epochs": 1, "weight_decay": -1.0}, "weight_decay must be a finite number >= 0"),
        ({"n_epochs": 1, "persistent": False, "n_chains": 4}, "n_chains and chains are for persistent=True"),
        ({"n_epochs": 1, "n_chains": 0}, "n_chains must be an integer >= 1"),
        ({"n_epochs": 1, "optimizer": "sgd"}, "optimizer must be an optax GradientTransformation"),
        ({"n_epochs": 1, "persistent": 1}, "persistent must be True"),
        ({"n_epochs": 1, "chains": jnp.zeros((3, 5))}, r"chains must have shape \(\.\.\., n_visible\)"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, match):
    p0 = rbm(jax.random.key(0), 4, 2)
    data = jnp.ones((30, 4))
    with pytest.raises(ValueError, match=match):
        fit(jax.random.key(1), p0, data, **kwargs)


@pytest.mark.parametrize(
    "data, match",
    [
        (jnp.full((10, 4), 0.5), "data must contain only 0 and 1"),
        (jnp.ones((10, 5)), r"data must have shape \(\.\.\., n_visible\) with n_visible = 4"),
        (jnp.ones((2, 10, 4)), r"data must have shape \(n_samples, n_visible\)"),
    ],
)
def test_fit_rejects_bad_data(data, match):
    with pytest.raises(ValueError, match=match):
        fit(jax.random.key(1), rbm(jax.random.key(0), 4, 2), data, n_epochs=1, batch_size=2)


def test_cd_gradient_rejects_bad_arguments():
    p = rbm(jax.random.key(0), 4, 2)
    with pytest.raises(ValueError, match="k must be an integer >= 1; got 0"):
        cd_gradient(jax.random.key(1), p, jnp.ones((3, 4)), k=0)
    with pytest.raises(ValueError, match="v must contain only 0 and 1"):
        cd_gradient(jax.random.key(1), p, jnp.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
        cd_gradient(0, p, jnp.ones((3, 4)))


def test_gaussian_rbm_gradient_and_training():
    """Gaussian-Bernoulli units (sigma trained too): the fast gradient is jax.grad of the public loss."""
    params = rbm(jax.random.key(0), 5, 3, kind="gaussian", scale=0.3)
    v = jax.random.normal(jax.random.key(1), (6, 5))
    grads, v_model = cd_gradient(jax.random.key(2), params, v, k=1)
    ref = jax.grad(contrastive_loss)(params, v, v_model)
    for got, want in zip(grads, ref):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    r = fit(jax.random.key(3), params, v, n_epochs=2, batch_size=3)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in r.params)
