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
    # A paired mean over the held-out samples is near-normal: "gain > 4 stderr" fails an RBM
    # that does not learn with probability 3e-5 (one-sided), and a learning one essentially never.
    assert gain.mean() > 4 * stderr
    # Learning, not a nudge: at least half the gap to the true distribution
    # closes (a deliberately loose bar: 20 epochs close most of it). Not a statistical
    # test: the exact likelihoods of a fixed-key run; it fails for a wrong or weak gradient.
    assert gain.mean() > 0.5 * (true.mean() - before.mean())
    # Gibbs' inequality: no model beats the true distribution's mean log p, up to noise
    # (one-sided 4 stderr of the paired held-out mean: false failure 3e-5).
    excess = after - true
    assert excess.mean() < 4 * excess.std(ddof=1) / np.sqrt(len(excess))


@pytest.mark.parametrize("persistent", [True, False], ids=["pcd", "cd1"])
def test_fit_resume_is_bit_identical(data, persistent):
    """Two epochs, then one more from the returned chains and optimizer state (first_epoch=2),
    give exactly the parameters, chains, optimizer state and history of three epochs in one call."""
    train, _ = data
    p0 = rbm(jax.random.key(0), N_VISIBLE, 3)
    observe = lambda p: {"w": jnp.abs(p.W).sum()}  # one object: one compilation
    kw = {"batch_size": 50, "persistent": persistent, "optimizer": optax.sgd(0.1, momentum=0.5), "observe": observe}
    start = {"n_chains": 7} if persistent else {}
    full = fit(jax.random.key(1), p0, train, n_epochs=3, **start, **kw)
    first = fit(jax.random.key(1), p0, train, n_epochs=2, **start, **kw)
    resume = {"chains": first.chains} if persistent else {}
    rest = fit(jax.random.key(1), first.params, train, n_epochs=1, first_epoch=2, opt_state=first.opt_state,
               **resume, **kw)
    assert full.chains.shape == ((7, N_VISIBLE) if persistent else (50, N_VISIBLE))
    assert full.history["w"].shape == (3,) and full.params.W.dtype == jnp.float32
    for got, want in zip(jax.tree.leaves((rest.params, rest.chains, rest.opt_state)),
                         jax.tree.leaves((full.params, full.chains, full.opt_state))):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    np.testing.assert_array_equal(np.concatenate([first.history["w"], rest.history["w"]]), full.history["w"])
    # negative control: the wrong epoch index draws other shuffles and noise
    wrong = fit(jax.random.key(1), first.params, train, n_epochs=1, opt_state=first.opt_state, **resume, **kw)
    assert not np.array_equal(np.asarray(wrong.params.W), np.asarray(full.params.W))


def test_fit_refuses_an_opt_state_of_another_optimizer(data):
    train, _ = data
    p0 = rbm(jax.random.key(0), N_VISIBLE, 3)
    r = fit(jax.random.key(1), p0, train, n_epochs=1, batch_size=50, optimizer=optax.adam(1e-3))
    with pytest.raises(ValueError, match=r"opt_state must be the state of this optimizer.*expected .*got "):
        fit(jax.random.key(2), r.params, train, n_epochs=1, batch_size=50, optimizer=optax.sgd(0.1, momentum=0.9),
            opt_state=r.opt_state)
    with pytest.raises(ValueError, match=r"opt_state must be the state of this optimizer"):
        fit(jax.random.key(2), rbm(jax.random.key(0), N_VISIBLE, 4), train, n_epochs=1, batch_size=50,
            optimizer=optax.adam(1e-3), opt_state=r.opt_state)  # other parameter shapes


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


GAUSS_MU = np.array([1.5, 1.5, -1.5, -1.5], np.float32)
GAUSS_SD = 0.7


def _draw_gaussian_mixture(rng, n):
    """Two equally likely Gaussians N(±mu, sd² I): what a Gaussian-Bernoulli RBM can represent."""
    sign = rng.choice([-1.0, 1.0], size=(n, 1))
    return (sign * GAUSS_MU + GAUSS_SD * rng.normal(size=(n, GAUSS_MU.size))).astype(np.float32)


def _gaussian_mixture_log_p(v):
    d = GAUSS_MU.size
    log_norm = -0.5 * d * np.log(2 * np.pi * GAUSS_SD**2)
    terms = [log_norm - np.sum((v - s * GAUSS_MU) ** 2, axis=1) / (2 * GAUSS_SD**2) for s in (1.0, -1.0)]
    return np.logaddexp(*terms) - np.log(2)


def test_gaussian_rbm_gradient_and_training():
    """Gaussian-Bernoulli units (sigma trained too): the fast gradient is jax.grad of the public loss,
    and training raises the exact held-out log-likelihood (log Z by enumerating the hidden layer)."""
    params = rbm(jax.random.key(0), 5, 3, kind="gaussian", scale=0.3)
    v = jax.random.normal(jax.random.key(1), (6, 5))
    grads, v_model = cd_gradient(jax.random.key(2), params, v, k=1)
    ref = jax.grad(contrastive_loss)(params, v, v_model)
    for got, want in zip(grads, ref):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    rng = np.random.default_rng(1)
    train, test = _draw_gaussian_mixture(rng, 600), _draw_gaussian_mixture(rng, 2000)
    p0 = rbm(jax.random.key(3), 4, 2, kind="gaussian", scale=0.1)
    r = fit(jax.random.key(4), p0, train, n_epochs=10, batch_size=20, optimizer=optax.sgd(0.01, momentum=0.5))
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in r.params)
    before = np.asarray(log_likelihood(p0, test, per_sample=True), np.float64)
    after = np.asarray(log_likelihood(r.params, test, per_sample=True), np.float64)
    gain = after - before
    stderr = gain.std(ddof=1) / np.sqrt(len(gain))
    # A paired mean of 2000 held-out differences is normal to a good approximation:
    # "gain > 4 stderr" fails an RBM that does not learn with probability 3e-5, and
    # one that learns (a gain of several nats here) essentially never.
    assert gain.mean() > 4 * stderr, (gain.mean(), stderr)
    # Learning, not a nudge: at least half the gap to the true density closes.
    true = _gaussian_mixture_log_p(test)
    assert gain.mean() > 0.5 * (true.mean() - before.mean())
    # Gibbs' inequality: no model beats the true density on average (one-sided 4 stderr: 3e-5).
    excess = after - true
    assert excess.mean() < 4 * excess.std(ddof=1) / np.sqrt(len(excess))
