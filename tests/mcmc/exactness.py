"""Exact-enumeration checks shared by the sampler tests (see test_samplers_exact.py).

For each sampler and several beta, many independent chains start from
uniformly random spins and run long enough to mix; their final states are
independent samples. A chi-square test compares their histogram with the
exact Boltzmann distribution, repeats combined with Fisher's method, and the
mean energy must lie within its error bar of the exact value
(:func:`assert_matches_exact`).

False-failure budget: ALPHA = 1e-4 per test, Bonferroni-split. Half goes to
the one combined chi-square p-value (it fails a correct sampler with
probability exactly its threshold, ALPHA / 2 = 5e-5); the other half is
shared by the k energy checks (k = 3 betas x 3 repeats = 9), each a
two-sided Gaussian check at ALPHA / (2k): 4.54 standard errors for k = 9
(the standard error is the spread of 1800 independent final energies, so
its own error, ~1.7%, and the t correction are negligible). A correct
sampler fails a test with probability <= 5e-5 + 9 * 5.6e-6 = 1e-4.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jaxstat as js
from helpers import ALPHA, chi2_pvalue, fisher_combine, sigmas, within_sigmas

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


def _energy(state):  # module level: one compiled run per sampler structure
    return state.energy


@functools.partial(jax.jit, static_argnames="n_steps")
def _final_states(sampler, betas, keys, spins0, n_steps):
    """Compiled once per sampler *structure*: the repeats and other models of the
    same shapes reuse it (the sampler is a pytree argument)."""

    def one(beta, k, s):
        state, _ = js.mcmc.run(k, sampler, s, beta, n_steps, thin=n_steps, observe=_energy)
        return state.spins, state.energy

    per_beta = jax.vmap(one, in_axes=(None, 0, 0))
    return jax.vmap(per_beta, in_axes=(0, None, None))(betas, keys, spins0)


def final_states(sampler, model, betas, seed, n_chains, n_steps=N_SWEEPS, spins0=None):
    """Final spins and cached energies of independent chains: shape (n_betas, n_chains, ...).

    Chains start from uniformly random spins, or from ``spins0(key, n_chains)``.
    """
    shape = js.ising.site_shape(model)
    key = jax.random.key(seed)
    k_init, k_run = jax.random.split(key)
    if spins0 is None:
        spins0 = js.ising.random_spins(k_init, (n_chains,) + shape)
    else:
        spins0 = spins0(k_init, n_chains)
    keys = jax.random.split(k_run, n_chains)
    return _final_states(sampler, jnp.asarray(betas, model.dtype), keys, spins0, n_steps)


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


def check_against_exact(sampler, model, beta_scale=1.0, betas=None, n_steps=N_SWEEPS, spins0=None, classes=None):
    """Return (combined p-value, list of (mean, exact, stderr)).

    ``classes(model, beta)`` may replace :func:`exact_classes` (e.g. for a
    sector of fixed magnetization).
    """
    pvalues, energy_checks = [], []
    all_betas = model_betas(model) if betas is None else betas
    classes = exact_classes if classes is None else classes
    for rep in range(N_REPEATS):
        run_betas = np.asarray(all_betas) * beta_scale
        spins, cached = final_states(sampler, model, run_betas, 100 + rep, N_CHAINS, n_steps, spins0)
        for b_idx, beta in enumerate(all_betas):
            cls, probs, mean_e = classes(model, beta)
            flat = spins[b_idx].reshape(N_CHAINS, -1)
            ids = cls[np.asarray(js.exact.state_index(flat))]
            pvalues.append(chi2_pvalue(ids, probs))
            e = np.asarray(cached[b_idx], np.float64)
            # the cached energy must be the energy of the final spins
            np.testing.assert_allclose(e, np.asarray(js.ising.energy(model, spins[b_idx])), atol=1e-3)
            energy_checks.append((e.mean(), mean_e, e.std(ddof=1) / np.sqrt(N_CHAINS)))
    return fisher_combine(pvalues), energy_checks


def assert_matches_exact(p, energy_checks, label):
    """The assertions on :func:`check_against_exact`'s output, at a per-test
    false-failure probability of ALPHA = 1e-4 (module docstring): the combined
    chi-square p-value above ALPHA / 2, every mean energy within
    sigmas(ALPHA / (2k)) standard errors of the exact value (k checks)."""
    assert p > ALPHA / 2, f"{label}: combined chi-square p-value {p:.2e}"
    n_sigma = sigmas(ALPHA / (2 * len(energy_checks)))
    for mean, exact, err in energy_checks:
        assert within_sigmas(mean, exact, err, n_sigma), (
            f"{label}: <E> = {mean:.4f} vs exact {exact:.4f} (stderr {err:.4f}, {n_sigma:.2f} sigma)")
