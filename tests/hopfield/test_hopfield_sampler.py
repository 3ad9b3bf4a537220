"""Hopfield retrieval as an mcmc sampler: exact finite-beta statistics, the zero-temperature tie
rule in every mode and pytree leaves (no recompile for new weights). Traced invalid input:
test_hopfield_bad_input.py."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from helpers import ALPHA, within_sigmas

import jaxstat as js
from jaxstat import hopfield

# the chi-square machinery of the mcmc sampler tests (tests/mcmc/exactness.py), reused
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mcmc"))
from exactness import check_against_exact


def hebbian_two_patterns(n=8):
    rng = np.random.default_rng(20261202)
    xi = rng.choice([-1.0, 1.0], size=(2, n)).astype(np.float32)
    return xi, hopfield.hebbian(xi)


# --------------------------------------------------------------------------- #
# finite beta: the async sampler samples exp(-beta E) / Z exactly
# --------------------------------------------------------------------------- #
def test_finite_beta_retrieval_matches_exact_enumeration():
    """N = 8, Hebbian W of 2 patterns. For each beta, 3 repeats x 1800 independent chains
    (vmapped js.mcmc.run from uniform random spins, 64 sweeps) give a histogram of the 256
    states, chi-square tested against exp(-beta E)/Z from js.exact.enumerate (bins with
    fewer than 5 expected counts pooled); the 9 p-values are combined with Fisher's method.
    Rejecting at ALPHA = 1e-4 fails a correct sampler with probability 1e-4. The mean
    energy of each repeat is within 4 standard errors of the exact one (two-sided
    Gaussian false-failure probability 6.3e-5 per check, 5.7e-4 for all 9: the chi-square
    test is the one held to 1e-4; the energy check is a coarse second look)."""
    _, W = hebbian_two_patterns()
    model = js.ising.dense(W)
    sampler = hopfield.retrieval_sampler(W, mode="async")
    # Barriers between the four stored states are ~ N/2 = 4: at beta <= 0.8 a chain
    # crosses them many times in 64 sweeps (measured: the p-values do not depend on 64 vs 256).
    p, energies = check_against_exact(sampler, model, betas=(0.25, 0.5, 0.8))
    assert p > ALPHA, p
    for mean, exact, se in energies:
        assert within_sigmas(mean, exact, se), (mean, exact, se)


def test_finite_beta_negative_control_wrong_temperature_is_rejected():
    """The same test must reject a sampler run at the wrong temperature (beta 0.5 labelled 0.8)."""
    _, W = hebbian_two_patterns()
    model = js.ising.dense(W)
    sampler = hopfield.retrieval_sampler(W)
    p, _ = check_against_exact(sampler, model, betas=(0.8,), beta_scale=0.5 / 0.8)
    assert p < ALPHA, p


def test_new_weights_of_the_same_shape_do_not_recompile():
    xi, W = hebbian_two_patterns(16)
    run = jax.jit(lambda sampler, s, beta: js.mcmc.run(jax.random.key(0), sampler, s, beta, 5)[0].energy)
    run(hopfield.retrieval_sampler(W), jnp.asarray(xi[0]), 1.0)
    size = run._cache_size()
    W2 = hopfield.hebbian(-xi[::-1] * xi[0])
    for sampler, beta in ((hopfield.retrieval_sampler(W2), 0.3), (hopfield.retrieval_sampler(W, 0.1), jnp.inf)):
        run(sampler, jnp.asarray(xi[1]), beta)
    assert run._cache_size() == size
    assert isinstance(hopfield.retrieval_sampler(W), js.mcmc.Sampler)
    leaves = jax.tree_util.tree_leaves(hopfield.retrieval_sampler(W, theta=0.5))
    assert any(leaf.shape == (16, 16) for leaf in leaves) and any(leaf.shape == (16,) for leaf in leaves)


def test_sampler_state_energy_and_sync_step():
    xi, W = hebbian_two_patterns(12)
    theta = jnp.linspace(-0.2, 0.2, 12)
    for mode in ("async", "sync"):
        sampler = hopfield.retrieval_sampler(W, theta, mode)
        state, trace = js.mcmc.run(jax.random.key(1), sampler, xi[0], 1.5, 6)
        s = np.asarray(state.spins, np.float64)
        e = -0.5 * s @ np.asarray(W, np.float64) @ s + np.asarray(theta, np.float64) @ s
        assert abs(float(state.energy) - e) < 1e-4, (mode, state.energy, e)
        np.testing.assert_allclose(state.field, np.asarray(W) @ s - np.asarray(theta), atol=1e-5)
        assert trace["energy"].shape == (6,) and trace["acceptance_rate"].shape == (6,)


# --------------------------------------------------------------------------- #
# zero temperature: a spin whose field is exactly zero keeps its value
# --------------------------------------------------------------------------- #
def tie_patterns(n=10, site=5):
    """Two patterns that differ only at ``site``. At s = +-xi^mu the Hebbian field there is
    N h = xi^1 N m_1 + xi^2 N m_2 - 2 s = 0 exactly (integer fields, P = 2 even), and every
    other site has N h_j s_j = 2N - 4 > 0: a fixed point with one exact tie."""
    base = np.random.default_rng(7).choice([-1.0, 1.0], size=n).astype(np.float32)
    other = base.copy()
    other[site] = -other[site]
    return np.stack([base, other])


def test_zero_field_sites_keep_their_spin_at_zero_temperature_in_every_mode():
    xi = tie_patterns()
    W = hopfield.hebbian(xi)
    probes = np.concatenate([xi, -xi])
    fields = np.asarray(probes @ np.asarray(W).T)
    assert np.all(fields[:, 5] == 0) and np.all(np.delete(fields * probes, 5, axis=1) > 0)
    # With a random sign on ties, 20 sweeps would move site 5 with probability 1 - 2^-(~20 visits).
    for mode in ("async", "sync"):
        r = hopfield.retrieve(jax.random.key(3), W, probes, n_sweeps=20, mode=mode)
        np.testing.assert_array_equal(r.states, probes, err_msg=mode)
        assert bool(r.converged.all())
        sampler = hopfield.retrieval_sampler(W, mode=mode)
        run = jax.vmap(lambda k, s, sampler=sampler: js.mcmc.run(k, sampler, s, jnp.inf, 20)[0].spins)
        np.testing.assert_array_equal(run(jax.random.split(jax.random.key(4), 4), probes), probes, err_msg=mode)
    # the dense memory of degree 2 is Hebb's network: the same tie, the same rule
    r = hopfield.dense_retrieve(jax.random.key(5), xi, probes, n_sweeps=20, degree=2)
    np.testing.assert_array_equal(r.states, probes)


def test_sync_zero_temperature_step_is_sign_of_field_with_ties_kept():
    """All 2^8 states of a Hebbian net with P = 4 (integer fields N h, many exact zeros)."""
    xi = np.random.default_rng(3).choice([-1.0, 1.0], size=(4, 8)).astype(np.float32)
    W = hopfield.hebbian(xi)
    states = np.asarray(js.exact.states(8), np.float32)
    h = states @ np.asarray(W).T
    assert (h == 0).sum() > 100   # ties are common here
    r = hopfield.retrieve(jax.random.key(0), W, states, n_sweeps=1, mode="sync")
    np.testing.assert_array_equal(r.states, np.where(h == 0, states, np.sign(h)))
