"""Spin flips per nanosecond: jaxstat vs the numba loop a user would write.

Run:  pip install -e ".[bench]" && python benchmarks/ising.py [--quick] [--repeats 5]

``checkerboard`` Metropolis on the 2D Ising model, L in {256, 1024, 4096}
(periodic, J = 1, h = 0), side by side in the same process with a numba
double loop over the two colours (one thread, the code a user writes first)
and its ``prange`` version (all cores). Dense models (SK) are in
``benchmarks/dense.py``.

Every figure is the median of ``--repeats`` timed runs after a warm-up run
(compilation excluded for both sides); jaxstat's warm-up, its first call
(compilation included), is timed and shown beside it. "Flips" counts attempted single-spin
updates (N per sweep), the usual unit.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import numpy as np

import jaxstat as js
import _common
from _common import machine

try:
    import numba
    from numba import njit, prange
except ImportError as err:  # pragma: no cover - benchmark only
    raise SystemExit('numba is needed for the side-by-side baseline: pip install -e ".[bench]"') from err


# --------------------------------------------------------------------------- #
# numba baselines: the same algorithms, written as plain loops
# --------------------------------------------------------------------------- #
# Each loop is written once with ``prange``; compiled without ``parallel``
# numba treats ``prange`` as ``range``, so the same body gives the one-thread
# loop a user writes first and its all-cores version. (No on-disk cache: numba
# keys it by the Python function, so the two compilations would collide.)
def _checkerboard_sweeps(s, beta, n_sweeps, seed):
    np.random.seed(seed)
    L = s.shape[0]
    for _ in range(n_sweeps):
        for colour in range(2):
            for i in prange(L):
                ip, im = (i + 1) % L, (i - 1) % L
                for j in range((i + colour) % 2, L, 2):
                    nb = s[ip, j] + s[im, j] + s[i, (j + 1) % L] + s[i, (j - 1) % L]
                    dE = 2.0 * s[i, j] * nb
                    if dE <= 0.0 or np.random.random() < np.exp(-beta * dE):
                        s[i, j] = -s[i, j]
    return s


nb_checkerboard_sweeps = njit(_checkerboard_sweeps)
nb_checkerboard_sweeps_parallel = njit(parallel=True)(_checkerboard_sweeps)


# --------------------------------------------------------------------------- #
# timing
# --------------------------------------------------------------------------- #
def median_time(fn, repeats):
    """Median of ``repeats`` timed calls after one warm-up call (compilation excluded)."""
    fn()
    return _common.median_time(fn, repeats)[0]


def first_and_median(fn, repeats):
    """``median_time`` whose warm-up call is timed: (first call seconds, warm median seconds)."""
    first = _common.first_call(fn)[0]
    return first, _common.median_time(fn, repeats)[0]


def bench_checkerboard(L, n_sweeps, repeats, beta=0.44):
    model = js.ising.lattice((L, L))
    sampler = js.mcmc.checkerboard(model, rule="metropolis")
    spins = js.ising.random_spins(jax.random.key(0), (L, L))
    run = jax.jit(lambda k, s, b: js.mcmc.run(k, sampler, s, b, n_sweeps, thin=n_sweeps,
                                              observe=lambda st: st.energy)[0].spins)
    keys = iter(jax.random.split(jax.random.key(1), repeats + 1))
    t_first, t_jax = first_and_median(lambda: run(next(keys), spins, beta).block_until_ready(), repeats)
    s_np = np.asarray(spins, np.float32)
    flips = L * L * n_sweeps
    # numba at fewer sweeps for the big lattice; flips/ns is per flip anyway
    nb_sweeps = max(1, n_sweeps // 4) if L >= 4096 else n_sweeps
    t_nb = median_time(lambda: nb_checkerboard_sweeps(s_np.copy(), beta, nb_sweeps, 0), repeats)
    t_nbp = median_time(lambda: nb_checkerboard_sweeps_parallel(s_np.copy(), beta, nb_sweeps, 0), repeats)
    nb_flips = L * L * nb_sweeps
    return flips / t_jax / 1e9, nb_flips / t_nb / 1e9, nb_flips / t_nbp / 1e9, t_first


def bench_progress_overhead(L, n_sweeps, repeats, beta=0.44):
    """Median seconds per run with and without progress=True, runs interleaved
    (on a shared machine, interleaving keeps drifts in load out of the ratio)."""
    import contextlib
    import io

    model = js.ising.lattice((L, L))
    sampler = js.mcmc.checkerboard(model)
    spins = js.ising.random_spins(jax.random.key(0), (L, L))
    observe = lambda st: st.energy  # one function object: the compiled run is reused

    def once(progress):
        with contextlib.redirect_stderr(io.StringIO()):  # keep the table readable
            _, trace = js.mcmc.run(jax.random.key(1), sampler, spins, beta, n_sweeps,
                                   observe=observe, progress=progress)
            trace.block_until_ready()
            jax.effects_barrier()

    times = {False: [], True: []}
    once(False), once(True)  # compile both
    for _ in range(max(repeats, 9)):
        for progress in (False, True):
            t0 = time.perf_counter()
            once(progress)
            times[progress].append(time.perf_counter() - t0)
    return statistics.median(times[False]), statistics.median(times[True])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer sweeps (a smoke run)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[256, 1024, 4096])
    args = parser.parse_args()
    print(machine(f"numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads)"))
    print()
    print("| workload | jaxstat flips/ns | jaxstat first call | numba loop flips/ns | ratio | numba prange flips/ns "
          "| ratio |")
    print("|---|---|---|---|---|---|---|")
    for L in args.sizes:
        n_sweeps = {256: 1000, 1024: 100, 4096: 8}.get(L, 20)
        if args.quick:
            n_sweeps = max(1, n_sweeps // 4)
        j, nb, nbp, first = bench_checkerboard(L, n_sweeps, args.repeats)
        print(f"| checkerboard Metropolis, L={L} | {j:.3f} | {first:.2f} s | {nb:.3f} | {j / nb:.1f}x | {nbp:.3f} "
              f"| {j / nbp:.1f}x |", flush=True)
        workload = f"checkerboard Metropolis, 2D, L = {L}"
        _common.record(workload, j, "flips/ns", peer="numba loop", peer_value=nb, first_call_s=first,
                       readme=L in (1024, 4096))
        _common.record(workload, j, "flips/ns", peer="numba prange", peer_value=nbp, first_call_s=first)
    off, on = bench_progress_overhead(1024, 25 if args.quick else 100, args.repeats)
    print()
    print(f"run(progress=True) overhead, checkerboard L=1024, {25 if args.quick else 100} sweeps: "
          f"{off * 1e3:.1f} ms without, {on * 1e3:.1f} ms with ({(on / off - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
