"""Dense single-spin dynamics: jaxstat's vmapped chains vs the numba loop a user would write.

Run:  pip install -e ".[bench]" && python benchmarks/dense.py [--quick] [--repeats 5]

``glauber`` (sequential heat bath) and ``metropolis`` (sequential) on an SK
model with N = 256 and 1024 chains vmapped, side by side in the same process
with the numba loop over chains and sites that keeps the local fields up to
date, updating them only when a spin flips (one thread, and ``prange`` over
chains on all cores).

Every figure is the median of ``--repeats`` timed runs after a warm-up run
(compilation excluded for both sides); jaxstat's warm-up, its first call
(compilation included), is timed and shown beside it. "Flips" counts
attempted single-spin updates (N per sweep), the usual unit.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import jaxstat as js
import _common
from _common import first_and_median, machine, warm_median

try:
    import numba
    from numba import njit, prange
except ImportError as err:  # pragma: no cover - benchmark only
    raise SystemExit('numba is needed for the side-by-side baseline: pip install -e ".[bench]"') from err


@njit(cache=True)
def _nb_glauber_chain(s, field, J, beta, n_sweeps):
    n = s.shape[0]
    for _ in range(n_sweeps):
        for i in range(n):
            p_up = 1.0 / (1.0 + np.exp(-2.0 * beta * field[i]))
            new = np.float32(1.0) if np.random.random() < p_up else np.float32(-1.0)
            delta = new - s[i]
            if delta != 0.0:
                s[i] = new
                # row i = column i for symmetric J; rows are contiguous in C order
                for j in range(n):
                    field[j] += J[i, j] * delta


@njit(cache=True)
def _nb_metropolis_chain(s, field, J, beta, n_sweeps):
    n = s.shape[0]
    for _ in range(n_sweeps):
        for i in range(n):
            dE = 2.0 * s[i] * field[i]
            if dE <= 0.0 or np.random.random() < np.exp(-beta * dE):
                delta = -2.0 * s[i]
                s[i] = -s[i]
                for j in range(n):
                    field[j] += J[i, j] * delta


def _glauber_chains(S, F, J, beta, n_sweeps, seed):
    np.random.seed(seed)
    for c in prange(S.shape[0]):
        _nb_glauber_chain(S[c], F[c], J, beta, n_sweeps)


def _metropolis_chains(S, F, J, beta, n_sweeps, seed):
    np.random.seed(seed)
    for c in prange(S.shape[0]):
        _nb_metropolis_chain(S[c], F[c], J, beta, n_sweeps)


NUMBA = {
    "glauber": (njit(_glauber_chains), njit(parallel=True)(_glauber_chains)),
    "metropolis": (njit(_metropolis_chains), njit(parallel=True)(_metropolis_chains)),
}


def bench_sk(rule, n, n_chains, n_sweeps, repeats, beta=1.0):
    """(jaxstat, numba loop, numba prange) flips/ns and jaxstat's first call (s) for ``rule``."""
    model = js.ising.sherrington_kirkpatrick(jax.random.key(2), n)
    sampler = js.mcmc.single_spin(model, rule)
    nb_chains, nb_chains_parallel = NUMBA[rule]
    spins = js.ising.random_spins(jax.random.key(3), (n_chains, n))
    keys_c = jax.random.split(jax.random.key(4), n_chains)

    def chains(keys, s, b):
        one = lambda k, x: js.mcmc.run(k, sampler, x, b, n_sweeps, thin=n_sweeps, observe=lambda st: st.energy)[0].spins
        return jax.vmap(one)(keys, s)

    run = jax.jit(chains)
    t_first, t_jax = first_and_median(lambda: run(keys_c, spins, beta).block_until_ready(), repeats)
    # float32 on both sides, as jaxstat runs
    J = np.asarray(model.J, np.float32)
    S = np.asarray(spins, np.float32)
    F = S @ J.T
    nb_sweeps = max(1, n_sweeps // 4)
    t_nb = warm_median(lambda: nb_chains(S.copy(), F.copy(), J, beta, nb_sweeps, 0), repeats)
    t_nbp = warm_median(lambda: nb_chains_parallel(S.copy(), F.copy(), J, beta, nb_sweeps, 0), repeats)
    flips = n * n_chains * n_sweeps
    nb_flips = n * n_chains * nb_sweeps
    return flips / t_jax / 1e9, nb_flips / t_nb / 1e9, nb_flips / t_nbp / 1e9, t_first


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer sweeps (a smoke run)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine(f"numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads)"))
    print()
    print("| workload | jaxstat flips/ns | jaxstat first call | numba loop flips/ns | ratio | numba prange flips/ns "
          "| ratio |")
    print("|---|---|---|---|---|---|---|")
    n_sweeps = 4 if args.quick else 16
    for rule, name in (("glauber", "Glauber"), ("metropolis", "Metropolis")):
        j, nb, nbp, first = bench_sk(rule, 256, 1024, n_sweeps, args.repeats)
        print(f"| {rule} SK N=256, 1024 chains | {j:.4f} | {first:.2f} s | {nb:.4f} | {j / nb:.1f}x | {nbp:.4f} "
              f"| {j / nbp:.1f}x |")
        workload = f"{name}, SK N = 256, 1024 vmapped chains"
        _common.record(workload, j, "flips/ns", peer="numba loop", peer_value=nb, first_call_s=first, target=3,
                       readme=rule == "glauber")
        _common.record(workload, j, "flips/ns", peer="numba prange", peer_value=nbp, first_call_s=first)


if __name__ == "__main__":
    main()
