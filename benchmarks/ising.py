"""Spin flips per nanosecond: jaxstat vs the numba loop a user would write.

Run:  pip install -e ".[bench]" && python benchmarks/ising.py [--quick] [--repeats 5]

``checkerboard`` Metropolis on the 2D Ising model, L in {256, 1024, 4096}
(periodic, J = 1, h = 0), the float path and the bit-packed one
(``packed=True``, multi-spin coding), side by side in the same process with
three numba loops over the two colours: the float loop a user writes first
(one thread, and ``prange`` on all cores), and the loop an expert writes, on
int8 spins with a table of acceptance probabilities and a random number only
when a flip can be rejected (one thread and ``prange``). Then the packed
against the float path on an L^3 torus. Dense models (SK) are in
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
from _common import first_and_median, machine, warm_median

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


def _checkerboard_table_sweeps(s, beta, n_sweeps, seed):
    """The loop an expert writes: int8 spins, a table of the two acceptance probabilities
    exp(-4 beta), exp(-8 beta) indexed by the neighbour sum, and a random number drawn only
    when the flip can be rejected (dE > 0)."""
    np.random.seed(seed)
    L = s.shape[0]
    table = np.zeros(5)
    for nb in range(1, 5):  # dE = 2 nb for an up spin (nb = +2, +4 raise the energy)
        table[nb] = np.exp(-2.0 * beta * nb)
    for _ in range(n_sweeps):
        for colour in range(2):
            for i in prange(L):
                ip, im = (i + 1) % L, (i - 1) % L
                for j in range((i + colour) % 2, L, 2):
                    si = s[i, j]
                    nb = si * (s[ip, j] + s[im, j] + s[i, (j + 1) % L] + s[i, (j - 1) % L])
                    if nb <= 0 or np.random.random() < table[nb]:
                        s[i, j] = -si
    return s


nb_checkerboard_sweeps = njit(_checkerboard_sweeps)
nb_table_sweeps = njit(_checkerboard_table_sweeps)
nb_table_sweeps_parallel = njit(parallel=True)(_checkerboard_table_sweeps)
nb_checkerboard_sweeps_parallel = njit(parallel=True)(_checkerboard_sweeps)


# --------------------------------------------------------------------------- #
# timing
# --------------------------------------------------------------------------- #
def _jaxstat_rate(sampler, spins, n_sweeps, repeats, beta):
    """(warm flips/ns, first call s) of ``run`` over ``n_sweeps`` sweeps, only the final state kept."""
    run = jax.jit(lambda k, s, b: js.mcmc.run(k, sampler, s, b, n_sweeps, thin=n_sweeps,
                                              observe=lambda st: st.energy)[0].energy)
    keys = iter(jax.random.split(jax.random.key(1), repeats + 1))
    t_first, t = first_and_median(lambda: run(next(keys), spins, beta).block_until_ready(), repeats)
    return spins.size * n_sweeps / t / 1e9, t_first


def bench_checkerboard(L, n_sweeps, repeats, beta=0.44):
    """Flips/ns of jaxstat's float and packed checkerboards and of the three numba loops."""
    model = js.ising.lattice((L, L))
    spins = js.ising.random_spins(jax.random.key(0), (L, L))
    out = {}
    out["float"], out["float first"] = _jaxstat_rate(js.mcmc.checkerboard(model), spins, n_sweeps, repeats, beta)
    out["packed"], out["packed first"] = _jaxstat_rate(js.mcmc.checkerboard(model, packed=True), spins,
                                                       n_sweeps, repeats, beta)
    s_f32 = np.asarray(spins, np.float32)
    s_i8 = np.asarray(spins, np.int8)
    # numba at fewer sweeps for the big lattice; flips/ns is per flip anyway
    nb_sweeps = max(1, n_sweeps // 4) if L >= 4096 else n_sweeps
    nb_flips = L * L * nb_sweeps / 1e9
    out["numba"] = nb_flips / warm_median(lambda: nb_checkerboard_sweeps(s_f32.copy(), beta, nb_sweeps, 0), repeats)
    out["numba prange"] = nb_flips / warm_median(
        lambda: nb_checkerboard_sweeps_parallel(s_f32.copy(), beta, nb_sweeps, 0), repeats)
    out["numba table"] = nb_flips / warm_median(lambda: nb_table_sweeps(s_i8.copy(), beta, nb_sweeps, 0), repeats)
    out["numba table prange"] = nb_flips / warm_median(
        lambda: nb_table_sweeps_parallel(s_i8.copy(), beta, nb_sweeps, 0), repeats)
    return out


def bench_3d(L, n_sweeps, repeats, beta=0.2216):
    """Packed against float checkerboard on an L^3 torus near its critical point (no numba loop)."""
    model = js.ising.lattice((L, L, L))
    spins = js.ising.random_spins(jax.random.key(0), (L, L, L))
    f, _ = _jaxstat_rate(js.mcmc.checkerboard(model), spins, n_sweeps, repeats, beta)
    p, first = _jaxstat_rate(js.mcmc.checkerboard(model, packed=True), spins, n_sweeps, repeats, beta)
    return p, f, first


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
    print("| 2D, L | float path | packed (first call) | numba loop | numba table loop | numba table prange "
          "| packed / table loop |")
    print("|---|---|---|---|---|---|---|")
    for L in args.sizes:
        n_sweeps = {256: 1000, 1024: 100, 4096: 20}.get(L, 20)
        if args.quick:
            n_sweeps = max(1, n_sweeps // 4)
        r = bench_checkerboard(L, n_sweeps, args.repeats)
        print(f"| {L} | {r['float']:.3f} | {r['packed']:.3f} ({r['packed first']:.2f} s) | {r['numba']:.3f} "
              f"| {r['numba table']:.3f} | {r['numba table prange']:.3f} | {r['packed'] / r['numba table']:.1f}x |",
              flush=True)
        workload = f"checkerboard Metropolis, 2D, L = {L}"
        _common.record(workload, r["float"], "flips/ns", peer="numba loop", peer_value=r["numba"],
                       first_call_s=r["float first"], readme=L == 1024)
        _common.record(workload, r["float"], "flips/ns", peer="numba prange", peer_value=r["numba prange"],
                       first_call_s=r["float first"])
        workload = f"checkerboard Metropolis, packed (multi-spin coding), 2D, L = {L}"
        _common.record(workload, r["packed"], "flips/ns", peer="numba table loop", peer_value=r["numba table"],
                       first_call_s=r["packed first"], target=10 if L == 4096 else None, readme=L in (1024, 4096))
        _common.record(workload, r["packed"], "flips/ns", peer="numba table prange",
                       peer_value=r["numba table prange"], first_call_s=r["packed first"])
    L3 = 64 if args.quick else 128
    p, f, first = bench_3d(L3, 5 if args.quick else 20, args.repeats)
    print(f"\n3D, L = {L3}: packed {p:.3f} flips/ns (first call {first:.2f} s), float path {f:.3f}: {p / f:.1f}x")
    _common.record(f"checkerboard Metropolis, packed, 3D, L = {L3}", p, "flips/ns", peer="jaxstat float path",
                   peer_value=f, first_call_s=first)
    off, on = bench_progress_overhead(1024, 25 if args.quick else 100, args.repeats)
    print()
    print(f"run(progress=True) overhead, checkerboard L=1024, {25 if args.quick else 100} sweeps: "
          f"{off * 1e3:.1f} ms without, {on * 1e3:.1f} ms with ({(on / off - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
