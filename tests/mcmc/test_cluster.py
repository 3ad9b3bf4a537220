"""Swendsen–Wang, Wolff and Kawasaki against exact enumeration, and their contracts.

The chi-square machinery of exactness.py (independent chains from random
starts, final states histogrammed against the exact distribution, three
repeats combined with Fisher's method, mean energy within its error bar, at a
false-failure probability <= 1e-4 per test: exactness.assert_matches_exact):
a 4x4 torus with and without a field, a small 3D ferromagnet, and a 3x4 open
lattice with per-bond couplings. Cluster moves mix where local moves cannot,
so the betas reach into the ordered phase (beta = 0.7 on the 4x4 torus,
where a single-spin chain needs ~e^{11} attempts to tunnel). Kawasaki
dynamics is checked against the enumeration restricted to the sector of its
starting magnetization.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from helpers import ALPHA

from exactness import N_BINS, assert_matches_exact, check_against_exact, lattice_model, open_lattice_model


@functools.lru_cache(maxsize=None)
def torus_no_field():
    return js.ising.lattice((4, 4), J=1.0, h=0.0)


@functools.lru_cache(maxsize=None)
def cubic_model():
    """A 2x2x3 periodic ferromagnet (the length-2 axes couple each pair twice)."""
    return js.ising.lattice((2, 2, 3), J=0.5, h=0.05)


MODELS = {
    "torus": (torus_no_field, (0.2, 0.44, 0.7)),
    "torus-field": (lattice_model, (0.2, 0.44, 0.7)),
    "cubic": (cubic_model, (0.15, 0.3, 0.5)),
    "open-per-bond": (open_lattice_model, (0.2, 0.5, 0.8)),
}
# Wolff steps are single clusters, one or two sites each at high temperature:
# 128 of them flip every spin of these 12- and 16-site lattices about ten times
# at beta = 0.2, and far more often where clusters grow.
STEPS = {"swendsen_wang": 64, "wolff": 128}


@pytest.mark.parametrize("algorithm", sorted(STEPS))
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_cluster_sampler_matches_exact_distribution(algorithm, model_name):
    make, betas = MODELS[model_name]
    model = make()
    sampler = getattr(js.mcmc, algorithm)(model)
    p, energy_checks = check_against_exact(sampler, model, betas=betas, n_steps=STEPS[algorithm])
    # false failure <= 1e-4: chi-square at 5e-5 + 9 energy checks at 4.54 sigma (5.6e-6 each)
    assert_matches_exact(p, energy_checks, f"{algorithm} on {model_name}")


def test_cluster_chi_square_rejects_wrong_temperature():
    """Negative control: Swendsen–Wang run 20% too hot fails the same test."""
    model = lattice_model()
    p, _ = check_against_exact(js.mcmc.swendsen_wang(model), model, beta_scale=0.8, betas=(0.2, 0.44, 0.7))
    assert p < ALPHA, p  # negative control: a wrong sampler must fall below the stricter bar


# --------------------------------------------------------------------------- #
# Kawasaki: the sector of fixed magnetization
# --------------------------------------------------------------------------- #
def sector_classes(n_up):
    """Exact classes of the states with ``n_up`` up spins: equal-probability runs of
    the energy-ordered sector (as exactness.exact_classes does for the open lattice)."""

    def classes(model, beta):
        r = js.exact.enumerate(model, beta)
        states = np.asarray(js.exact.states(model.n))
        inside = (states > 0).sum(axis=1) == n_up
        energies = np.asarray(r.energies, np.float64)
        weights = np.where(inside, np.exp(-beta * (energies - energies[inside].min())), 0.0)
        probs = weights / weights.sum()
        order = np.lexsort((np.arange(len(probs)), energies))
        order = order[inside[order]]
        upper = np.cumsum(probs[order])
        bins = np.minimum(((upper - probs[order] / 2) * N_BINS).astype(np.int64), N_BINS - 1)
        cls = np.full(len(probs), -1, np.int64)
        cls[order] = bins
        uniq, dense_ids = np.unique(cls[inside], return_inverse=True)
        cls[inside] = dense_ids
        class_probs = np.bincount(dense_ids, weights=probs[inside], minlength=len(uniq))
        return cls, class_probs, float(np.sum(probs * energies))

    return classes


KAWASAKI_CASES = {
    # (model, magnetization per spin, betas)
    "open-per-bond": (open_lattice_model, 2 / 12, (0.2, 0.4, 0.6)),
    "torus": (torus_no_field, 0.0, (0.1, 0.25, 0.4)),
}


@pytest.mark.parametrize("rule", ["metropolis", "glauber"])
@pytest.mark.parametrize("case", sorted(KAWASAKI_CASES))
def test_kawasaki_samples_the_fixed_magnetization_sector(case, rule):
    make, m0, betas = KAWASAKI_CASES[case]
    model = make()
    n_up = round((1 + m0) * model.n / 2)

    def starts(key, n_chains):
        return jax.vmap(lambda k: js.ising.random_spins(k, model.shape, magnetization=m0))(
            jax.random.split(key, n_chains))

    p, energy_checks = check_against_exact(js.mcmc.kawasaki(model, rule), model, betas=betas, n_steps=128,
                                           spins0=starts, classes=sector_classes(n_up))
    # false failure <= 1e-4: chi-square at 5e-5 + 9 energy checks at 4.54 sigma (5.6e-6 each)
    assert_matches_exact(p, energy_checks, f"kawasaki {rule} on {case}")


def test_kawasaki_conserves_magnetization_exactly():
    m = js.ising.edwards_anderson(jax.random.key(0), (6, 8), h=0.3)
    s0 = js.ising.random_spins(jax.random.key(1), (6, 8), magnetization=-1 / 3)
    for rule in ("metropolis", "glauber"):
        state, trace = js.mcmc.run(jax.random.key(2), js.mcmc.kawasaki(m, rule), s0, 0.8, 50)
        np.testing.assert_array_equal(np.asarray(trace["magnetization"]), -1 / 3 * np.ones(50, np.float32))
        assert float(jnp.sum(state.spins)) == -16.0
        np.testing.assert_allclose(float(state.energy), float(js.ising.energy(m, state.spins)), atol=1e-3)
        assert 0 < float(trace["acceptance_rate"].mean()) < 1


def test_random_spins_at_fixed_magnetization():
    s = js.ising.random_spins(jax.random.key(0), (4, 6), magnetization=0.5)
    assert s.shape == (4, 6) and float(s.sum()) == 12.0
    with pytest.raises(ValueError, match=r"magnetization \* N must be an integer .* 0.5 and 0.583333"):
        js.ising.random_spins(jax.random.key(0), (4, 6), magnetization=0.55)
    with pytest.raises(ValueError, match=r"magnetization must be a number in \[-1, 1\]"):
        js.ising.random_spins(jax.random.key(0), (4, 6), magnetization=1.5)


# --------------------------------------------------------------------------- #
# contracts: beta = inf, what one step is, bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("make", [js.mcmc.swendsen_wang, js.mcmc.wolff])
def test_cluster_zero_temperature_and_info(make):
    """At beta = inf every aligned bond is active: from a random start on an open chain
    the clusters are the runs of equal spins. Flipping a run can only align it with
    a neighbouring run, so the energy never rises, and it reaches a ground state."""
    m = js.ising.lattice((12,), periodic=False)
    s0 = js.ising.random_spins(jax.random.key(0), (12,))
    state, trace = js.mcmc.run(jax.random.key(1), make(m), s0, jnp.inf, 40, observe=_energy_and_spins)
    e = np.asarray(trace["energy"])
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) <= 0)
    assert e[-1] == -11.0  # 40 steps: the runs have merged into one
    runs = 1 + int(np.sum(np.asarray(s0[1:] != s0[:-1])))
    if make is js.mcmc.swendsen_wang:
        assert int(trace["n_clusters"][0]) == runs and runs > 3
    else:
        # each step flips exactly the seed's run: a maximal block of equal spins,
        # as many sites as the reported cluster size
        spins = np.asarray(trace["spins"])
        before = np.concatenate([np.asarray(s0)[None], spins[:-1]])
        for t, (a, b) in enumerate(zip(before, spins)):
            flipped = np.flatnonzero(a != b)
            assert len(flipped) == int(trace["cluster_size"][t]) >= 1, t
            lo, hi = flipped[0], flipped[-1]
            assert hi - lo + 1 == len(flipped) and np.all(a[lo:hi + 1] == a[lo]), t  # one block of equal spins
            assert (lo == 0 or a[lo - 1] != a[lo]) and (hi == 11 or a[hi + 1] != a[hi]), t  # the whole run
    np.testing.assert_allclose(float(state.energy), float(js.ising.energy(m, state.spins)))


def _energy_and_spins(state):
    return {"energy": state.energy, "spins": state.spins}


def test_wolff_cluster_sizes_at_infinite_temperature():
    """beta = 0: no bond is ever active, every cluster is its seed and every step flips one spin."""
    m = js.ising.lattice((8, 8), h=0.2)
    _, trace = js.mcmc.run(jax.random.key(0), js.mcmc.wolff(m), jnp.ones((8, 8)), 0.0, 20)
    assert np.all(np.asarray(trace["cluster_size"]) == 1)
    np.testing.assert_allclose(np.asarray(trace["acceptance_rate"]), 1 / 64)


@pytest.mark.parametrize("h", [0.0, 0.3])
def test_wolff_methods_give_the_same_chain(h):
    """method="label" finds the seed's cluster by labelling them all: the same cluster as the
    frontier growth, so from the same key the same chain (with a field, the ghost's cluster too)."""
    J = jax.random.uniform(jax.random.key(1), (2, 6, 10), minval=0.3, maxval=1.0)
    m = js.ising.lattice((6, 10), J=J, h=h, periodic=(True, False))
    s0 = js.ising.random_spins(jax.random.key(2), (6, 10))
    runs = [js.mcmc.run(jax.random.key(3), js.mcmc.wolff(m, method=method), s0, 0.5, 30) for method in ("grow", "label")]
    np.testing.assert_array_equal(runs[0][0].spins, runs[1][0].spins)
    np.testing.assert_array_equal(runs[0][1]["cluster_size"], runs[1][1]["cluster_size"])


def test_cluster_samplers_do_not_recompile_for_new_couplings():
    import jaxstat.mcmc.driver as driver

    before = driver._run_compiled._cache_size()
    for seed in range(3):
        J = jax.random.uniform(jax.random.key(seed), (2, 6, 6), minval=0.2, maxval=1.0)
        m = js.ising.lattice((6, 6), J=J, h=0.1)
        js.mcmc.run(jax.random.key(0), js.mcmc.swendsen_wang(m), jnp.ones((6, 6)), 0.4, 3)
    assert driver._run_compiled._cache_size() - before == 1


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: js.mcmc.swendsen_wang(js.ising.edwards_anderson(jax.random.key(0), (4, 4))),
         r"ferromagnetic couplings J >= 0.*parallel_tempering"),
        (lambda: js.mcmc.wolff(js.ising.lattice((4, 4), J=-1.0)), r"ferromagnetic couplings J >= 0"),
        (lambda: js.mcmc.wolff(js.ising.sherrington_kirkpatrick(jax.random.key(0), 8)), r"lattice model"),
        (lambda: js.mcmc.kawasaki(js.ising.sherrington_kirkpatrick(jax.random.key(0), 8)), r"lattice model"),
        (lambda: js.mcmc.kawasaki(js.ising.lattice((4, 4)), rule="exchange"), r"rule must be one of"),
        (lambda: js.mcmc.wolff(js.ising.lattice((4, 4)), method="bfs"), r"method must be one of \('auto', 'grow', 'label'\)"),
        (lambda: js.mcmc.swendsen_wang(js.ising.lattice((4, 4))).init(jnp.ones((2, 4, 4))), r"one configuration"),
        (lambda: js.mcmc.run(jax.random.key(0), js.mcmc.wolff(js.ising.lattice((4, 4))), jnp.zeros((4, 4)), 0.3, 2),
         r"only -1 and \+1"),
        (lambda: js.mcmc.run(jax.random.key(0), js.mcmc.wolff(js.ising.lattice((4, 4))), jnp.ones((4, 4)), None, 2),
         r"beta must be an inverse temperature"),
    ],
)
def test_cluster_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_traced_antiferromagnetic_couplings_give_nan():
    """Couplings traced inside jit cannot be checked when the sampler is built: a negative
    bond makes the energy NaN instead of a plausible number."""

    @jax.jit
    def run(J):
        m = js.ising.lattice((4, 4), J=J)
        return js.mcmc.run(jax.random.key(0), js.mcmc.swendsen_wang(m), jnp.ones((4, 4)), 0.3, 3)[1]["energy"]

    # valid couplings: the same chain as without jit
    untraced = js.mcmc.run(jax.random.key(0), js.mcmc.swendsen_wang(js.ising.lattice((4, 4))), jnp.ones((4, 4)), 0.3, 3)
    np.testing.assert_allclose(np.asarray(run(jnp.ones((2, 4, 4)))), np.asarray(untraced[1]["energy"]), atol=1e-4)
    assert np.all(np.isnan(np.asarray(run(-jnp.ones((2, 4, 4))))))
