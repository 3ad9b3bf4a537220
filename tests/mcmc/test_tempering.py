"""Parallel tempering: exchanges, round trips, targets single-spin moves cannot sample,
RBMs, stepping-stone free energies and the adaptive ladder."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from helpers import ALPHA, chi2_pvalue, fisher_combine, sigmas, within_sigmas, within_t


# --------------------------------------------------------------------------- #
# test samplers: frozen (no local moves) and exact (independent exact draws)
# --------------------------------------------------------------------------- #
@js.mcmc.register_sampler
class Frozen(js.mcmc.Sampler):
    """Local moves that do nothing: only the exchanges act."""

    model: object

    def init(self, spins):
        return js.mcmc.SpinState(spins, None, js.ising.energy(self.model, spins))

    def step(self, key, state, beta):
        return state, js.mcmc.SweepInfo(jnp.zeros(()))


@js.mcmc.register_sampler
class ExactDraws(js.mcmc.Sampler):
    """Each step an independent exact sample at beta: the 'efficient local exploration'
    under which Syed et al.'s round-trip formula holds."""

    model: object
    states: jax.Array
    energies: jax.Array

    def init(self, spins):
        return js.mcmc.SpinState(spins, None, js.ising.energy(self.model, spins))

    def step(self, key, state, beta):
        i = jax.random.categorical(key, -beta * self.energies)
        return js.mcmc.SpinState(self.states[i], None, self.energies[i]), js.mcmc.SweepInfo(jnp.ones(()))


def exact_draws(model):
    return ExactDraws(model, js.exact.states(model.n), js.exact.enumerate(model, 0.0).energies)


@functools.lru_cache(maxsize=None)
def glassy_model(n=10):
    """n spins with strong random couplings (an SK sample): a peaked, frustrated target."""
    rng = np.random.default_rng(20261202)
    g = np.triu(rng.normal(size=(n, n)) * 1.2, 1)
    return js.ising.dense(g + g.T, rng.normal(size=n) * 0.2)


@functools.lru_cache(maxsize=None)
def two_basin_model():
    """10 spins, ferromagnetic couplings with frustrated noise (J_ij = 1 + 0.6 g_ij, some
    negative) and a weak field: at beta = 3 the Boltzmann weight of the 'up' basin is
    ~e^{6 sum h} ~ 30 times the 'down' basin's, but escaping either by single flips costs
    ~e^{-50}, so Metropolis chains from random starts keep the ~50:50 split of their starts."""
    rng = np.random.default_rng(20261203)
    g = np.triu(1.0 + 0.6 * rng.normal(size=(10, 10)), 1)
    return js.ising.dense(g + g.T, 0.06 + 0.05 * rng.normal(size=10))


GLASSY_BETAS = np.geomspace(0.1, 3.0, 8)
TWO_BASIN_BETAS = np.geomspace(0.03, 3.0, 10)


# --------------------------------------------------------------------------- #
# the exchange itself
# --------------------------------------------------------------------------- #
def test_swap_probabilities_and_bookkeeping_by_hand():
    """With frozen local moves the energies never change: every alpha_i must equal
    min(1, exp((b_{i+1} - b_i)(E_{i+1} - E_i))) computed by hand, swaps happen only on
    the offered parity, and state.spins[i] / state.energy[i] follow the permutation."""
    m = js.ising.lattice((3, 3), periodic=False)
    rng = np.random.default_rng(0)
    spins = jnp.asarray(rng.choice([-1.0, 1.0], size=(5, 3, 3)), jnp.float32)
    betas = jnp.asarray([0.1, 0.3, 0.5, 0.8, 1.2])
    pt = js.mcmc.parallel_tempering(Frozen(m), betas)
    state = pt.init(spins)
    configs = {np.asarray(s).tobytes(): float(js.ising.energy(m, s)) for s in spins}
    for t in range(40):
        e = np.asarray(state.energy, np.float64)
        b = np.asarray(betas, np.float64)
        expected = np.minimum(1.0, np.exp((b[1:] - b[:-1]) * (e[1:] - e[:-1])))
        before = np.asarray(state.spins)
        state, info = pt.step(jax.random.key(t), state)
        np.testing.assert_allclose(np.asarray(info.swap_acceptance), expected, rtol=1e-5)
        swapped = np.asarray(info.swapped)
        assert not swapped[np.arange(4) % 2 != t % 2].any()  # nonreversible: parity t % 2 only
        after = np.asarray(state.spins)
        for i in range(4):
            if swapped[i]:
                np.testing.assert_array_equal(after[i], before[i + 1])
                np.testing.assert_array_equal(after[i + 1], before[i])
        for s, energy in zip(after, np.asarray(state.energy)):
            assert configs[s.tobytes()] == pytest.approx(float(energy))  # spins and energy stay paired
        np.testing.assert_array_equal(np.asarray(state.beta_index)[np.asarray(state.replica)], np.arange(5))


def test_swap_frequencies_match_alpha():
    """Frozen energies: each offered pair swaps with probability alpha_i. The swap count is a
    sum of Bernoulli(alpha_t / 2) given the past, with the variance below (martingale CLT);
    three two-sided checks at 4.15 sigma (1e-4 / 3 each): false failure <= 1e-4."""
    m = js.ising.lattice((3, 3), periodic=False)
    spins = js.ising.random_spins(jax.random.key(3), (4, 3, 3))
    pt = js.mcmc.parallel_tempering(Frozen(m), jnp.asarray([0.2, 0.35, 0.5, 0.7]), scheme="reversible")
    n = 4000
    state, trace = js.mcmc.run(jax.random.key(4), pt, spins, None, n)
    # the configurations sit at rungs that change, so compare step by step: P(swap | offered) = alpha
    alpha = np.asarray(trace["swap_acceptance"], np.float64)
    swapped = np.asarray(trace["swapped"], np.float64)
    # reversible: each pair is offered with probability 1/2 per step, independently of alpha
    expected = 0.5 * alpha.sum(axis=0)
    var = (0.5 * alpha * (1 - 0.5 * alpha)).sum(axis=0)
    for k in range(3):
        assert within_sigmas(swapped[:, k].sum(), expected[k], np.sqrt(var[k]), sigmas(ALPHA / 3)), (
            k, swapped[:, k].sum(), expected[k])


# --------------------------------------------------------------------------- #
# a target single-spin moves cannot sample
# --------------------------------------------------------------------------- #
@functools.partial(jax.jit, static_argnames="n_steps")
def _tempered_finals(pt, keys, spins0, n_steps):
    def one(k, s):
        state, _ = js.mcmc.run(k, pt, s, None, n_steps, thin=n_steps, observe=_energies)
        return state.spins, state.energy

    return jax.vmap(one)(keys, spins0)


def _energies(state):
    return state.energy


def _nothing(state):  # a dict record: the trace then holds the info fields alone
    return {}


def _state_pvalues(model, betas, spins, energies):
    """Chi-square of the final states at every rung against enumeration; mean energy checks."""
    pvalues, checks = [], []
    for i, beta in enumerate(betas):
        r = js.exact.enumerate(model, float(beta))
        ids = np.asarray(js.exact.state_index(spins[:, i]))
        pvalues.append(chi2_pvalue(ids, np.asarray(r.probabilities, np.float64)))
        # the cached energies are the states' energies (to float32 accumulation error)...
        exact_e = np.asarray(js.ising.energy(model, spins[:, i]), np.float64)
        np.testing.assert_allclose(np.asarray(energies[:, i], np.float64), exact_e, atol=1e-3)
        # ...and their mean is the exact mean within 4 standard errors. The standard error
        # comes from the exact variance: at the cold rungs the mean owes much of its value
        # to excited states too rare to appear in the sample, whose spread underestimates it.
        # Both sides use the enumeration's energies in float64: at the cold rungs float32 sums
        # ordered differently (vector width, CPU) differ by more than the standard error.
        e_all = np.asarray(r.energies, np.float64)
        w = np.exp(-float(beta) * (e_all - e_all.min()))
        mean = float(np.sum(w * e_all) / np.sum(w))
        stderr = np.sqrt(float(np.sum(w * (e_all - mean) ** 2) / np.sum(w)) / len(exact_e))
        checks.append((e_all[ids].mean(), mean, stderr))
    return pvalues, checks


TARGETS = {"glassy": (glassy_model, GLASSY_BETAS), "two-basin": (two_basin_model, TWO_BASIN_BETAS)}


@pytest.mark.parametrize("target,scheme", [("glassy", "nonreversible"), ("two-basin", "nonreversible"),
                                           ("two-basin", "reversible")])
def test_tempering_samples_a_peaked_target_at_every_rung(target, scheme):
    make, betas = TARGETS[target]
    model = make()
    n_chains, n_steps = 1500, 150
    pt = js.mcmc.parallel_tempering(js.mcmc.metropolis(model), betas, scheme=scheme)
    pvalues, checks = [], []
    for rep in range(2):
        k_init, k_run = jax.random.split(jax.random.key(50 + rep))
        spins0 = js.ising.random_spins(k_init, (n_chains, len(betas), 10))
        spins, energies = _tempered_finals(pt, jax.random.split(k_run, n_chains), spins0, n_steps)
        p, c = _state_pvalues(model, betas, np.asarray(spins), np.asarray(energies))
        pvalues += p
        checks += c
    # false failure <= ALPHA = 1e-4 (Bonferroni): the combined chi-square at ALPHA / 2, the
    # k = 2 x R energy checks (16 or 20) at ALPHA / (2k) each: 4.66 or 4.71 standard errors
    # (exact standard errors of the mean of 1500 independent draws)
    assert fisher_combine(pvalues) > ALPHA / 2, pvalues
    n_sigma = sigmas(ALPHA / (2 * len(checks)))
    for mean, exact, err in checks:
        assert within_sigmas(mean, exact, err, n_sigma), (mean, exact, err, n_sigma)


def test_single_spin_moves_alone_fail_the_two_basin_target():
    """Negative control: the same Metropolis chains at the cold rung, without exchanges
    and with as many sweeps, stay in the basins they fell into."""
    model = two_basin_model()
    beta = float(TWO_BASIN_BETAS[-1])
    n_chains, n_steps = 1500, 150
    k_init, k_run = jax.random.split(jax.random.key(50))
    spins0 = js.ising.random_spins(k_init, (n_chains, 10))

    def one(k, s):
        return js.mcmc.run(k, js.mcmc.metropolis(model), s, beta, n_steps, thin=n_steps)[0].spins

    spins = jax.jit(jax.vmap(one))(jax.random.split(k_run, n_chains), spins0)
    r = js.exact.enumerate(model, beta)
    p = chi2_pvalue(np.asarray(js.exact.state_index(spins)), np.asarray(r.probabilities, np.float64))
    assert p < ALPHA, p  # negative control: fails only if the test lacks power


# --------------------------------------------------------------------------- #
# round trips
# --------------------------------------------------------------------------- #
def _round_trip_rates(scheme, n_chains=24, n_steps=2000, burn_in=200):
    model = glassy_model(8)  # 256 states: exact draws stay cheap
    pt = js.mcmc.parallel_tempering(exact_draws(model), GLASSY_BETAS, scheme=scheme)

    def one(k):
        _, trace = js.mcmc.run(k, pt, jnp.ones(8), None, n_steps, burn_in=burn_in, observe=_nothing)
        return jnp.mean(trace["round_trips"]), jnp.mean(trace["swap_acceptance"], axis=0)

    rates, acceptance = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(7), n_chains))
    return np.asarray(rates, np.float64), np.asarray(acceptance, np.float64)


def test_nonreversible_round_trip_rate_matches_theory_and_beats_reversible():
    """Syed et al. (2022), Theorem 3: with efficient local exploration the non-reversible
    scheme completes [2 + 2 sum_i r_i / (1 - r_i)]^-1 round trips per step (all replicas
    together), for rejection rates r_i. Checked with exact independent draws as the
    local moves, against the r_i measured in the same runs (their error is ~1e-3 and
    moves the prediction by far less than the rate's standard error). The reversible
    (stochastic even-odd) scheme completes [2(R - 1) + 2 sum_i r_i / (1 - r_i)]^-1
    (the same theorem, R - 1 pairs). Each rate is a mean over 24 independent chains,
    checked by a two-sided t-test with 23 dof at ALPHA / 2 = 5e-5 (4.97 standard
    errors): false failure <= 1e-4 for the two. The theories differ by ~70 standard
    errors of the difference, so `diff > 4 err` fails a correct sampler with
    probability Phi(4 - 70) ~ 0."""
    rates, acceptance = _round_trip_rates("nonreversible")
    r = 1.0 - acceptance.mean(axis=0)
    assert r.max() > 0.2  # hard pairs: the prediction is far from the r = 0 value of 1/2
    theory = 1.0 / (2.0 + 2.0 * np.sum(r / (1.0 - r)))
    n = len(rates)
    assert within_t(rates.mean(), theory, rates.std(ddof=1) / np.sqrt(n), n - 1, ALPHA / 2), (rates.mean(), theory)
    rev_rates, rev_acceptance = _round_trip_rates("reversible")
    r_rev = 1.0 - rev_acceptance.mean(axis=0)
    rev_theory = 1.0 / (2.0 * len(r_rev) + 2.0 * np.sum(r_rev / (1.0 - r_rev)))
    assert within_t(rev_rates.mean(), rev_theory, rev_rates.std(ddof=1) / np.sqrt(n), n - 1, ALPHA / 2), (
        rev_rates.mean(), rev_theory)
    diff = rates.mean() - rev_rates.mean()
    err = np.sqrt(rates.var(ddof=1) / n + rev_rates.var(ddof=1) / n)
    assert diff > 4 * err, (rates.mean(), rev_rates.mean(), err)


# --------------------------------------------------------------------------- #
# RBMs
# --------------------------------------------------------------------------- #
def test_tempered_rbm_samples_the_visible_distribution():
    """PT over an RBM's block Gibbs sampler: the visible states at every rung against
    p_beta(v) = exp(-F_beta(v)) / Z_beta, exact from the free energy and exact_log_z of the
    beta-scaled parameters (a Bernoulli RBM at beta is the RBM with beta * params)."""
    params = js.boltzmann.rbm(jax.random.key(11), 6, 4, scale=2.5)
    betas = np.asarray([0.25, 0.5, 0.75, 1.0])
    pt = js.mcmc.parallel_tempering(js.boltzmann.block_gibbs(params), betas)
    n_chains, n_steps = 2000, 60
    k_init, k_run = jax.random.split(jax.random.key(12))
    v0 = jax.random.bernoulli(k_init, 0.5, (n_chains, 4, 6)).astype(jnp.float32)
    spins, _ = _tempered_finals(pt, jax.random.split(k_run, n_chains), v0, n_steps)
    spins = np.asarray(spins)
    all_v = js.exact.states(6)
    all_v = (all_v + 1) / 2  # state_index order, as 0/1 units
    pvalues = []
    for i, beta in enumerate(betas):
        scaled = jax.tree.map(lambda x: beta * x, params)
        logp = -js.boltzmann.free_energy(scaled, all_v) - js.boltzmann.exact_log_z(scaled)
        probs = np.exp(np.asarray(logp, np.float64))
        assert abs(probs.sum() - 1) < 1e-4
        ids = np.asarray(js.exact.state_index(2 * spins[:, i] - 1))
        pvalues.append(chi2_pvalue(ids, probs))
    assert fisher_combine(pvalues) > ALPHA, pvalues  # the only statistical check: false failure 1e-4


# --------------------------------------------------------------------------- #
# free energies and the ladder
# --------------------------------------------------------------------------- #
def test_stepping_stone_against_enumeration():
    model = glassy_model()
    betas = np.linspace(0.0, 1.5, 12)
    pt = js.mcmc.parallel_tempering(js.mcmc.metropolis(model), betas)
    _, trace = js.mcmc.run(jax.random.key(5), pt, jnp.ones(10), None, 8000, burn_in=500)
    r = js.stats.stepping_stone(betas, trace["energy"])
    exact0 = float(js.exact.enumerate(model, 0.0).log_z)
    # The error bars come from the integrated autocorrelation time of each cumulative series
    # (hundreds of effective samples here); each check is a two-sided t-test with 31 dof, more
    # conservative than the normal limit the error bars are calibrated for (tests/test_stats_stepping_stone.py);
    # 11 checks at ALPHA / 11 each, t_31 = 5.30 (Bonferroni holds for the correlated sums):
    # false failure <= 1e-4.
    for i, beta in enumerate(betas[1:], start=1):
        exact = float(js.exact.enumerate(model, float(beta)).log_z) - exact0
        assert within_t(r.log_z[i], exact, r.log_z_stderr[i], 31, ALPHA / (len(betas) - 1)), (
            i, float(r.log_z[i]), exact, float(r.log_z_stderr[i]))
    assert float(r.log_z_stderr[-1]) < 0.1  # informative: log Z(1.5) - log Z(0) is about 40


def test_tune_ladder_equalizes_rejection_rates():
    """A linear ladder on the glassy model puts most of the barrier in its hottest pair
    (r = 0.95); the tuned ladder spreads it evenly: the spread of the rates shrinks,
    the worst pair improves, and the barrier estimate settles over the last rounds
    (on the saturated linear ladder the sum of rates underestimates it).

    With exact draws as local moves the steps are independent, so every rate is a mean
    of independent alphas with standard error std / sqrt(n_steps) (~0.005 here). The
    two ladder comparisons hold by >= 40 standard errors (measured: spread 0.05 vs
    0.47, worst pair 0.24 vs 0.95): false failure ~Phi(-40) ~ 0. The barrier check
    is a two-sided 3.89-sigma test (1e-4) of the last two rounds' estimates against
    each other (standard error 0.015; the ladders of those rounds differ slightly, but the
    measured difference is 0.011, 0.7 se; the former bound 0.15 * barrier was 15 se wide)."""
    model = glassy_model()
    linear = np.linspace(0.1, 3.0, 8)
    tuned = js.mcmc.tune_ladder(jax.random.key(2), exact_draws(model), jnp.ones(10), linear,
                                n_rounds=5, n_sweeps=200)
    _, acc_linear = _ladder_acceptance(model, linear)
    trace_tuned, acc_tuned = _ladder_acceptance(model, np.asarray(tuned.betas))
    r_lin, r_tun = 1 - acc_linear, 1 - acc_tuned
    assert r_tun.max() - r_tun.min() < 0.5 * (r_lin.max() - r_lin.min()), (r_lin, r_tun)
    assert r_tun.max() < r_lin.max()
    last, before = tuned.barrier_history[-1], tuned.barrier_history[-2]
    # rounds 4 and 5 ran 200 * 2**3 and 200 * 2**4 independent steps; the spread of the
    # per-step sum of the alphas on the tuned ladder is that of each round's barrier estimate
    step_sd = np.asarray(trace_tuned["swap_acceptance"], np.float64).sum(axis=1).std(ddof=1)
    err = step_sd * np.sqrt(1 / 1600 + 1 / 3200)
    assert within_sigmas(last, before, err, sigmas(ALPHA)), (tuned.barrier_history, err)
    assert tuned.suggested_n_rungs == int(np.ceil(2 * tuned.barrier))
    assert tuned.betas[0] == pytest.approx(0.1) and tuned.betas[-1] == pytest.approx(3.0)


def _ladder_acceptance(model, betas, n_steps=4000):
    pt = js.mcmc.parallel_tempering(exact_draws(model), betas)
    _, trace = js.mcmc.run(jax.random.key(9), pt, jnp.ones(10), None, n_steps, observe=_nothing)
    return trace, np.asarray(trace["swap_acceptance"], np.float64).mean(axis=0)


# --------------------------------------------------------------------------- #
# contracts
# --------------------------------------------------------------------------- #
def test_retuned_ladder_reuses_the_compiled_run():
    import jaxstat.mcmc.driver as driver

    m = js.ising.lattice((4, 4))
    before = driver._run_compiled._cache_size()
    for top in (0.5, 0.6, 0.7):
        pt = js.mcmc.parallel_tempering(js.mcmc.checkerboard(m), jnp.linspace(0.1, top, 4))
        state, trace = js.mcmc.run(jax.random.key(0), pt, jnp.ones((4, 4)), None, 5)
    assert driver._run_compiled._cache_size() - before == 1
    assert trace["energy"].shape == (5, 4) and trace["magnetization"].shape == (5, 4)
    assert trace["base"].acceptance_rate.shape == (5, 4) and trace["beta_index"].shape == (5, 4)
    # continuing from the returned state
    state2, _ = js.mcmc.run(jax.random.key(1), pt, state, None, 5)
    assert int(state2.n_steps) == 10


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda s: js.mcmc.parallel_tempering(s, [0.5, 0.3, 0.7]), r"strictly increasing .* betas\[0\] = 0.5"),
        (lambda s: js.mcmc.parallel_tempering(s, [0.1, float("nan")]), r"betas must be finite"),
        (lambda s: js.mcmc.parallel_tempering(s, [0.4]), r"at least two"),
        (lambda s: js.mcmc.parallel_tempering(s, [[0.1, 0.2]]), r"1-D ladder"),
        (lambda s: js.mcmc.parallel_tempering(s, [-0.1, 0.2]), r">= 0"),
        (lambda s: js.mcmc.parallel_tempering(s, [0.1, 0.2], scheme="swap"), r"scheme must be one of"),
        (lambda s: js.mcmc.parallel_tempering("metropolis", [0.1, 0.2]), r"sampler must be a jaxstat sampler"),
        (lambda s: js.mcmc.parallel_tempering(js.mcmc.parallel_tempering(s, [0.1, 0.2]), [0.1, 0.2]),
         r"sampler must be a jaxstat sampler"),
        (lambda s: js.mcmc.run(jax.random.key(0), js.mcmc.parallel_tempering(s, [0.1, 0.2]), jnp.ones((4, 4)), 0.3, 2),
         r"beta must be None"),
        (lambda s: js.mcmc.parallel_tempering(s, [0.1, 0.2]).init(jnp.ones((3, 4, 4))), r"one per rung of shape"),
        (lambda s: js.mcmc.parallel_tempering(s, [0.1, 0.2, 0.3]).step(
            jax.random.key(0), js.mcmc.parallel_tempering(s, [0.1, 0.2]).init(jnp.ones((4, 4)))),
         r"state has 2 rungs but this ladder has R = 3"),
        (lambda s: js.mcmc.parallel_tempering(s, [0.1, 0.2]).init(jnp.zeros((4, 4))), r"only -1 and \+1"),
    ],
)
def test_tempering_bad_input(call, match):
    sampler = js.mcmc.metropolis(js.ising.lattice((4, 4)))
    with pytest.raises(ValueError, match=match):
        call(sampler)
