"""2D Ising at L >= 32 against Onsager's exact infinite-lattice results.

Away from T_c the correlation length is a few lattice spacings, so the
finite-size corrections at L = 32 are exponentially small (~exp(-L/xi)) and
far below the statistical error. Chain means are independent, so their
spread gives an honest error bar without autocorrelation modelling; with the
standard error estimated from 16-32 chains, the tolerance is a Student-t
quantile with n_chains - 1 degrees of freedom (helpers.within_t). The per-test
false-failure budget ALPHA = 1e-4 is split evenly (Bonferroni) over the k
checks of a test: k = 6 (energy at 4 temperatures, |m| at the 2 below T_c)
gives 1.7e-5 per check, t_15 = 5.83 standard errors; k = 3 gives 3.3e-5,
t_15 = 5.48.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from helpers import ALPHA, within_t

TEMPERATURES = np.array([1.8, 2.0, 3.0, 3.5])


def chain_means(L, rule, n_chains, n_sweeps, burn_in, seed=0):
    m = js.ising.lattice((L, L))
    sampler = js.mcmc.checkerboard(m, rule=rule)
    betas = jnp.asarray(1.0 / TEMPERATURES, jnp.float32)

    def one(beta, key):
        # ordered start: below T_c it sits in one of the two symmetric phases
        _, trace = js.mcmc.run(key, sampler, jnp.ones((L, L)), beta, n_sweeps, burn_in=burn_in)
        return jnp.mean(trace["energy"]) / (L * L), jnp.mean(jnp.abs(trace["magnetization"]))

    keys = jax.random.split(jax.random.key(seed), n_chains)
    f = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))
    e, a = f(betas, keys)
    return np.asarray(e, np.float64), np.asarray(a, np.float64)


def check_onsager(e, a, temperatures=TEMPERATURES):
    """e, a: (n_temperatures, n_chains) chain means of e per spin and |m|.

    A correct sampler fails with probability <= ALPHA = 1e-4: each of the k
    two-sided t-tests runs at ALPHA / k (Bonferroni)."""
    n_chains = e.shape[1]
    tc = float(js.exact.onsager_tc())
    alpha = ALPHA / (len(temperatures) + int(np.sum(np.asarray(temperatures) < tc)))
    for i, T in enumerate(temperatures):
        exact_e = float(js.exact.onsager_energy(T))
        err_e = e[i].std(ddof=1) / np.sqrt(n_chains)
        assert within_t(e[i].mean(), exact_e, err_e, n_chains - 1, alpha), (T, e[i].mean(), exact_e, err_e)
        if T < tc:
            exact_m = float(js.exact.onsager_magnetization(T))
            err_m = a[i].std(ddof=1) / np.sqrt(n_chains)
            assert within_t(a[i].mean(), exact_m, err_m, n_chains - 1, alpha), (T, a[i].mean(), exact_m, err_m)


@pytest.mark.parametrize("rule", ["metropolis", "glauber"])
def test_checkerboard_L32_matches_onsager(rule):
    e, a = chain_means(32, rule, n_chains=16, n_sweeps=400, burn_in=200)
    check_onsager(e, a)


@pytest.mark.slow
def test_checkerboard_L64_long_run_matches_onsager():
    e, a = chain_means(64, "metropolis", n_chains=32, n_sweeps=4000, burn_in=1000, seed=1)
    check_onsager(e, a)


@pytest.mark.parametrize("make", [js.mcmc.metropolis, js.mcmc.glauber], ids=["metropolis", "glauber"])
def test_single_spin_L32_matches_onsager(make):
    """The single-spin samplers on a lattice, at one temperature on each side of T_c."""
    m = js.ising.lattice((32, 32))
    sampler = make(m)
    keys = jax.random.split(jax.random.key(3), 16)

    def one(beta, key):
        _, trace = js.mcmc.run(key, sampler, jnp.ones((32, 32)), beta, 150, burn_in=100)
        return jnp.mean(trace["energy"]) / 1024, jnp.mean(jnp.abs(trace["magnetization"]))

    f = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))
    temps = np.array([1.8, 3.0])
    e, a = f(jnp.asarray(1 / temps, jnp.float32), keys)
    check_onsager(np.asarray(e, np.float64), np.asarray(a, np.float64), temps)
