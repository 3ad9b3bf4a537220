"""The batched sweep of vmapped chains on dense models (single_site._sweep_chains).

Under ``jax.vmap`` over chains that share the couplings, sequential
single-spin sweeps run through a custom batching rule: all chains at once,
chains on the fast axis, the fields refreshed by GEMMs. It must be the same
Markov chain as one chain alone: the same random numbers, the same spins and
acceptance at every sweep (the fields are summed in another order, so they
agree up to rounding and are checked against a recomputation), and it must
sample the Boltzmann distribution exactly (enumeration, chi-square).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
import jaxstat.mcmc.single_site as single_site
from exactness import assert_matches_exact, check_against_exact, dense_model

N = 20
N_CHAINS = 4
N_SWEEPS = 5
BETA = 0.8
# (8, 4, 2): blocks of 8 (20 = 2 x 8 + 4: a padded last block), sub-blocks of 4
# and 2, rank-1 steps inside; (64, 16): the default, one block larger than N.
SIZES = [(8, 4, 2), (64, 16)]


def _run_chains(sampler, keys, spins0):
    def one(k, s):
        state, trace = js.mcmc.run(k, sampler, s, BETA, N_SWEEPS)
        return state, trace["acceptance_rate"]

    return jax.jit(jax.vmap(one))(keys, spins0)


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("rule", ["glauber", "metropolis"])
def test_vmapped_chains_equal_single_chains(rule, x64, monkeypatch):
    calls = []
    batched = single_site._sweep_chains
    monkeypatch.setattr(single_site, "_sweep_chains", lambda *a: calls.append(1) or batched(*a))
    single_site._sequential_dense_sweep.cache_clear()
    with jax.enable_x64(x64):
        m = js.ising.sherrington_kirkpatrick(jax.random.key(7), N, h=0.2)
        keys = jax.random.split(jax.random.key(9), N_CHAINS)
        spins0 = js.ising.random_spins(jax.random.key(8), (N_CHAINS, N))
        base = js.mcmc.single_spin(m, rule)
        singles = [js.mcmc.run(keys[c], base, spins0[c], BETA, N_SWEEPS) for c in range(N_CHAINS)]
        tol = 1e-12 if x64 else 1e-5
        for sizes in SIZES:
            sampler = dataclasses.replace(base, chain_block_sizes=sizes)
            state, acceptance = _run_chains(sampler, keys, spins0)
            assert state.spins.dtype == m.dtype and state.field.dtype == m.dtype
            for c, (one_state, one_trace) in enumerate(singles):
                np.testing.assert_array_equal(state.spins[c], one_state.spins, err_msg=f"{sizes} chain {c}")
                np.testing.assert_array_equal(acceptance[c], one_trace["acceptance_rate"], err_msg=f"{sizes}")
                np.testing.assert_allclose(state.field[c], one_state.field, atol=tol)
            recomputed = jax.vmap(lambda s: js.ising.local_field(m, s))(state.spins)
            np.testing.assert_allclose(state.field, recomputed, atol=tol)
            energies = jax.vmap(lambda s: js.ising.energy(m, s))(state.spins)
            np.testing.assert_allclose(state.energy, energies, atol=10 * tol)
    # the batched sweep ran (traced once per block-size structure)
    assert len(calls) == len(SIZES)
    single_site._sequential_dense_sweep.cache_clear()


def test_batching_corner_cases_are_the_same_chain():
    """Unbatched spins (broadcast), a beta per chain, nested vmap and couplings per
    chain (the rule falls back to a plain vmap) all give each chain's own sweep."""
    m = js.ising.sherrington_kirkpatrick(jax.random.key(1), 12, h=0.1)
    sampler = dataclasses.replace(js.mcmc.glauber(m), chain_block_sizes=(4, 2))
    keys = jax.random.split(jax.random.key(2), 3)
    s0 = js.ising.random_spins(jax.random.key(3), (12,))
    betas = jnp.asarray([0.3, 1.0, float("inf")])

    def one(smp, k, s, b):
        st = smp.step(k, smp.init(s), b)[0]
        return st.spins, st.field

    expect = [one(sampler, keys[c], s0, betas[c]) for c in range(3)]
    shared = jax.jit(jax.vmap(one, in_axes=(None, 0, None, 0)))(sampler, keys, s0, betas)
    nested = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0, None, None)), in_axes=(None, None, None, 0)))(
        sampler, keys, s0, betas)
    stacked = jax.tree.map(lambda x: jnp.stack([x] * 3), sampler)
    per_chain_J = jax.jit(jax.vmap(one, in_axes=(0, 0, None, 0)))(stacked, keys, s0, betas)
    for c in range(3):
        for got in (shared, per_chain_J):
            np.testing.assert_array_equal(got[0][c], expect[c][0])
            np.testing.assert_allclose(got[1][c], expect[c][1], atol=1e-5)
        np.testing.assert_array_equal(nested[0][c, c], expect[c][0])


@pytest.mark.parametrize("rule", ["glauber", "metropolis"])
def test_batched_sweep_matches_exact_distribution(rule):
    """The exactness test of test_samplers_exact (8-spin dense model, 1800 chains
    per beta, chi-square and mean energy at a false-failure probability of 1e-4)
    with blocks of 3 (8 = 2 x 3 + 2: padding), sub-blocks of 2 and rank-1 steps,
    so every level of the batched sweep is exercised."""
    model = dense_model()
    sampler = dataclasses.replace(js.mcmc.single_spin(model, rule), chain_block_sizes=(3, 2))
    p, energy_checks = check_against_exact(sampler, model)
    assert_matches_exact(p, energy_checks, f"{rule} batched, blocks (3, 2)")
