"""2D Ising at L >= 32 against Onsager's exact infinite-lattice results.

Away from T_c the correlation length is a few lattice spacings, so the
finite-size corrections at L = 32 are exponentially small (~exp(-L/xi)) and
far below the statistical error; the tolerance is 4 standard errors of the
mean over independent chains (chain means are independent, so their spread
gives an honest error bar without autocorrelation modelling).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from helpers import within_sigmas

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


def check_onsager(e, a):
    n_chains = e.shape[1]
    for i, T in enumerate(TEMPERATURES):
        exact_e = float(js.exact.onsager_energy(T))
        err_e = e[i].std(ddof=1) / np.sqrt(n_chains)
        assert within_sigmas(e[i].mean(), exact_e, err_e), (T, e[i].mean(), exact_e, err_e)
        if T < float(js.exact.onsager_tc()):
            exact_m = float(js.exact.onsager_magnetization(T))
            err_m = a[i].std(ddof=1) / np.sqrt(n_chains)
            assert within_sigmas(a[i].mean(), exact_m, err_m), (T, a[i].mean(), exact_m, err_m)


@pytest.mark.parametrize("rule", ["metropolis", "glauber"])
def test_checkerboard_L32_matches_onsager(rule):
    e, a = chain_means(32, rule, n_chains=16, n_sweeps=400, burn_in=200)
    check_onsager(e, a)


@pytest.mark.slow
def test_checkerboard_L64_long_run_matches_onsager():
    e, a = chain_means(64, "metropolis", n_chains=32, n_sweeps=4000, burn_in=1000, seed=1)
    check_onsager(e, a)


def test_glauber_single_spin_L32_matches_onsager():
    """The single-spin sampler on a lattice, at one temperature on each side."""
    m = js.ising.lattice((32, 32))
    sampler = js.mcmc.metropolis(m)
    keys = jax.random.split(jax.random.key(3), 8)

    def one(beta, key):
        _, trace = js.mcmc.run(key, sampler, jnp.ones((32, 32)), beta, 150, burn_in=100)
        return jnp.mean(trace["energy"]) / 1024, jnp.mean(jnp.abs(trace["magnetization"]))

    f = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))
    temps = np.array([1.8, 3.0])
    e, a = f(jnp.asarray(1 / temps, jnp.float32), keys)
    e, a = np.asarray(e, np.float64), np.asarray(a, np.float64)
    for i, T in enumerate(temps):
        err = e[i].std(ddof=1) / np.sqrt(len(keys))
        assert within_sigmas(e[i].mean(), float(js.exact.onsager_energy(T)), err)
    err = a[0].std(ddof=1) / np.sqrt(len(keys))
    assert within_sigmas(a[0].mean(), float(js.exact.onsager_magnetization(1.8)), err)
