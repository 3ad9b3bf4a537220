"""What cannot raise inside jit/vmap comes back as NaN; what can raise, does."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js

BAD_BETAS = jnp.array([jnp.nan, -1.0, 0.3, jnp.inf])


@pytest.mark.parametrize("make", [js.mcmc.glauber, js.mcmc.metropolis, js.mcmc.checkerboard])
def test_invalid_traced_beta_gives_nan_not_plausible_numbers(make):
    m = js.ising.lattice((4, 4))
    sampler = make(m)
    f = jax.vmap(lambda b: js.mcmc.run(jax.random.key(0), sampler, jnp.ones((4, 4)), b, 3)[1])
    trace = f(BAD_BETAS)
    e, acc = np.asarray(trace["energy"][:, -1]), np.asarray(trace["acceptance_rate"][:, -1])
    assert np.isnan(e[:2]).all() and np.isnan(acc[:2]).all()
    # the valid chains are untouched: beta = 0.3 is the unbatched chain from the same key,
    # beta = inf keeps the ground state (every flip costs 8)
    one = js.mcmc.run(jax.random.key(0), sampler, jnp.ones((4, 4)), 0.3, 3)[1]
    np.testing.assert_allclose(e[2], float(one["energy"][-1]), atol=1e-4)
    np.testing.assert_allclose(acc[2], float(one["acceptance_rate"][-1]), atol=1e-6)
    assert e[3] == -32.0 and acc[3] == 0.0


def test_invalid_traced_beta_in_enumeration_gives_nan():
    m = js.ising.lattice((3, 3))
    r = jax.vmap(lambda b: js.exact.enumerate(m, b))(BAD_BETAS)
    assert np.isnan(np.asarray(r.log_z)[[0, 1, 3]]).all()
    assert np.isnan(np.asarray(r.mean_energy)[[0, 1, 3]]).all()
    good = js.exact.enumerate(m, 0.3)
    np.testing.assert_allclose(float(r.log_z[2]), float(good.log_z), rtol=1e-6)
    np.testing.assert_allclose(float(r.mean_energy[2]), float(good.mean_energy), rtol=1e-5)


def test_traced_couplings_breaking_the_contract_become_nan():
    ones = jnp.ones(2)
    asym = jnp.array([[[0.0, 1.0], [0.0, 0.0]]])
    assert np.isnan(jax.vmap(lambda J: js.ising.energy(js.ising.dense(J), ones))(asym)).all()
    assert np.isnan(jax.jit(lambda J: js.ising.energy(js.ising.dense(J), ones))(jnp.eye(2)))
    good = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    assert float(jax.jit(lambda J: js.ising.energy(js.ising.dense(J), ones))(good)) == -1.0
    # asymmetric allowed for dynamics keeps its local field J s = (1, 0)
    f = jax.jit(lambda J: js.ising.local_field(js.ising.dense(J, allow_asymmetric=True), ones))(asym[0])
    np.testing.assert_array_equal(np.asarray(f), [1.0, 0.0])


def test_long_single_spin_runs_do_not_drift():
    """Cached energies stay equal to the energy of the spins (re-synced every sweep)."""
    m = js.ising.edwards_anderson(jax.random.key(0), (16, 16), bonds="gaussian")
    state, _ = js.mcmc.run(jax.random.key(1), js.mcmc.metropolis(m), jnp.ones((16, 16)), 0.8, 400)
    assert abs(float(state.energy) - float(js.ising.energy(m, state.spins))) < 1e-4


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda m: js.ising.lattice((4, 4), dtype=jnp.float16), r"float32 or float64 .* got float16"),
        (lambda m: js.ising.dense(jnp.zeros((2, 2), jnp.bfloat16)), r"float32 or float64 .* got bfloat16"),
        (lambda m: js.mcmc.single_spin(m, block_size=0), r"block_size must be an integer >= 1"),
        (lambda m: js.mcmc.run(0, js.mcmc.glauber(m), jnp.ones((4, 4)), 0.3, 3), r"key must be a JAX PRNG key"),
        (
            lambda m: js.mcmc.glauber(m).step(jax.random.key(0), js.mcmc.checkerboard(m).init(jnp.ones((4, 4))), 0.3),
            r"no cached local fields",
        ),
        (
            lambda m: js.mcmc.checkerboard(m).step(jax.random.key(0), (jnp.ones((4, 4)),), 0.3),
            r"state must be a SpinState",
        ),
    ],
)
def test_bad_input_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(js.ising.lattice((4, 4)))
