"""RBM energies, free energies and conditionals against enumeration; block Gibbs against p(v, h); bad input."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ALPHA, chi2_pvalue, within_sigmas

from jaxstat import boltzmann
from jaxstat.boltzmann import RBM


def all_states(n):
    """Every binary state, unit 0 the most significant bit: row k is the binary expansion of k."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def state_ids(x):
    x = np.asarray(x).astype(np.int64)
    return x @ (2 ** np.arange(x.shape[-1])[::-1])


def bernoulli_rbm(key, n_v=4, n_h=3, scale=1.0):
    kw, ka, kb = jax.random.split(key, 3)
    return RBM(scale * jax.random.normal(kw, (n_v, n_h)), jax.random.normal(ka, (n_v,)), jax.random.normal(kb, (n_h,)))


def gaussian_rbm(key, n_v=3, n_h=3):
    p = bernoulli_rbm(key, n_v, n_h, scale=0.8)
    return p._replace(sigma=jnp.linspace(0.5, 2.0, n_v))


@pytest.fixture(scope="module", params=["bernoulli", "gaussian"])
def model(request):
    if request.param == "bernoulli":
        p = bernoulli_rbm(jax.random.key(0))
        v = jnp.asarray(all_states(4))
    else:
        p = gaussian_rbm(jax.random.key(1))
        v = 1.5 * jax.random.normal(jax.random.key(2), (7, 3))
    return p, v


# --------------------------------------------------------------------------- #
# energies and conditionals against enumeration of the hidden layer
# --------------------------------------------------------------------------- #
def test_energy_by_hand():
    p = RBM(jnp.array([[1.0, -2.0]]), jnp.array([0.5]), jnp.array([0.25, -1.0]))
    # E = -v.a - h.b - v W h at v = 1, h = (1, 1): -0.5 - (0.25 - 1) - (1 - 2) = 1.25
    assert float(boltzmann.energy(p, jnp.array([1.0]), jnp.array([1.0, 1.0]))) == 1.25
    g = p._replace(sigma=jnp.array([2.0]))
    # E = (v - a)^2 / 2 s^2 - h.b - (v / s) W h at v = 3, h = (1, 0): 6.25/8 - 0.25 - 1.5
    np.testing.assert_allclose(float(boltzmann.energy(g, jnp.array([3.0]), jnp.array([1.0, 0.0]))), 6.25 / 8 - 1.75)


def test_free_energy_is_minus_log_sum_over_hidden(model):
    p, v = model
    H = all_states(p.W.shape[1])
    E = boltzmann.energy(p, v[:, None, :], H[None, :, :])
    F = boltzmann.free_energy(p, v)
    assert F.shape == v.shape[:1] and F.dtype == jnp.float32
    np.testing.assert_allclose(F, -jax.nn.logsumexp(-E, axis=1), rtol=1e-5, atol=1e-5)
    # numerically stable: huge inputs neither overflow nor lose the linear part
    big = p._replace(W=1e4 * p.W)
    assert np.all(np.isfinite(boltzmann.free_energy(big, v)))


def test_hidden_probs_match_the_joint(model):
    p, v = model
    H = all_states(p.W.shape[1])
    w = jax.nn.softmax(-boltzmann.energy(p, v[:, None, :], H[None, :, :]), axis=1)  # p(h | v)
    np.testing.assert_allclose(boltzmann.hidden_probs(p, v), w @ H, rtol=1e-5, atol=1e-6)


def test_visible_probs_match_the_joint():
    p = bernoulli_rbm(jax.random.key(0))
    V, H = all_states(4), all_states(3)
    w = jax.nn.softmax(-boltzmann.energy(p, V[None, :, :], H[:, None, :]), axis=1)  # p(v | h), (h, v)
    np.testing.assert_allclose(boltzmann.visible_probs(p, H), w @ V, rtol=1e-5, atol=1e-6)


def test_gaussian_visible_conditional_is_the_energy_minimum():
    """p(v | h) ∝ exp(-E(v, h)) is Gaussian: zero gradient at the mean, curvature 1 / sigma^2."""
    p = gaussian_rbm(jax.random.key(1))
    H = jnp.asarray(all_states(3))
    means = boltzmann.visible_mean(p, H)
    e = lambda v, h: boltzmann.energy(p, v, h)
    grads = jax.jit(jax.vmap(jax.grad(e)))(means, H)
    np.testing.assert_allclose(grads, 0.0, atol=1e-5)
    hess = jax.jit(jax.vmap(jax.hessian(e)))(means, H)
    np.testing.assert_allclose(hess, np.broadcast_to(np.diag(1 / np.asarray(p.sigma) ** 2), hess.shape), rtol=1e-5, atol=1e-6)


def test_rbm_init_and_base_rate_bias():
    data = jnp.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    p = boltzmann.rbm(jax.random.key(0), 3, 5, visible_bias=boltzmann.base_rate_bias(data, eps=0.01))
    assert p.kind == "bernoulli" and p.sigma is None and p.W.shape == (3, 5)
    assert float(jnp.abs(p.W).max()) < 0.05 and float(jnp.abs(p.b).max()) == 0.0
    # with W -> 0 the model's marginals are the data's, clipped at eps
    flat = p._replace(W=jnp.zeros_like(p.W))
    np.testing.assert_allclose(boltzmann.visible_probs(flat, jnp.zeros(5)), [0.75, 0.25, 0.01], rtol=1e-5)
    g = boltzmann.rbm(jax.random.key(0), 3, 5, kind="gaussian", sigma=0.5, scale=1.0)
    assert g.kind == "gaussian" and g.sigma.tolist() == [0.5] * 3
    with jax.enable_x64(True):
        p64 = boltzmann.rbm(jax.random.key(0), 3, 2, dtype=jnp.float64)
        v, h = boltzmann.gibbs_chain(jax.random.key(1), p64, jnp.zeros((2, 3)), n_steps=2)
        assert p64.W.dtype == v.dtype == h.dtype == boltzmann.free_energy(p64, v).dtype == jnp.float64


# --------------------------------------------------------------------------- #
# block Gibbs against the exact distribution
# --------------------------------------------------------------------------- #
N_CHAINS, N_STEPS = 8000, 30


def test_gibbs_samples_match_the_exact_joint():
    """Independent chains, 30 sweeps each from random states; the final (v, h) pairs
    are chi-square tested against the exact p(v, h) over all 2^7 = 128 states.
    Negative control: the same samples reject a model with hidden biases shifted by 0.2."""
    p = bernoulli_rbm(jax.random.key(0))
    v0 = jax.random.bernoulli(jax.random.key(3), 0.5, (N_CHAINS, 4)).astype(jnp.float32)
    v, h = boltzmann.gibbs_chain(jax.random.key(4), p, v0, n_steps=N_STEPS)
    assert v.shape == (N_CHAINS, 4) and h.shape == (N_CHAINS, 3)
    ids = state_ids(np.concatenate([v, h], axis=1))
    V, H = all_states(4), all_states(3)

    def joint(params):
        E = boltzmann.energy(params, V[:, None, :], H[None, :, :])  # (v, h), ids v * 8 + h
        return np.asarray(jax.nn.softmax(-E.ravel()), np.float64)

    assert chi2_pvalue(ids, joint(p)) > ALPHA
    assert chi2_pvalue(ids, joint(p._replace(b=p.b + 0.2))) < ALPHA


def test_gaussian_gibbs_hidden_marginal():
    """Gaussian–Bernoulli chains: the hidden marginal p(h) ∝ exp(h.b + Σ_i (c_i²/2 + a_i c_i/σ_i)),
    c = W h (the visible integral done by hand), is what the sampled h follow."""
    p = gaussian_rbm(jax.random.key(1))
    v0 = jax.random.normal(jax.random.key(5), (N_CHAINS, 3))
    _, h = boltzmann.gibbs_chain(jax.random.key(6), p, v0, n_steps=N_STEPS)
    H = all_states(3)
    W, a, b, s = (np.asarray(x, np.float64) for x in p)
    c = H @ W.T
    log_w = H @ b + np.sum(c**2 / 2 + a * c / s, axis=1)
    probs = np.exp(log_w - log_w.max())
    assert chi2_pvalue(state_ids(h), probs) > ALPHA
    wrong = np.exp(H @ b + np.sum(a * c / s, axis=1))  # the c²/2 term dropped
    assert chi2_pvalue(state_ids(h), wrong) < ALPHA


# --------------------------------------------------------------------------- #
# metrics
# --------------------------------------------------------------------------- #
def test_pseudo_log_likelihood_exact_and_random_bit():
    p = bernoulli_rbm(jax.random.key(0))
    V = jnp.asarray(all_states(4))
    log_p = np.asarray(-boltzmann.free_energy(p, V), np.float64)
    # Σ_i log p(v_i | v_-i), each conditional from the two states differing in bit i
    expected = np.zeros(16)
    for i in range(4):
        partner = np.arange(16) ^ (1 << (3 - i))
        expected += log_p - np.logaddexp(log_p, log_p[partner])
    exact = boltzmann.pseudo_log_likelihood(p, V, per_sample=True)
    np.testing.assert_allclose(exact, expected, rtol=1e-5)
    np.testing.assert_allclose(float(boltzmann.pseudo_log_likelihood(p, V)), expected.mean(), rtol=1e-5)
    # the one-random-bit estimate is unbiased: over many keys its mean is the exact value
    keys = jax.random.split(jax.random.key(7), 2000)
    draws = np.asarray(jax.jit(jax.vmap(lambda k: boltzmann.pseudo_log_likelihood(p, V, key=k, per_sample=True)))(keys))
    sem = draws.std(axis=0, ddof=1) / np.sqrt(len(keys))
    for j in range(16):
        assert within_sigmas(draws[:, j].mean(), expected[j], sem[j], n_sigma=4.6)  # 4.6: 16 checks at 1e-4


def test_reconstruction_error():
    p = bernoulli_rbm(jax.random.key(0))
    V = jnp.asarray(all_states(4))
    v_hat = jax.nn.sigmoid(p.a + boltzmann.hidden_probs(p, V) @ p.W.T)
    np.testing.assert_allclose(float(boltzmann.reconstruction_error(p, V)), float(jnp.mean((V - v_hat) ** 2)), rtol=1e-6)
    g = gaussian_rbm(jax.random.key(1))
    v = jnp.ones((2, 3))
    v_hat = g.a + g.sigma * (boltzmann.hidden_probs(g, v) @ g.W.T)
    np.testing.assert_allclose(float(boltzmann.reconstruction_error(g, v)), float(jnp.mean((v - v_hat) ** 2)), rtol=1e-6)


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
def test_bad_input():
    p = bernoulli_rbm(jax.random.key(0))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"v must contain only 0 and 1 for Bernoulli visible units.*e\.g\. 0\.5"):
        boltzmann.free_energy(p, jnp.array([0.0, 1.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match="v must contain only 0 and 1"):
        boltzmann.pseudo_log_likelihood(p, 2 * jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"v0 must contain only 0 and 1"):
        boltzmann.gibbs_chain(key, p, -jnp.ones((3, 4)), 2)
    # the conditionals also take mean-field probabilities, but nothing outside [0, 1]
    assert boltzmann.hidden_probs(p, 0.5 * jnp.ones(4)).shape == (3,)
    with pytest.raises(ValueError, match=r"v must contain values in \[0, 1\]"):
        boltzmann.hidden_probs(p, 1.5 * jnp.ones(4))
    with pytest.raises(ValueError, match=r"v must have shape \(\.\.\., n_visible\) with n_visible = 4; got shape \(2, 5\)"):
        boltzmann.free_energy(p, jnp.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"h must have shape \(\.\.\., n_hidden\) with n_hidden = 3"):
        boltzmann.visible_probs(p, jnp.zeros(4))
    with pytest.raises(ValueError, match="h must contain only 0 and 1"):
        boltzmann.energy(p, jnp.zeros(4), 0.5 * jnp.ones(3))
    with pytest.raises(ValueError, match="n_hidden must be an integer >= 1; got 0"):
        boltzmann.rbm(key, 4, 0)
    with pytest.raises(ValueError, match="n_visible must be an integer >= 1; got 0"):
        boltzmann.rbm(key, 0, 3)
    with pytest.raises(ValueError, match=r"params.W must have shape \(n_visible, n_hidden\) with both >= 1; got shape \(4, 0\)"):
        boltzmann.exact_log_z(RBM(jnp.zeros((4, 0)), jnp.zeros(4), jnp.zeros(0)))
    with pytest.raises(ValueError, match=r"params.b must have shape \(3,\)"):
        boltzmann.free_energy(p._replace(b=jnp.zeros(2)), jnp.zeros(4))
    with pytest.raises(ValueError, match="params.W must be finite"):
        boltzmann.exact_log_z(p._replace(W=p.W.at[0, 0].set(jnp.nan)))
    with pytest.raises(ValueError, match="params.sigma must be > 0"):
        boltzmann.free_energy(p._replace(sigma=jnp.array([1.0, 0.0, 1.0, 1.0])), jnp.zeros(4))
    with pytest.raises(ValueError, match="v must be finite"):
        boltzmann.free_energy(p._replace(sigma=jnp.ones(4)), jnp.array([0.0, jnp.inf, 0.0, 0.0]))
    with pytest.raises(ValueError, match="params must be an RBM"):
        boltzmann.free_energy({"W": p.W}, jnp.zeros(4))
    with pytest.raises(ValueError, match="kind must be one of"):
        boltzmann.rbm(key, 4, 3, kind="ising")
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        boltzmann.gibbs_chain(key, p, jnp.zeros(4), 0)
    with pytest.raises(ValueError, match="data must contain only 0 and 1"):
        boltzmann.base_rate_bias(jnp.array([[0.2, 1.0]]))
    with pytest.raises(ValueError, match="flips binary visible units"):
        boltzmann.pseudo_log_likelihood(p._replace(sigma=jnp.ones(4)), jnp.zeros(4))


def test_functions_work_under_jit_and_vmap():
    """Inside jit only shapes are checked; results equal the eager ones."""
    p = bernoulli_rbm(jax.random.key(0))
    V = jnp.asarray(all_states(4))
    np.testing.assert_allclose(jax.jit(boltzmann.free_energy)(p, V), boltzmann.free_energy(p, V), rtol=1e-6)
    stacked = jax.tree.map(lambda x: jnp.stack([x, 2 * x]), p)
    log_z = jax.vmap(boltzmann.exact_log_z)(stacked)
    np.testing.assert_allclose(log_z[1], boltzmann.exact_log_z(jax.tree.map(lambda x: 2 * x, p)), rtol=1e-6)
