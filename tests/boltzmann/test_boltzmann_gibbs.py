"""RBM block Gibbs as a jaxstat.mcmc sampler, and PT-PCD's fantasy particles, against exact p(v)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import ALPHA, chi2_pvalue, fisher_combine

import jaxstat as js


def exact_visible_probabilities(params, beta=1.0):
    """p_beta(v) over all 2^n_visible states in js.exact.state_index order (a Bernoulli RBM at
    beta is the RBM with beta * params)."""
    scaled = jax.tree.map(lambda x: beta * x, params)
    v = (js.exact.states(params.n_visible) + 1) / 2
    logp = -js.boltzmann.free_energy(scaled, v) - js.boltzmann.exact_log_z(scaled)
    return np.exp(np.asarray(logp, np.float64))


def visible_ids(v):
    return np.asarray(js.exact.state_index(2 * jnp.asarray(v) - 1))


def _spins(state):
    return state.spins


@pytest.fixture(scope="module")
def small_rbm():
    return js.boltzmann.rbm(jax.random.key(21), 6, 3, scale=1.5)


def test_block_gibbs_samples_the_visible_distribution(small_rbm):
    """Independent chains of the sampler, run by mcmc.run, at beta = 1 and 0.5."""
    sampler = js.boltzmann.block_gibbs(small_rbm)
    n_chains = 3000

    @jax.jit
    def finals(keys, v0, beta):
        return jax.vmap(lambda k, v: js.mcmc.run(k, sampler, v, beta, 40, thin=40, observe=_spins)[0].spins)(keys, v0)

    pvalues = []
    for i, beta in enumerate((1.0, 0.5)):
        k_init, k_run = jax.random.split(jax.random.key(30 + i))
        v0 = jax.random.bernoulli(k_init, 0.5, (n_chains, 6)).astype(jnp.float32)
        v = finals(jax.random.split(k_run, n_chains), v0, beta)
        pvalues.append(chi2_pvalue(visible_ids(v), exact_visible_probabilities(small_rbm, beta)))
    assert fisher_combine(pvalues) > ALPHA, pvalues


def test_block_gibbs_state_and_energy(small_rbm):
    sampler = js.boltzmann.block_gibbs(small_rbm)
    state = sampler.init(jnp.ones(6))
    assert state.hidden.shape == (3,) and float(state.energy) == pytest.approx(-float(jnp.sum(small_rbm.a)))
    state, info = sampler.step(jax.random.key(0), state, 1.0)
    expected = js.boltzmann.energy(small_rbm, state.spins, state.hidden)
    assert float(state.energy) == pytest.approx(float(expected), abs=1e-5)
    assert 0 <= float(info.acceptance_rate) <= 1


def test_gaussian_block_gibbs_at_beta_zero_is_nan():
    """A Gaussian visible layer has no distribution at beta = 0 (infinite variance): NaN, not a number."""
    params = js.boltzmann.rbm(jax.random.key(0), 4, 2, kind="gaussian")
    sampler = js.boltzmann.block_gibbs(params)
    state, _ = sampler.step(jax.random.key(1), sampler.init(jnp.zeros(4)), 0.0)
    assert np.all(~np.isfinite(np.asarray(state.spins))) and np.isnan(float(state.energy))
    state, _ = sampler.step(jax.random.key(1), sampler.init(jnp.zeros(4)), 0.5)
    assert np.all(np.isfinite(np.asarray(state.spins)))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda p: js.boltzmann.block_gibbs("rbm"), r"params must be an RBM"),
        (lambda p: js.boltzmann.block_gibbs(p).init(jnp.full(6, 0.5)), r"only 0 and 1"),
        (lambda p: js.boltzmann.block_gibbs(p).init(jnp.ones((2, 6))), r"one visible configuration"),
        (lambda p: js.boltzmann.block_gibbs(p).step(jax.random.key(0), js.boltzmann.block_gibbs(p).init(jnp.ones(6)), -1.0),
         r"beta must be >= 0"),
    ],
)
def test_block_gibbs_bad_input(small_rbm, call, match):
    with pytest.raises(ValueError, match=match):
        call(small_rbm)


def test_tempered_fantasy_particles_sample_the_model(small_rbm):
    """PT-PCD with a zero learning rate leaves the model fixed: its fantasy particles at
    beta = 1 are then samples of p(v), here after 30 updates of k = 2 exchange rounds
    (every particle is an independent ladder), against the exact distribution."""
    data = jnp.zeros((60, 6)).at[:30, :3].set(1.0).at[30:, 3:].set(1.0)
    betas = jnp.linspace(0.25, 1.0, 4)
    r = js.boltzmann.fit(jax.random.key(3), small_rbm, data, n_epochs=10, batch_size=20, n_chains=3000, k=2,
                         optimizer=optax.sgd(0.0), tempering=betas)
    np.testing.assert_array_equal(np.asarray(r.params.W), np.asarray(small_rbm.W))
    assert r.chains.shape == (3000, 4, 6)
    pvalues = [chi2_pvalue(visible_ids(r.chains[:, i]), exact_visible_probabilities(small_rbm, float(beta)))
               for i, beta in enumerate(betas)]
    assert fisher_combine(pvalues) > ALPHA, pvalues


def test_tempered_training_learns_and_resumes():
    """PT-PCD raises the exact log-likelihood of a two-mode data set, and resumes from its chains."""
    data = jnp.zeros((100, 8)).at[:50, :4].set(1.0).at[50:, 4:].set(1.0)
    p0 = js.boltzmann.rbm(jax.random.key(4), 8, 2, scale=0.01, visible_bias=js.boltzmann.base_rate_bias(data))

    def mean_ll(p):
        return float(jnp.mean(js.boltzmann.log_likelihood(p, data)))

    betas = jnp.asarray([0.3, 0.6, 1.0])
    r = js.boltzmann.fit(jax.random.key(5), p0, data, n_epochs=30, batch_size=10, k=1,
                         optimizer=optax.sgd(0.1, momentum=0.5), tempering=betas)
    # the two modes each have probability 1/2 under the data: log(1/2) = -0.69 is the optimum,
    # the base-rate start is at -5.5; a wrong-signed or broken gradient would not climb
    # (exact likelihoods of a fixed-key run: a training-quality bar, not a statistical test)
    assert mean_ll(p0) < -5.0 and mean_ll(r.params) > -1.5, (mean_ll(p0), mean_ll(r.params))
    r2 = js.boltzmann.fit(jax.random.key(6), r.params, data, n_epochs=2, batch_size=10,
                          optimizer=optax.sgd(0.1, momentum=0.5), tempering=betas, chains=r.chains,
                          opt_state=r.opt_state)
    assert r2.chains.shape == r.chains.shape
    with pytest.raises(ValueError, match=r"tempering must end at beta = 1"):
        js.boltzmann.fit(jax.random.key(5), p0, data, n_epochs=1, tempering=[0.2, 0.5])
    with pytest.raises(ValueError, match=r"needs persistent=True"):
        js.boltzmann.fit(jax.random.key(5), p0, data, n_epochs=1, persistent=False, tempering=betas)
    with pytest.raises(ValueError, match=r"one state per rung"):
        js.boltzmann.fit(jax.random.key(5), p0, data, n_epochs=1, tempering=betas, chains=r.chains[:, :2])
