"""The fully connected Boltzmann machine's Gibbs sampler (bm_gibbs) against exact enumeration.

Samples are the final states of independent chains (vmapped mcmc.run), so they
are independent by construction; their histogram over all 2^N states is
chi-square tested against js.exact.enumerate of the machine's Ising form, and
the per-beta p-values are combined with Fisher's method. Under the null the
combined p-value is uniform, so ``p > ALPHA = 1e-4`` fails a correct sampler
with probability 1e-4 (fixed seeds make each run deterministic).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ALPHA, chi2_pvalue, fisher_combine

import jaxstat as js
from jaxstat.mcmc import driver


def machine(seed=0, n_visible=3, n_hidden=2, scale=1.0):
    rng = np.random.default_rng(seed)
    n = n_visible + n_hidden
    W = np.triu(rng.normal(size=(n, n)) * scale, 1)
    c = rng.normal(size=n) * 0.5
    return js.boltzmann.bm_from_weights(W + W.T, c[:n_visible], c[n_visible:], dtype=jnp.float32)


def exact_probabilities(m, beta):
    model, _ = js.boltzmann.to_ising(m)
    return np.asarray(js.exact.enumerate(model, beta).probabilities, np.float64)


def _energy(state):  # module level: one compiled run
    return state.energy


@jax.jit
def final_units(sampler, keys, units0, beta):
    run = lambda k, s: js.mcmc.run(k, sampler, s, beta, 30, thin=30, observe=_energy)[0]
    state = jax.vmap(run)(keys, units0)
    return state.spins, state.energy


def test_bm_gibbs_samples_the_boltzmann_distribution():
    m = machine(0)
    sampler = js.boltzmann.bm_gibbs(m)
    n_chains, pvalues = 4000, []
    for i, beta in enumerate((1.0, 0.5)):
        k_init, k_run = jax.random.split(jax.random.key(40 + i))
        units0 = jax.random.bernoulli(k_init, 0.5, (n_chains, 5)).astype(jnp.float32)
        s, e = final_units(sampler, jax.random.split(k_run, n_chains), units0, beta)
        assert set(np.unique(np.asarray(s))) <= {0.0, 1.0}
        # the cached energy is the machine's energy of the final units
        np.testing.assert_allclose(e, js.boltzmann.bm_energy(m, s), atol=1e-4)
        ids = np.asarray(js.exact.state_index(2 * s - 1))
        pvalues.append(chi2_pvalue(ids, exact_probabilities(m, beta)))
        if beta == 1.0:
            # negative control: the same samples reject a machine with 20% stronger weights
            assert chi2_pvalue(ids, exact_probabilities(m._replace(W=1.2 * m.W), 1.0)) < ALPHA
    assert fisher_combine(pvalues) > ALPHA, pvalues


def test_bm_gibbs_under_parallel_tempering_samples_the_top_rung():
    """Every chain an independent 3-rung ladder; the beta = 1 rung against enumeration (false failure 1e-4)."""
    m = machine(1, scale=1.5)
    pt = js.mcmc.parallel_tempering(js.boltzmann.bm_gibbs(m), jnp.array([0.3, 0.6, 1.0]))
    n_chains = 3000
    units0 = jax.random.bernoulli(jax.random.key(3), 0.5, (n_chains, 5)).astype(jnp.float32)

    @jax.jit
    def finals(keys, u):
        return jax.vmap(lambda k, s: js.mcmc.run(k, pt, s, None, 20, thin=20, observe=_energy)[0].spins)(keys, u)

    s = finals(jax.random.split(jax.random.key(4), n_chains), units0)
    assert s.shape == (n_chains, 3, 5)
    ids = np.asarray(js.exact.state_index(2 * s[:, -1] - 1))
    assert chi2_pvalue(ids, exact_probabilities(m, 1.0)) > ALPHA


def test_new_couplings_do_not_recompile():
    """The machine's arrays are leaves of the sampler: three machines of the same shapes, one compilation."""
    observe = lambda st: st.energy  # one function object for the whole loop
    before = driver._run_compiled._cache_size()
    energies = []
    for seed in range(3):
        m = js.boltzmann.bm(jax.random.key(seed), 4, 3, scale=1.0)
        _, e = js.mcmc.run(jax.random.key(0), js.boltzmann.bm_gibbs(m), jnp.ones(7), 0.7, 4, observe=observe)
        energies.append(np.asarray(e))
    assert driver._run_compiled._cache_size() - before == 1
    assert len({e.tobytes() for e in energies}) == 3  # the couplings really were inputs


def test_gibbs_chain_is_the_sampler_under_run():
    """gibbs_chain is a thin wrapper: chain i is mcmc.run of block_gibbs with key split(key, n)[i]."""
    p = js.boltzmann.rbm(jax.random.key(0), 5, 3, scale=1.0)
    v0 = jax.random.bernoulli(jax.random.key(1), 0.5, (4, 5)).astype(jnp.float32)
    v, h = js.boltzmann.gibbs_chain(jax.random.key(2), p, v0, n_steps=6)
    keys = jax.random.split(jax.random.key(2), 4)
    for i in range(4):
        state, _ = js.mcmc.run(keys[i], js.boltzmann.block_gibbs(p), v0[i], 1.0, 6, thin=6)
        np.testing.assert_array_equal(np.asarray(v[i]), np.asarray(state.spins))
        np.testing.assert_array_equal(np.asarray(h[i]), np.asarray(state.hidden))


@pytest.mark.parametrize("beta", [0.0, float("inf")])
def test_bm_gibbs_limits(beta):
    """beta = 0: every unit a fair coin; beta = inf: zero-temperature dynamics, finite and binary."""
    m = machine(2)
    sampler = js.boltzmann.bm_gibbs(m)
    state, trace = js.mcmc.run(jax.random.key(5), sampler, jnp.zeros(5), beta, 50)
    assert np.all(np.isfinite(np.asarray(trace["energy"])))
    assert set(np.unique(np.asarray(state.spins))) <= {0.0, 1.0}
    if beta == float("inf"):  # the energy never rises at zero temperature
        assert np.all(np.diff(np.asarray(trace["energy"])) <= 1e-5)
