"""Inside jit and vmap nothing can raise: invalid values must give NaN in every floating output,
never a plausible number (DESIGN rule 5). Concrete bad input raises elsewhere (the bad-input tests)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js

LATTICE = js.ising.lattice((4, 4))
SAMPLERS = {
    "checkerboard": js.mcmc.checkerboard(LATTICE),
    "metropolis": js.mcmc.metropolis(LATTICE),
    "wolff": js.mcmc.wolff(LATTICE),
}


def _floating_leaves(tree):
    return [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]


def test_neuron_states_as_spins_under_jit_give_nan():
    s01 = (js.ising.random_spins(jax.random.key(0), (4, 4)) + 1) / 2  # 0/1 neuron states
    assert np.isnan(float(jax.jit(js.ising.energy)(LATTICE, s01)))
    assert np.isnan(np.asarray(jax.jit(js.ising.local_field)(LATTICE, s01))).any()
    # valid spins under jit are untouched
    s = 2 * s01 - 1
    assert float(jax.jit(js.ising.energy)(LATTICE, s)) == float(js.ising.energy(LATTICE, s))


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_neuron_states_in_a_vmapped_run_give_nan_everywhere(name):
    sampler = SAMPLERS[name]
    spins = js.ising.random_spins(jax.random.key(1), (3, 4, 4))
    s01 = spins.at[1].set((spins[1] + 1) / 2)  # chain 1 holds 0/1 states

    def one(s):
        return js.mcmc.run(jax.random.key(2), sampler, s, 0.4, 5)

    state, trace = jax.vmap(one)(s01)
    for leaf in _floating_leaves((state, trace)):
        leaf = np.asarray(leaf)
        assert np.isnan(leaf[1]).any(), "chain 1 must be NaN"
    for i in (0, 2):  # valid chains are the unbatched chains from the same key
        _assert_same_chain(_chain((state, trace), i), one(spins[i]))
    assert np.isnan(np.asarray(trace["magnetization"][1])).all()
    assert np.isnan(np.asarray(trace["energy"][1])).all()


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_negative_beta_in_a_vmapped_ladder_gives_nan_in_every_output(name):
    sampler = SAMPLERS[name]
    betas = jnp.array([0.3, -0.2, 0.5])
    spins = js.ising.random_spins(jax.random.key(3), (4, 4))
    state, trace = jax.vmap(lambda b: js.mcmc.run(jax.random.key(4), sampler, spins, b, 5))(betas)
    for leaf in _floating_leaves((state, trace)):
        leaf = np.asarray(leaf)
        assert np.isnan(leaf[1]).all(), "every floating output at beta < 0 is NaN"
    for i in (0, 2):  # valid rungs are the unbatched chains from the same key
        _assert_same_chain(_chain((state, trace), i),
                           js.mcmc.run(jax.random.key(4), sampler, spins, float(betas[i]), 5))


def _chain(tree, i):
    return jax.tree.map(lambda x: x[i], tree)


def _assert_same_chain(got, want):
    """Same pytree, equal spins, floating outputs equal to float32 rounding."""
    got_leaves, want_leaves = jax.tree.leaves(got), jax.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        np.testing.assert_allclose(np.asarray(g, np.float64), np.asarray(w, np.float64), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_step_with_an_int_key_names_the_key(name):
    sampler = SAMPLERS[name]
    state = sampler.init(jnp.ones((4, 4)))
    with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
        sampler.step(0, state, 0.4)


def test_neuron_energy_refuses_spins_and_bad_shapes():
    W = jnp.array([[0.0, 1.0, 0.5], [1.0, 0.0, -1.0], [0.5, -1.0, 0.0]])
    theta = jnp.array([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="activities must contain only 0 and 1.*-1"):
        js.ising.neuron_energy(W, theta, jnp.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=r"activities must have trailing axis 3"):
        js.ising.neuron_energy(W, theta, jnp.ones(4))
    with pytest.raises(ValueError, match=r"theta must be a scalar or have shape \(3,\)"):
        js.ising.neuron_energy(W, jnp.ones(2), jnp.ones(3))
    with pytest.raises(ValueError, match="W must be a square"):
        js.ising.neuron_energy(jnp.ones((3, 2)), theta, jnp.ones(3))
    # traced: NaN for spins, the exact value for neurons
    f = jax.jit(js.ising.neuron_energy)
    assert np.isnan(float(f(W, theta, jnp.array([1.0, -1.0, 1.0]))))
    n = jnp.array([1.0, 0.0, 1.0])
    assert float(f(W, theta, n)) == pytest.approx(-0.5 * float(n @ W @ n) + float(theta @ n))


def test_training_errors_refuses_shapes_that_would_broadcast():
    x = jax.random.normal(jax.random.key(5), (8, 2))
    y = jnp.where(x[:, 0] > 0, 1.0, -1.0)
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        js.perceptron.training_errors(jnp.ones((2, 1)), 0.0, x, y)
    with pytest.raises(ValueError, match="b must be a scalar"):
        js.perceptron.training_errors(jnp.ones(2), jnp.zeros(8), x, y)
    assert int(js.perceptron.training_errors(jnp.array([1.0, 0.0]), 0.0, x, y)) == 0


def test_nets_train_refuses_labels_widths_and_empty_data():
    model = js.nets.mlp(jax.random.key(6), (4, 8, 3))
    x = jax.random.normal(jax.random.key(7), (10, 4))
    y = jnp.arange(10) % 3
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\).*from -1 to 1 \(for ±1 labels"):
        js.nets.train(model, x, jnp.where(y > 0, 1, -1), n_epochs=1)
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\).*from 0 to 7"):
        js.nets.train(model, x, y.at[0].set(7), n_epochs=1)
    with pytest.raises(ValueError, match="x has 5 features per sample"):
        js.nets.train(model, jnp.ones((10, 5)), y, n_epochs=1)
    with pytest.raises(ValueError, match="at least one sample"):
        js.nets.train(model, jnp.ones((0, 4)), jnp.zeros(0, jnp.int32), n_epochs=1)


def test_landscape_refuses_nan_directions_and_frozen_trajectories():
    loss = lambda p: jnp.sum(p["a"] ** 2)  # noqa: E731
    params = {"a": jnp.ones(3)}
    bad = {"a": jnp.array([1.0, jnp.nan, 0.0])}
    with pytest.raises(ValueError, match=r"direction\['a'\] must be finite"):
        js.landscape.line(loss, params, bad, jnp.linspace(-1, 1, 3))
    with pytest.raises(ValueError, match="never moved"):
        js.landscape.pca_directions(jnp.ones((5, 3)), params)
    with pytest.raises(ValueError, match="snapshots must be finite"):
        js.landscape.pca_directions(jnp.ones((5, 3)).at[0, 0].set(jnp.nan), params)


def test_log_likelihood_refuses_a_nan_log_z():
    rbm = js.boltzmann.rbm(jax.random.key(8), 4, 2)
    v = jnp.ones((3, 4))
    with pytest.raises(ValueError, match="log_z must be finite; got nan"):
        js.boltzmann.log_likelihood(rbm, v, log_z=jnp.nan)
    # without log_z: the exact log p(1111), by summing E(v, h) = -a.v - b.h - v W h over all (v, h)
    W, a, b = (np.asarray(x, np.float64) for x in (rbm.W, rbm.a, rbm.b))
    vs = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=2)))
    log_w = (vs @ a)[:, None] + (hs @ b)[None, :] + vs @ W @ hs.T
    log_p = np.logaddexp.reduce(log_w, axis=1) - np.logaddexp.reduce(log_w.ravel())
    np.testing.assert_allclose(float(js.boltzmann.log_likelihood(rbm, v)), log_p[-1], rtol=1e-5)


def test_softmax_update_refuses_a_nan_state():
    xi = jnp.sign(jax.random.normal(jax.random.key(9), (3, 8)))
    with pytest.raises(ValueError, match="state must be finite"):
        js.hopfield.softmax_update(xi, xi[0].at[2].set(jnp.nan))
