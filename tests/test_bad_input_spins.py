"""Bad input to ising, exact and mcmc, as users get it wrong: a ValueError that names the
argument, before anything reaches XLA (DESIGN rule 5). Each case is (call, the name the
message must contain). Traced invalid values (inside jit/vmap) are at the end and in
tests/test_traced_bad_input.py: NaN in every floating output, never a plausible number."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js

KEY = jax.random.key(0)
LAT = js.ising.lattice((4, 4))
SK = js.ising.sherrington_kirkpatrick(KEY, 6)
S44 = jnp.ones((4, 4))
S01 = (js.ising.random_spins(KEY, (4, 4)) + 1) / 2  # 0/1 neuron states, the classic mistake
W3 = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
CB = js.mcmc.checkerboard(LAT)

CASES = {
    # --- ising: model constructors
    "lattice shape empty": (lambda: js.ising.lattice(()), "shape"),
    "lattice shape zero side": (lambda: js.ising.lattice((4, 0)), "shape"),
    "lattice shape negative": (lambda: js.ising.lattice((-4, 4)), "shape"),
    "lattice shape float": (lambda: js.ising.lattice((4.5, 4)), "shape"),
    "lattice J NaN": (lambda: js.ising.lattice((4, 4), J=jnp.nan), "J"),
    "lattice J wrong shape": (lambda: js.ising.lattice((4, 4), J=jnp.ones((3, 4, 4))), "J"),
    "lattice h wrong shape": (lambda: js.ising.lattice((4, 4), h=jnp.ones((5, 5))), "h"),
    "lattice periodic wrong length": (lambda: js.ising.lattice((4, 4), periodic=(True,)), "periodic"),
    "dense J not square": (lambda: js.ising.dense(jnp.ones((3, 4))), "J"),
    "dense J asymmetric": (lambda: js.ising.dense(jnp.array([[0.0, 1.0], [2.0, 0.0]])), "J"),
    "dense J diagonal": (lambda: js.ising.dense(jnp.eye(3)), "J"),
    "dense J NaN": (lambda: js.ising.dense(W3.at[0, 1].set(jnp.nan).at[1, 0].set(jnp.nan)), "J"),
    "dense h wrong length": (lambda: js.ising.dense(W3, jnp.ones(4)), "h"),
    "sk n zero": (lambda: js.ising.sherrington_kirkpatrick(KEY, 0), "n"),
    "sk n float": (lambda: js.ising.sherrington_kirkpatrick(KEY, 6.5), "n"),
    "sk int key": (lambda: js.ising.sherrington_kirkpatrick(0, 6), "key"),
    "ea bad bonds": (lambda: js.ising.edwards_anderson(KEY, (4, 4), bonds="uniform"), "bonds"),
    # --- ising: energies, fields, conversions
    "energy 0/1 spins": (lambda: js.ising.energy(LAT, S01), "spins"),
    "energy wrong shape": (lambda: js.ising.energy(LAT, jnp.ones((4, 5))), "spins"),
    "energy not a model": (lambda: js.ising.energy(W3, jnp.ones(3)), "model"),
    "energy_per_spin 0/1 spins": (lambda: js.ising.energy_per_spin(LAT, S01), "spins"),
    "local_field 0/1 spins": (lambda: js.ising.local_field(LAT, S01), "spins"),
    "local_field wrong shape": (lambda: js.ising.local_field(SK, jnp.ones(5)), "spins"),
    "local_field NaN spins": (lambda: js.ising.local_field(LAT, S44.at[0, 0].set(jnp.nan)), "spins"),
    "local_field not a model": (lambda: js.ising.local_field("lattice", S44), "model"),
    "magnetization 0/1 spins": (lambda: js.ising.magnetization(S01), "spins"),
    "magnetization wrong shape": (lambda: js.ising.magnetization(jnp.ones((3, 3)), LAT), "spins"),
    "random_spins int key": (lambda: js.ising.random_spins(0, (4, 4)), "key"),
    "random_spins bad shape": (lambda: js.ising.random_spins(KEY, (4, -1)), "shape"),
    "random_spins magnetization > 1": (lambda: js.ising.random_spins(KEY, (4, 4), magnetization=1.5), "magnetization"),
    "random_spins magnetization NaN": (lambda: js.ising.random_spins(KEY, (4, 4), magnetization=jnp.nan), "magnetization"),
    "random_spins int dtype": (lambda: js.ising.random_spins(KEY, (4, 4), dtype=jnp.int32), "dtype"),
    "to_dense not a model": (lambda: js.ising.to_dense(W3), "model"),
    "to_neurons not a model": (lambda: js.ising.to_neurons(W3), "model"),
    "from_neurons W not square": (lambda: js.ising.from_neurons(jnp.ones((3, 4)), jnp.zeros(3)), "W"),
    "from_neurons theta length": (lambda: js.ising.from_neurons(W3, jnp.zeros(4)), "theta"),
    "from_neurons W asymmetric": (lambda: js.ising.from_neurons(W3.at[0, 1].set(2.0), jnp.zeros(3)), "W"),
    "neuron_energy spins as activities": (lambda: js.ising.neuron_energy(W3, jnp.zeros(3), -jnp.ones(3)), "activities"),
    "neuron_energy wrong length": (lambda: js.ising.neuron_energy(W3, jnp.zeros(3), jnp.ones(4)), "activities"),
    # --- exact
    "state_index 0/1 spins": (lambda: js.exact.state_index(S01, LAT), "spins"),
    "states n zero": (lambda: js.exact.states(0), "n"),
    "states start negative": (lambda: js.exact.states(4, start=-1), "start"),
    "states count too many": (lambda: js.exact.states(4, start=10, count=10), "count"),
    "enumerate too big": (lambda: js.exact.enumerate(js.ising.lattice((5, 5)), 0.3), "model"),
    "enumerate negative beta": (lambda: js.exact.enumerate(SK, -0.5), "beta"),
    "enumerate NaN beta": (lambda: js.exact.enumerate(SK, jnp.nan), "beta"),
    "enumerate not a model": (lambda: js.exact.enumerate(W3, 0.5), "model"),
    "enumerate chunk_size zero": (lambda: js.exact.enumerate(SK, 0.5, chunk_size=0), "chunk_size"),
    "ground_states too big": (lambda: js.exact.ground_states(js.ising.lattice((5, 5))), "model"),
    "ground_states negative atol": (lambda: js.exact.ground_states(SK, atol=-1.0), "atol"),
    "ground_states not a model": (lambda: js.exact.ground_states(W3), "model"),
    "onsager_energy negative T": (lambda: js.exact.onsager_energy(-1.0), "T"),
    "onsager_magnetization NaN T": (lambda: js.exact.onsager_magnetization(jnp.nan), "T"),
    "onsager_specific_heat negative T": (lambda: js.exact.onsager_specific_heat(-2.0), "T"),
    "elliptic_k k > 1": (lambda: js.exact.elliptic_k(1.5), "k"),
    "kaufman odd shape": (lambda: js.exact.kaufman((4,), 0.4), "shape"),
    "kaufman negative beta": (lambda: js.exact.kaufman((4, 4), -0.4), "beta"),
    # --- mcmc: sampler constructors
    "metropolis not a model": (lambda: js.mcmc.metropolis(W3), "model"),
    "glauber bad order": (lambda: js.mcmc.glauber(LAT, order="diagonal"), "order"),
    "single_spin bad rule": (lambda: js.mcmc.single_spin(LAT, rule="wolff"), "rule"),
    "checkerboard dense model": (lambda: js.mcmc.checkerboard(SK), "checkerboard"),
    "checkerboard odd periodic side": (lambda: js.mcmc.checkerboard(js.ising.lattice((5, 4))), "5"),
    "checkerboard bad rule": (lambda: js.mcmc.checkerboard(LAT, rule="heat"), "rule"),
    "swendsen_wang dense model": (lambda: js.mcmc.swendsen_wang(SK), "swendsen_wang"),
    "swendsen_wang antiferromagnet": (lambda: js.mcmc.swendsen_wang(js.ising.lattice((4, 4), J=-1.0)), "J"),
    "wolff bad method": (lambda: js.mcmc.wolff(LAT, method="bfs"), "method"),
    "wolff dense model": (lambda: js.mcmc.wolff(SK), "wolff"),
    "kawasaki dense model": (lambda: js.mcmc.kawasaki(SK), "kawasaki"),
    "kawasaki bad rule": (lambda: js.mcmc.kawasaki(LAT, rule="exchange"), "rule"),
    "parallel_tempering one rung": (lambda: js.mcmc.parallel_tempering(CB, jnp.array([0.4])), "betas"),
    "parallel_tempering negative beta": (lambda: js.mcmc.parallel_tempering(CB, jnp.array([-0.1, 0.4])), "betas"),
    "parallel_tempering NaN beta": (lambda: js.mcmc.parallel_tempering(CB, jnp.array([0.1, jnp.nan])), "betas"),
    "parallel_tempering bad scheme": (lambda: js.mcmc.parallel_tempering(CB, jnp.array([0.1, 0.4]), scheme="deo"), "scheme"),
    "parallel_tempering not a sampler": (lambda: js.mcmc.parallel_tempering(LAT, jnp.array([0.1, 0.4])), "sampler"),
    "equal_rejection_ladder length mismatch": (lambda: js.mcmc.equal_rejection_ladder(jnp.array([0.1, 0.2, 0.3]), jnp.array([0.5])), "rejection_rates"),
    # --- mcmc: init, step, run
    "init 0/1 spins": (lambda: CB.init(S01), "spins"),
    "init wrong shape": (lambda: CB.init(jnp.ones((4, 5))), "spins"),
    "step int key": (lambda: CB.step(0, CB.init(S44), 0.4), "key"),
    "step negative beta": (lambda: CB.step(KEY, CB.init(S44), -0.4), "beta"),
    "step state of another sampler": (lambda: CB.step(KEY, S44, 0.4), "state"),
    "run int key": (lambda: js.mcmc.run(0, CB, S44, 0.4, 5), "key"),
    "run not a sampler": (lambda: js.mcmc.run(KEY, LAT, S44, 0.4, 5), "sampler"),
    "run n_sweeps zero": (lambda: js.mcmc.run(KEY, CB, S44, 0.4, 0), "n_sweeps"),
    "run n_sweeps float": (lambda: js.mcmc.run(KEY, CB, S44, 0.4, 5.5), "n_sweeps"),
    "run negative burn_in": (lambda: js.mcmc.run(KEY, CB, S44, 0.4, 5, burn_in=-1), "burn_in"),
    "run thin zero": (lambda: js.mcmc.run(KEY, CB, S44, 0.4, 5, thin=0), "thin"),
    "run NaN beta": (lambda: js.mcmc.run(KEY, CB, S44, jnp.nan, 5), "beta"),
    "run 0/1 spins": (lambda: js.mcmc.run(KEY, CB, S01, 0.4, 5), "spins"),
    "run observe not callable": (lambda: js.mcmc.run(KEY, CB, S44, 0.4, 5, observe="energy"), "observe"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_a_clear_value_error(name):
    call, argument = CASES[name]
    with pytest.raises(ValueError, match=argument):
        call()


def test_enough_cases():
    assert len(CASES) >= 80


# --- inside transformations: nothing can raise, so invalid values give NaN ---------------


def _floating(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]


def test_traced_neuron_states_give_nan_fields_and_energies_per_configuration():
    batch = jnp.stack([S44, S01])
    e = np.asarray(jax.vmap(lambda s: js.ising.energy(LAT, s))(batch))
    h = np.asarray(jax.vmap(lambda s: js.ising.local_field(LAT, s))(batch))
    assert np.isfinite(e[0]) and np.isnan(e[1])
    assert np.isfinite(h[0]).all() and np.isnan(h[1]).all()


def test_traced_negative_or_nan_beta_in_enumeration_and_onsager_give_nan():
    betas = jnp.array([0.3, -0.3, jnp.nan])
    r = jax.vmap(lambda b: js.exact.enumerate(SK, b))(betas)
    # every beta-dependent output (the energies of the states are the model's, and beta is echoed)
    for leaf in _floating(r._replace(energies=None, beta=None)):
        assert np.isfinite(leaf[0]).all() and np.isnan(leaf[1:]).all()
    e = np.asarray(jax.jit(js.exact.onsager_energy)(jnp.array([2.0, -2.0])))
    assert np.isfinite(e[0]) and np.isnan(e[1])


def test_traced_bad_beta_in_a_ladder_nans_that_chain_of_run_everywhere():
    f = jax.vmap(lambda b: js.mcmc.run(KEY, CB, S44, b, 3))
    state, trace = f(jnp.array([0.4, -0.4]))
    for leaf in _floating((state.energy, trace)):
        assert np.isfinite(leaf[0]).all() and np.isnan(leaf[1]).all()
    # the spins of the bad chain are NaN too, not a plausible configuration
    assert np.isnan(np.asarray(state.spins[1])).all()
