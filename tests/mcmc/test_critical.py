"""Every lattice sampler at the critical coupling against the exact finite torus (Kaufman).

At K_c autocorrelation is at its worst, and Onsager's infinite-lattice values
do not apply to a 16x16 or 32x32 torus; js.exact.kaufman gives that torus's
exact energy and specific heat. Independent chains from random starts run
far past their correlation time; each chain's mean energy per spin is one
sample, and the specific heat is the pooled estimator
c = beta^2 (<E^2> - <E>^2) / N with a jackknife error over chains (its bias
is O(tau / (chains x sweeps)), far below the error bar). Both are checked
with a two-sided t-test with N_CHAINS - 1 = 31 dof (helpers.within_t) at
ALPHA / 2 = 5e-5 each (t = 4.70 standard errors), so a correct sampler fails a
test with probability <= 1e-4 (Bonferroni over the two checks; for the
jackknifed specific heat the t distribution is the usual approximation).
"""

import functools

import jax
import numpy as np
import pytest

import jaxstat as js
from helpers import ALPHA, within_t

BETA_C = float(np.log(1 + np.sqrt(2)) / 2)
N_CHAINS = 32

# (sampler factory, steps per sweep-equivalent): a Wolff step is one cluster,
# about 0.4 N sites at K_c, so ~2.5 clusters make a sweep.
SAMPLERS = {
    "checkerboard-metropolis": (lambda m: js.mcmc.checkerboard(m, "metropolis"), 1),
    "checkerboard-glauber": (lambda m: js.mcmc.checkerboard(m, "glauber"), 1),
    # multi-spin coding: 32 spins to a word, its own random stream
    "checkerboard-packed": (lambda m: js.mcmc.checkerboard(m, "metropolis", packed=True), 1),
    "metropolis": (js.mcmc.metropolis, 1),
    "glauber": (lambda m: js.mcmc.glauber(m, order="random"), 1),
    "swendsen_wang": (js.mcmc.swendsen_wang, 1),
    "wolff": (js.mcmc.wolff, 3),
}
# sweeps: local moves decorrelate the energy in ~tau_E ~ 10 (L=16) to ~25 (L=32)
# sweeps at K_c and |m| in ~L^2.17 / 10, so burn-in is > 30 tau_|m|.
SWEEPS = {16: (400, 1500), 32: (1200, 2500)}  # (burn-in, recorded)


def _energy(state):
    return state.energy


@functools.partial(jax.jit, static_argnames=("burn_in", "n_steps"))
def _energies(sampler, keys, spins0, burn_in, n_steps):
    def one(k, s):
        return js.mcmc.run(k, sampler, s, BETA_C, n_steps, burn_in=burn_in, observe=_energy)[1]

    return jax.vmap(one)(keys, spins0)


def jackknife(values_per_chain, estimator):
    """Estimate and jackknife standard error over chains (axis 0)."""
    k = len(values_per_chain)
    full = estimator(values_per_chain)
    leave_one = np.array([estimator(np.delete(values_per_chain, i, axis=0)) for i in range(k)])
    return full, np.sqrt((k - 1) / k * np.sum((leave_one - leave_one.mean()) ** 2))


# The single-spin samplers sweep site by site: at L = 32 they are the long runs
# (~1.5 min together on a 2-core CPU); run them with -m slow.
CASES = [pytest.param(name, L, marks=pytest.mark.slow) if L == 32 and name in ("metropolis", "glauber")
         else (name, L) for name in sorted(SAMPLERS) for L in (16, 32)]


@pytest.mark.parametrize("name,L", CASES)
def test_sampler_at_critical_point_matches_kaufman(name, L):
    make, steps_per_sweep = SAMPLERS[name]
    model = js.ising.lattice((L, L))
    burn_in, n_sweeps = SWEEPS[L]
    k_init, k_run = jax.random.split(jax.random.key(L))
    spins0 = js.ising.random_spins(k_init, (N_CHAINS, L, L))
    e = _energies(make(model), jax.random.split(k_run, N_CHAINS), spins0,
                  burn_in * steps_per_sweep, n_sweeps * steps_per_sweep)
    e = np.asarray(e, np.float64)  # (chains, steps), total energies
    exact = js.exact.kaufman((L, L), BETA_C)
    n = L * L

    chain_means = e.mean(axis=1) / n
    # two-sided t-test, 31 dof, at 5e-5; with the specific heat below, 1e-4 per test
    assert within_t(chain_means.mean(), float(exact.energy_per_spin), chain_means.std(ddof=1) / np.sqrt(N_CHAINS),
                    N_CHAINS - 1, alpha=ALPHA / 2), (name, L, chain_means.mean(), float(exact.energy_per_spin))

    def pooled_c(x):
        return BETA_C**2 * (np.mean(x**2) - np.mean(x) ** 2) / n

    c, c_err = jackknife(e, pooled_c)
    # jackknife error over 32 chains, t-test with 31 dof at 5e-5 (see the energy check above)
    assert within_t(c, float(exact.specific_heat), c_err, N_CHAINS - 1, alpha=ALPHA / 2), (
        name, L, c, float(exact.specific_heat), c_err)
