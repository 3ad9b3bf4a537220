"""Bad input to every public function of jaxstat.boltzmann is never silent.

Called directly, each case must raise a ValueError whose message names the
argument. Inside ``jax.jit``/``jax.vmap``, where values are tracers and
cannot be checked, the samplers and the functions they build on must return
NaN in every floating output (or raise), never a plausible number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxstat as js
from jaxstat import boltzmann as bz

KEY = jax.random.key(0)
P = bz.rbm(jax.random.key(1), 4, 3, scale=0.5)
G = bz.rbm(jax.random.key(2), 4, 3, kind="gaussian", scale=0.5)
M = bz.bm(jax.random.key(3), 3, 2, scale=0.5)
V = jnp.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
DATA = jnp.tile(V, (10, 1))
BM_DATA = jnp.tile(jnp.array([[1.0, 0.0, 1.0]]), (6, 1))
ASYM = jnp.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])


def _fit_state(optimizer):
    return bz.fit(KEY, P, DATA, n_epochs=1, batch_size=10, optimizer=optimizer).opt_state


CASES = {
    # construction
    "rbm int key": (lambda: bz.rbm(0, 4, 3), "key"),
    "rbm fractional n_hidden": (lambda: bz.rbm(KEY, 4, 2.5), "n_hidden"),
    "rbm negative scale": (lambda: bz.rbm(KEY, 4, 3, scale=-1.0), "scale"),
    "rbm sigma for bernoulli": (lambda: bz.rbm(KEY, 4, 3, sigma=1.0), "sigma"),
    "rbm float16": (lambda: bz.rbm(KEY, 4, 3, dtype=jnp.float16), "dtype"),
    "base_rate_bias 1-D data": (lambda: bz.base_rate_bias(jnp.ones(4)), "data"),
    "base_rate_bias eps": (lambda: bz.base_rate_bias(V, eps=0.6), "eps"),
    # energies and conditionals
    "energy hidden size": (lambda: bz.energy(P, V[0], jnp.zeros(2)), r"h must have shape"),
    "free_energy NaN visible": (lambda: bz.free_energy(P, V.at[0, 0].set(jnp.nan)), r"v must contain only 0 and 1"),
    "free_energy visible size": (lambda: bz.free_energy(P, jnp.zeros((2, 5))), r"v must have shape"),
    "hidden_probs ±1 visible": (lambda: bz.hidden_probs(P, 2 * V - 1), r"v must contain values in \[0, 1\]"),
    "visible_probs hidden of 2s": (lambda: bz.visible_probs(P, 2 * jnp.ones(3)), r"h must contain"),
    "visible_mean params": (lambda: bz.visible_mean((P.W, P.a, P.b), jnp.ones(3)), "params must be an RBM"),
    # sampling
    "sample_hidden int key": (lambda: bz.sample_hidden(3, P, V), "key"),
    "sample_visible hidden size": (lambda: bz.sample_visible(KEY, P, jnp.ones(4)), r"h must have shape"),
    "gibbs_step ±1 visible": (lambda: bz.gibbs_step(KEY, P, 2 * V - 1), r"v must contain only 0 and 1"),
    "gibbs_step mismatched visible": (lambda: bz.gibbs_step(KEY, P, jnp.zeros((2, 6))), r"v must have shape"),
    "gibbs_step params": (lambda: bz.gibbs_step(KEY, {"W": P.W}, V), "params must be an RBM"),
    "gibbs_chain n_steps": (lambda: bz.gibbs_chain(KEY, P, V, 0), "n_steps"),
    "gibbs_chain NaN gaussian": (lambda: bz.gibbs_chain(KEY, G, V.at[0, 1].set(jnp.nan), 2), "v0 must be finite"),
    "block_gibbs init 2s": (lambda: bz.block_gibbs(P).init(2 * jnp.ones(4)), "spins must contain only 0 and 1"),
    "block_gibbs foreign state": (
        lambda: bz.block_gibbs(P).step(KEY, bz.bm_gibbs(M).init(jnp.zeros(5)), 1.0), "state must be a GibbsState"),
    "block_gibbs negative beta": (
        lambda: bz.block_gibbs(P).step(KEY, bz.block_gibbs(P).init(V[0]), -0.5), "beta must be >= 0"),
    # partition functions and metrics
    "exact_log_z chunk_size": (lambda: bz.exact_log_z(P, chunk_size=0), "chunk_size"),
    "ais_log_z n_runs": (lambda: bz.ais_log_z(KEY, P, n_runs=1), "n_runs"),
    "ais_log_z betas": (lambda: bz.ais_log_z(KEY, P, betas=jnp.array([0.1, 1.0])), "betas must increase from 0 to 1"),
    "ais_log_z base shape": (lambda: bz.ais_log_z(KEY, P, base=jnp.zeros(3)), "base must have shape"),
    "ais_log_weights gaussian": (lambda: bz.ais_log_weights(KEY, G), r"params is Gaussian-Bernoulli"),
    "log_likelihood NaN log_z": (lambda: bz.log_likelihood(P, V, log_z=jnp.nan), "log_z must be finite"),
    "log_likelihood vector log_z": (lambda: bz.log_likelihood(P, V, log_z=jnp.zeros(2)), "log_z must be a scalar"),
    "pseudo_log_likelihood int key": (lambda: bz.pseudo_log_likelihood(P, V, key=5), "key"),
    "reconstruction_error mismatched visible": (lambda: bz.reconstruction_error(P, jnp.zeros((2, 3))),
                                                r"v must have shape \(\.\.\., n_visible\) with n_visible = 4"),
    "reconstruction_error probabilities": (lambda: bz.reconstruction_error(P, 0.5 * V), "v must contain only 0 and 1"),
    "reconstruction_error NaN gaussian": (lambda: bz.reconstruction_error(G, V.at[1, 1].set(jnp.nan)),
                                          "v must be finite"),
    # training an RBM
    "cd_gradient chains size": (lambda: bz.cd_gradient(KEY, P, V, chains=jnp.zeros((3, 5))), r"chains must have shape"),
    "contrastive_loss v_model 2s": (lambda: bz.contrastive_loss(P, V, 2 * V), "v_model must contain only 0 and 1"),
    "fit opt_state of another optimizer": (
        lambda: bz.fit(KEY, P, DATA, n_epochs=1, batch_size=10, optimizer=optax.sgd(0.1, momentum=0.9),
                       opt_state=_fit_state(optax.adam(1e-3))), "opt_state"),
    "fit optimizer string": (lambda: bz.fit(KEY, P, DATA, n_epochs=1, optimizer="adam"), "optimizer"),
    "fit observe": (lambda: bz.fit(KEY, P, DATA, n_epochs=1, observe=3), "observe"),
    "fit first_epoch": (lambda: bz.fit(KEY, P, DATA, n_epochs=1, first_epoch=-1), "first_epoch"),
    "fit NaN data": (lambda: bz.fit(KEY, P, DATA.at[3, 0].set(jnp.nan), n_epochs=1), "data must contain only 0 and 1"),
    "fit ±1 chains": (lambda: bz.fit(KEY, P, DATA, n_epochs=1, chains=2 * V - 1), "chains must contain only 0 and 1"),
    "fit mismatched visible": (lambda: bz.fit(KEY, P, jnp.ones((20, 5)), n_epochs=1), r"data must have shape"),
    "fit batch_size": (lambda: bz.fit(KEY, P, DATA, n_epochs=1, batch_size=21), "batch_size"),
    # the fully connected machine
    "bm key": (lambda: bz.bm("seed", 3, 2), "key"),
    "bm_from_weights asymmetric": (lambda: bz.bm_from_weights(ASYM, jnp.zeros(2), jnp.zeros(1)), r"weights W"),
    "bm_from_weights NaN bias": (lambda: bz.bm_from_weights(jnp.zeros((3, 3)), jnp.array([0.0, jnp.nan]),
                                                           jnp.zeros(1)), r"params.a must be finite"),
    "bm_energy ±1 units": (lambda: bz.bm_energy(M, -jnp.ones(5)), "s must contain only 0 and 1"),
    "unit_probs size": (lambda: bz.unit_probs(M, jnp.zeros(4)), r"s must have shape"),
    "conditional unit index": (lambda: bz.conditional(M, jnp.zeros(5), -1), "i must be an integer unit index"),
    "to_ising params": (lambda: bz.to_ising((M.W, M.a, M.b)), "params must be a BoltzmannMachine"),
    "exact_statistics ±1 data": (lambda: bz.exact_statistics(M, 2 * BM_DATA - 1), "data must contain only 0 and 1"),
    "ahs_gradient shapes": (lambda: bz.ahs_gradient(jnp.eye(3), jnp.eye(4), 1), "model_correlation"),
    "ahs_gradient n_visible": (lambda: bz.ahs_gradient(jnp.eye(3), jnp.eye(3), 0), "n_visible"),
    "ahs_gradient NaN": (lambda: bz.ahs_gradient(jnp.eye(3).at[0, 1].set(jnp.nan), jnp.eye(3), 1),
                         "data_correlation must be finite"),
    "sampled_statistics n_chains": (lambda: bz.sampled_statistics(KEY, M, n_chains=1), "n_chains"),
    "sampled_statistics mismatched data": (lambda: bz.sampled_statistics(KEY, M, jnp.zeros((4, 5))), r"data must have"),
    "sampled_statistics key": (lambda: bz.sampled_statistics(M, KEY), "key"),
    "learn opt_state of another optimizer": (
        lambda: bz.learn(KEY, M, BM_DATA, n_steps=1, optimizer=optax.sgd(0.1),
                         opt_state=optax.adam(1e-3).init(M)), "opt_state"),
    "learn optimizer": (lambda: bz.learn(KEY, M, BM_DATA, n_steps=1, optimizer=0.1), "optimizer"),
    "learn batch_size": (lambda: bz.learn(KEY, M, BM_DATA, n_steps=1, batch_size=7), "batch_size"),
    "learn chains with exact": (lambda: bz.learn(KEY, M, BM_DATA, n_steps=1, chains=jnp.zeros((2, 5))), "chains"),
    "learn ±1 chains": (lambda: bz.learn(KEY, M, BM_DATA, n_steps=1, method="sampled", chains=-jnp.ones((2, 5))),
                        "chains must contain only 0 and 1"),
    "learn n_steps": (lambda: bz.learn(KEY, M, BM_DATA, n_steps=0), "n_steps"),
    "bm_gibbs asymmetric": (lambda: bz.bm_gibbs(M._replace(W=M.W.at[0, 1].add(0.5))), "weights W must be symmetric"),
    "bm_gibbs init ±1": (lambda: bz.bm_gibbs(M).init(-jnp.ones(5)), "spins must contain only 0 and 1"),
    "bm_gibbs init size": (lambda: bz.bm_gibbs(M).init(jnp.zeros(4)), r"spins must be one configuration"),
    "bm_gibbs negative beta": (lambda: bz.bm_gibbs(M).step(KEY, bz.bm_gibbs(M).init(jnp.zeros(5)), -1.0), "beta"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_a_value_error_naming_the_argument(name):
    call, match = CASES[name]
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- #
# inside jit and vmap: NaN in every floating output, never a plausible number
# --------------------------------------------------------------------------- #
def assert_all_nan(tree):
    leaves = [np.asarray(x) for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.result_type(x), jnp.floating)]
    assert leaves, "no floating outputs"
    for x in leaves:
        assert np.all(np.isnan(x)), x


def assert_all_finite(tree):
    for x in jax.tree.leaves(tree):
        if jnp.issubdtype(jnp.result_type(x), jnp.floating):
            assert np.all(np.isfinite(np.asarray(x))), x


TWOS = 2 * jnp.ones(4)


def test_traced_gibbs_step_of_invalid_units_is_nan():
    step = jax.jit(bz.gibbs_step)
    assert_all_nan(step(KEY, P, jnp.stack([TWOS, TWOS])))        # neuron values 2
    assert_all_nan(step(KEY, P, V.at[0].set(jnp.nan))[0][0])     # a NaN row: its sample
    assert_all_finite(step(KEY, P, V))                            # valid units: valid samples


def test_traced_block_gibbs_invalid_state_or_beta_is_nan():
    sampler = bz.block_gibbs(P)

    @jax.jit
    def one_step(v, beta):
        return sampler.step(KEY, sampler.init(v), beta)

    assert_all_nan(one_step(TWOS, 1.0))                 # 2s passed as units
    assert_all_nan(one_step(2 * V[0] - 1, 1.0))         # ±1 spins passed as units
    assert_all_nan(one_step(V[0], -0.5))                # a negative beta
    assert_all_nan(one_step(V[0], jnp.nan))             # a NaN beta
    assert_all_finite(one_step(V[0], 0.5))
    # a NaN state stays NaN through further steps (the heat bath must not revive it)
    state, _ = one_step(TWOS, 1.0)
    assert_all_nan(jax.jit(sampler.step)(KEY, state, 1.0))


def test_traced_block_gibbs_run_under_vmap_is_nan_per_chain():
    sampler = bz.block_gibbs(P)
    run = jax.jit(jax.vmap(lambda v, b: js.mcmc.run(KEY, sampler, v, b, 5)))
    state, trace = run(jnp.stack([V[0], TWOS, V[1]]), jnp.array([1.0, 1.0, -1.0]))
    assert_all_finite(jax.tree.map(lambda x: x[0], (state, trace)))
    assert_all_nan(jax.tree.map(lambda x: x[1], (state, trace)))   # invalid units
    assert_all_nan(jax.tree.map(lambda x: x[2], (state, trace)))   # negative beta


def test_traced_gibbs_chain_of_invalid_units_is_nan():
    out = jax.jit(lambda v: bz.gibbs_chain(KEY, P, v, 3))(jnp.stack([V[0], TWOS]))
    assert_all_finite(jax.tree.map(lambda x: x[0], out))
    assert_all_nan(jax.tree.map(lambda x: x[1], out))


def test_traced_bm_gibbs_invalid_state_or_beta_is_nan():
    sampler = bz.bm_gibbs(M)

    @jax.jit
    def one_step(s, beta):
        return sampler.step(KEY, sampler.init(s), beta)

    assert_all_nan(one_step(-jnp.ones(5), 1.0))              # ±1 spins passed as units
    assert_all_nan(one_step(jnp.full(5, 2.0), 1.0))          # 2s
    assert_all_nan(one_step(jnp.zeros(5).at[2].set(jnp.nan), 1.0))
    assert_all_nan(one_step(jnp.zeros(5), -1.0))             # a negative beta
    assert_all_finite(one_step(jnp.zeros(5), 1.0))
    run = jax.jit(jax.vmap(lambda s, b: js.mcmc.run(KEY, sampler, s, b, 5)))
    state, trace = run(jnp.stack([jnp.zeros(5), -jnp.ones(5), jnp.ones(5)]), jnp.array([1.0, 1.0, -0.1]))
    assert_all_finite(jax.tree.map(lambda x: x[0], (state, trace)))
    assert_all_nan(jax.tree.map(lambda x: x[1], (state, trace)))
    assert_all_nan(jax.tree.map(lambda x: x[2], (state, trace)))


def test_traced_energies_and_metrics_of_invalid_units_are_nan():
    assert_all_nan(jax.jit(bz.free_energy)(P, TWOS))
    assert_all_nan(jax.jit(bz.reconstruction_error)(P, 0.5 * V))
    assert_all_nan(jax.jit(bz.energy)(P, TWOS, jnp.ones(3)))
    assert_all_nan(jax.jit(bz.hidden_probs)(P, 1.5 * jnp.ones(4)))   # outside [0, 1]
    assert_all_nan(jax.jit(bz.log_likelihood)(P, TWOS))
    assert_all_finite(jax.jit(bz.free_energy)(P, V))
    # the fully connected machine: ±1 spins passed as its 0/1 units
    assert_all_nan(jax.jit(bz.bm_energy)(M, -jnp.ones(5)))
    assert_all_nan(jax.jit(bz.unit_probs)(M, -jnp.ones(5)))
    assert_all_nan(jax.jit(bz.exact_statistics)(M, 2 * BM_DATA - 1).log_likelihood)
    assert_all_finite(jax.jit(bz.bm_energy)(M, jnp.ones(5)))
