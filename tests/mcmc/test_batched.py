"""jaxstat.mcmc.chains: many independent chains as one sampler."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat.mcmc import driver

LATTICE = js.mcmc.checkerboard(js.ising.lattice((6, 6)))


def sk_sampler(seed):
    return js.mcmc.glauber(js.ising.sherrington_kirkpatrick(jax.random.key(seed), 10))


def test_each_chain_is_the_base_sampler_with_its_own_key():
    many = js.mcmc.chains(LATTICE, 3)
    spins = js.ising.random_spins(jax.random.key(0), (3, 6, 6))
    key = jax.random.key(9)
    state, info = many.step(key, many.init(spins), 0.4)
    for c in range(3):
        one, one_info = LATTICE.step(jax.random.fold_in(key, c), LATTICE.init(spins[c]), 0.4)
        np.testing.assert_array_equal(state.spins[c], one.spins)
        np.testing.assert_array_equal(state.energy[c], one.energy)
        # a ratio count / N: the batched program may round the division differently (1 ulp)
        np.testing.assert_allclose(info.acceptance_rate[c], one_info.acceptance_rate, rtol=1e-6)


def test_disorder_samples_stack_and_a_new_set_reuses_the_compiled_run():
    samplers = [sk_sampler(s) for s in range(3)]
    many = js.mcmc.chains(samplers)
    spins = jnp.ones(10)
    key = jax.random.key(2)
    state, _ = many.step(key, many.init(spins), 0.7)
    for c, one in enumerate(samplers):
        expected, _ = one.step(jax.random.fold_in(key, c), one.init(spins), 0.7)
        np.testing.assert_array_equal(state.spins[c], expected.spins)
    js.mcmc.run(key, many, spins, 0.7, 5)
    before = driver._run_compiled._cache_size()
    other = js.mcmc.chains([sk_sampler(s) for s in range(3, 6)])
    _, trace = js.mcmc.run(key, other, spins, 0.7, 5)
    assert driver._run_compiled._cache_size() == before  # new couplings, same program
    assert trace["energy"].shape == (5, 3)


def test_betas_per_chain_live_in_the_sampler():
    betas = jnp.array([0.1, 0.3])
    many = js.mcmc.chains(LATTICE, 2, betas=betas)
    spins = jnp.ones((6, 6))
    key = jax.random.key(4)
    state, _ = many.step(key, many.init(spins), None)
    for c in range(2):
        one, _ = LATTICE.step(jax.random.fold_in(key, c), LATTICE.init(spins), betas[c])
        np.testing.assert_array_equal(state.spins[c], one.spins)
    with pytest.raises(ValueError, match="beta must be None"):
        js.mcmc.run(key, many, spins, 0.3, 5)


def test_a_checkpointed_batch_of_chains_resumes_exactly(tmp_path):
    many = js.mcmc.chains(LATTICE, 4, betas=jnp.linspace(0.2, 0.5, 4))
    ref = js.mcmc.run(jax.random.key(1), many, jnp.ones((6, 6)), None, 12)
    out = js.mcmc.run(jax.random.key(1), many, jnp.ones((6, 6)), None, 12, checkpoint_dir=tmp_path,
                      checkpoint_every=5)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(ref)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: js.mcmc.chains(LATTICE), "n_chains must be an integer >= 1"),
        (lambda: js.mcmc.chains(LATTICE, 0), "n_chains must be an integer >= 1; got 0"),
        (lambda: js.mcmc.chains("glauber", 2), "sampler must be a jaxstat sampler"),
        (lambda: js.mcmc.chains([]), "non-empty list"),
        (lambda: js.mcmc.chains([sk_sampler(0), js.mcmc.glauber(js.ising.sherrington_kirkpatrick(
            jax.random.key(1), 12))]), "must share one structure"),
        (lambda: js.mcmc.chains([sk_sampler(0)], 2), r"n_chains must equal the number of samplers \(1\)"),
        (lambda: js.mcmc.chains(LATTICE, 2, betas=jnp.ones(3)), r"betas must have shape \(2,\)"),
        (lambda: js.mcmc.chains(LATTICE, 2, betas=jnp.array([0.1, -1.0])), "betas must be inverse temperatures"),
        (lambda: js.mcmc.chains(js.mcmc.parallel_tempering(LATTICE, jnp.array([0.1, 0.2])), 2,
                                betas=jnp.ones(2)), "carries its own ladder"),
        (lambda: js.mcmc.chains(LATTICE, 2).init(jnp.ones((3, 6, 6))), r"spins must have shape \(2, 6, 6\)"),
        (lambda: js.mcmc.chains(LATTICE, 2).init(jnp.zeros((6, 6))), r"spins must be \+1/-1"),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()
