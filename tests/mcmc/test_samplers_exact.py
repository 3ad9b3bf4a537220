"""Every sampler against exact enumeration.

For each sampler and several beta, many independent chains start from
uniformly random spins and run long enough to mix; their final states are
independent samples. A chi-square test compares their histogram with the
exact Boltzmann distribution (states of an 8-spin dense model; (E, M) classes
of a 4x4 torus; equal-probability bins of the (M, E)-ordered states of a 3x4
open lattice with per-bond couplings), three independent repeats combined
with Fisher's method, and the mean energy must lie within 4 standard errors
of the exact value (1800 chains: the Gaussian limit is accurate).
A negative control shows the same test rejects a sampler run at the wrong
temperature, so the test can fail.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from helpers import ALPHA, chi2_pvalue, fisher_combine, within_sigmas

# Betas where chains from random starts mix within N_SWEEPS (a 4x4 torus
# needs ~exp(16 beta) attempts to tunnel between phases, so its betas stay
# below the ordered regime; the dense model's barriers are lower).
DENSE_BETAS = (0.2, 0.55, 1.0)
LATTICE_BETAS = (0.1, 0.25, 0.4)
# The open 3x4 lattice's cheapest domain wall cuts bonds summing to ~2.8
# (energy barrier ~5.6), so exp(5.6 beta) <= 16 sweeps; at beta = 0.6 chains
# still look mixed after 24 sweeps, at 0.8 not after 64.
OPEN_BETAS = (0.2, 0.35, 0.5)
N_CHAINS = 1800  # per beta and repeat
N_REPEATS = 3
N_SWEEPS = 64
N_BINS = 40  # histogram bins for the open lattice (see exact_classes)


@functools.lru_cache(maxsize=None)
def dense_model():
    rng = np.random.default_rng(20261122)
    n = 8
    g = rng.normal(size=(n, n)) * 0.45
    J = np.triu(g, 1)
    J = J + J.T
    h = rng.normal(size=n) * 0.4
    return js.ising.dense(J, h)


@functools.lru_cache(maxsize=None)
def lattice_model():
    return js.ising.lattice((4, 4), J=1.0, h=0.15, periodic=True)


@functools.lru_cache(maxsize=None)
def open_lattice_model():
    """3x4 open lattice, per-bond couplings in [0.5, 1.5]: boundary sites have 2 or 3 bonds."""
    rng = np.random.default_rng(20261123)
    J = rng.uniform(0.5, 1.5, size=(2, 3, 4))  # the wrap-around entries are dropped (open)
    return js.ising.lattice((3, 4), J=J, h=0.1, periodic=False)


def model_betas(model):
    if isinstance(model, js.ising.DenseIsing):
        return DENSE_BETAS
    return LATTICE_BETAS if all(model.periodic) else OPEN_BETAS


def final_states(sampler, model, betas, seed, n_chains):
    """Final spins and cached energies of independent chains: shape (n_betas, n_chains, ...)."""
    shape = js.ising.site_shape(model)
    key = jax.random.key(seed)
    k_init, k_run = jax.random.split(key)
    spins0 = js.ising.random_spins(k_init, (n_chains,) + shape)
    keys = jax.random.split(k_run, n_chains)

    def one(beta, k, s):
        state, _ = js.mcmc.run(k, sampler, s, beta, N_SWEEPS, thin=N_SWEEPS, observe=lambda st: st.energy)
        return state.spins, state.energy

    per_beta = jax.vmap(one, in_axes=(None, 0, 0))
    return jax.jit(jax.vmap(per_beta, in_axes=(0, None, None)))(jnp.asarray(betas), keys, spins0)


def exact_classes(model, beta):
    """(class id of every state, exact class probabilities, exact mean energy)."""
    r = js.exact.enumerate(model, beta)
    probs = np.asarray(r.probabilities, np.float64)
    if isinstance(model, js.ising.DenseIsing):
        return np.arange(len(probs)), probs, float(r.mean_energy)
    n = model.n
    energies = np.round(np.asarray(r.energies, np.float64), 4)
    states = np.asarray(js.exact.states(n))
    mags = states.sum(axis=1).astype(np.int64)
    if not all(model.periodic):
        # Per-bond couplings make almost every (E, M) pair unique: 4096 classes,
        # mostly far below 5 expected counts. Instead order the states by
        # (M, E) and cut that order into N_BINS runs of equal exact probability
        # (~N_CHAINS / N_BINS = 45 expected each), a partition fixed before
        # sampling that resolves the joint (M, E) distribution as finely as
        # the sample allows. A single state heavier than 1/N_BINS gets its own bin.
        order = np.lexsort((np.arange(len(probs)), energies, mags))
        upper = np.cumsum(probs[order])
        bins = np.minimum(((upper - probs[order] / 2) * N_BINS).astype(np.int64), N_BINS - 1)
        cls = np.empty(len(probs), np.int64)
        cls[order] = bins
        uniq, cls = np.unique(cls, return_inverse=True)
        return cls, np.bincount(cls, weights=probs, minlength=len(uniq)), float(r.mean_energy)
    # Torus with uniform couplings: classes by (E, M), few and well filled.
    keys = energies * 1000 + mags  # |M| <= 16 < 1000: unique pairs
    uniq, cls = np.unique(keys, return_inverse=True)
    class_probs = np.bincount(cls, weights=probs, minlength=len(uniq))
    return cls, class_probs, float(r.mean_energy)


def check_against_exact(sampler, model, beta_scale=1.0):
    """Return (combined p-value, list of (mean, exact, stderr))."""
    pvalues, energy_checks = [], []
    all_betas = model_betas(model)
    for rep in range(N_REPEATS):
        betas = np.asarray(all_betas) * beta_scale
        spins, cached = final_states(sampler, model, betas, 100 + rep, N_CHAINS)
        for b_idx, beta in enumerate(all_betas):
            cls, probs, mean_e = exact_classes(model, beta)
            flat = spins[b_idx].reshape(N_CHAINS, -1)
            ids = cls[np.asarray(js.exact.state_index(flat))]
            pvalues.append(chi2_pvalue(ids, probs))
            e = np.asarray(cached[b_idx], np.float64)
            # the cached energy must be the energy of the final spins
            np.testing.assert_allclose(e, np.asarray(js.ising.energy(model, spins[b_idx])), atol=1e-3)
            energy_checks.append((e.mean(), mean_e, e.std(ddof=1) / np.sqrt(N_CHAINS)))
    return fisher_combine(pvalues), energy_checks


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
    assert p > ALPHA, f"{name}: combined chi-square p-value {p:.2e}"
    for mean, exact, err in energy_checks:
        assert within_sigmas(mean, exact, err), f"{name}: <E> = {mean:.4f} vs exact {exact:.4f} (stderr {err:.4f})"


@pytest.mark.parametrize("name", ["glauber-seq-dense", "checkerboard-metropolis"])
def test_chi_square_rejects_wrong_temperature(name):
    """Negative control: a sampler run 20% too hot fails the same test."""
    sampler, model = SAMPLERS[name]()
    p, _ = check_against_exact(sampler, model, beta_scale=0.8)
    assert p < ALPHA


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
