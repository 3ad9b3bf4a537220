"""Every sampler against exact enumeration.

For each sampler and several beta, many independent chains start from
uniformly random spins and run long enough to mix; their final states are
independent samples. A chi-square test compares their histogram with the
exact Boltzmann distribution (states of an 8-spin dense model; (E, M) classes
of a 4x4 torus; equal-probability bins of the (M, E)-ordered states of a 3x4
open lattice with per-bond couplings), three independent repeats combined
with Fisher's method, and the mean energy must lie within its error bar of
the exact value (1800 chains: the Gaussian limit is accurate). Each test
fails a correct sampler with probability <= 1e-4 (chi-square at 5e-5, nine
energy checks at 4.54 sigma, Bonferroni: exactness.assert_matches_exact).
A negative control shows the same test rejects a sampler run at the wrong
temperature, so the test can fail.
"""

import jax
import numpy as np
import pytest

import jaxstat as js
from helpers import ALPHA

from exactness import assert_matches_exact, check_against_exact, dense_model, lattice_model, open_lattice_model

SAMPLERS = {
    "metropolis-seq-dense": lambda: (js.mcmc.metropolis(dense_model()), dense_model()),
    "metropolis-rand-dense": lambda: (js.mcmc.metropolis(dense_model(), order="random"), dense_model()),
    "glauber-seq-dense": lambda: (js.mcmc.glauber(dense_model()), dense_model()),
    "glauber-rand-dense": lambda: (js.mcmc.glauber(dense_model(), order="random"), dense_model()),
    # block_size=3 < n = 8: three blocks, the last padded, so the blocked
    # sweep's padding and cross-block field refresh are exercised.
    "glauber-seq-dense-block3": lambda: (
        js.mcmc.single_spin(dense_model(), "glauber", "sequential", block_size=3), dense_model()),
    "metropolis-rand-dense-block3": lambda: (
        js.mcmc.single_spin(dense_model(), "metropolis", "random", block_size=3), dense_model()),
    "metropolis-seq-lattice": lambda: (js.mcmc.metropolis(lattice_model()), lattice_model()),
    "glauber-rand-lattice": lambda: (js.mcmc.glauber(lattice_model(), order="random"), lattice_model()),
    "checkerboard-metropolis": lambda: (js.mcmc.checkerboard(lattice_model(), "metropolis"), lattice_model()),
    "checkerboard-glauber": lambda: (js.mcmc.checkerboard(lattice_model(), "glauber"), lattice_model()),
    # open boundaries, per-bond couplings
    "checkerboard-glauber-open": lambda: (js.mcmc.checkerboard(open_lattice_model(), "glauber"), open_lattice_model()),
    "metropolis-seq-open": lambda: (js.mcmc.metropolis(open_lattice_model()), open_lattice_model()),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_matches_exact_distribution(name):
    sampler, model = SAMPLERS[name]()
    p, energy_checks = check_against_exact(sampler, model)
    assert_matches_exact(p, energy_checks, name)  # false failure <= 1e-4 (chi-square 5e-5 + 9 x 5.6e-6)


@pytest.mark.parametrize("name", ["glauber-seq-dense", "checkerboard-metropolis"])
def test_chi_square_rejects_wrong_temperature(name):
    """Negative control: a sampler run 20% too hot fails the same test."""
    sampler, model = SAMPLERS[name]()
    p, _ = check_against_exact(sampler, model, beta_scale=0.8)
    # a negative control: it fails only if the wrong sampler passes (the test's power),
    # so the stricter ALPHA, not ALPHA / 2, is the bar it must fall below
    assert p < ALPHA, p


@pytest.mark.parametrize("rule,order", [("glauber", "sequential"), ("metropolis", "random")])
def test_blocked_dense_sweep_is_the_same_chain(rule, order):
    """The delayed field refresh changes the arithmetic, not the chain.

    The blocked sweep consumes the same random numbers as a refresh after
    every flip (block_size=1), so from the same key every block size gives the
    same spins, up to float32 rounding of the fields deciding a near-tie (none
    at these seeds). n = 20: block size 3 leaves a padded last block, 64
    exceeds n (one block).
    """
    m = js.ising.sherrington_kirkpatrick(jax.random.key(7), 20, h=0.2)
    s0 = js.ising.random_spins(jax.random.key(8), (20,))
    finals = {}
    for b in (1, 3, 64):
        sampler = js.mcmc.single_spin(m, rule, order, block_size=b)
        state, trace = js.mcmc.run(jax.random.key(9), sampler, s0, 0.7, 6)
        np.testing.assert_allclose(float(state.energy), float(js.ising.energy(m, state.spins)), atol=1e-3)
        np.testing.assert_allclose(np.asarray(state.field), np.asarray(js.ising.local_field(m, state.spins)), atol=1e-4)
        finals[b] = (np.asarray(state.spins), np.asarray(trace["acceptance_rate"]))
    for b in (3, 64):
        np.testing.assert_array_equal(finals[b][0], finals[1][0], err_msg=f"block_size={b}")
        np.testing.assert_array_equal(finals[b][1], finals[1][1], err_msg=f"block_size={b}")
