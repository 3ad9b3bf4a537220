"""Every sampler against exact enumeration.

For each sampler and several beta, many independent chains start from
uniformly random spins and run long enough to mix; their final states are
independent samples. A chi-square test compares their histogram with the
exact Boltzmann distribution (states of an 8-spin dense model; (E, M) classes
of a 4x4 lattice), three independent repeats combined with Fisher's method,
and the mean energy must lie within 4 standard errors of the exact value.
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
N_CHAINS = 1800  # per beta and repeat
N_REPEATS = 3
N_SWEEPS = 64


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
    # Lattice: classes by (E, M) so the histogram has few, well-filled bins.
    n = model.n
    energies = np.round(np.asarray(r.energies, np.float64), 4)
    states = np.asarray(js.exact.states(n))
    mags = states.sum(axis=1).astype(np.int64)
    keys = energies * 1000 + mags  # |M| <= 16 < 1000: unique pairs
    uniq, cls = np.unique(keys, return_inverse=True)
    class_probs = np.bincount(cls, weights=probs, minlength=len(uniq))
    return cls, class_probs, float(r.mean_energy)


def check_against_exact(sampler, model, beta_scale=1.0):
    """Return (combined p-value, list of (mean, exact, stderr))."""
    pvalues, energy_checks = [], []
    all_betas = DENSE_BETAS if isinstance(model, js.ising.DenseIsing) else LATTICE_BETAS
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
    "metropolis-seq-lattice": lambda: (js.mcmc.metropolis(lattice_model()), lattice_model()),
    "glauber-rand-lattice": lambda: (js.mcmc.glauber(lattice_model(), order="random"), lattice_model()),
    "checkerboard-metropolis": lambda: (js.mcmc.checkerboard(lattice_model(), "metropolis"), lattice_model()),
    "checkerboard-glauber": lambda: (js.mcmc.checkerboard(lattice_model(), "glauber"), lattice_model()),
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
