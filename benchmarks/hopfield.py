"""Hopfield capacity and perceptron separability sweeps: jaxstat vs plain NumPy.

Run:  pip install -e ".[bench]" && python benchmarks/hopfield.py [--quick] [--repeats 3]

1. **Hopfield capacity sweep** (issue 3): N = 1000, 20 loads alpha in
   [0.015, 0.3], 50 trials each; Hebb's rule, start from a stored pattern,
   zero-temperature asynchronous dynamics to a fixed point, final overlap.
   ``jaxstat.hopfield.capacity`` does it in one compiled call. Two NumPy
   versions of the same experiment run beside it:

   * *NumPy loop*: the code a user writes first. W = xi^T xi / N by BLAS,
     then sweeps in random order, ``s[i] = sign(W[i] @ s)`` spin by spin,
     until a sweep changes nothing.
   * *NumPy jump chain*: jaxstat's algorithm in NumPy (W by BLAS, keep the
     fields, flip a uniformly random unstable spin, update the fields with
     one column of W). Faster than the loop; the fair like-for-like baseline.

2. **Perceptron separability sweep** (N = 20, 40, 80, 15 loads, 100 trials):
   ``jaxstat.perceptron.separability_sweep`` (perceptrons in one compiled
   call certify the separable trials, an exact LP decides the rest) against
   the same logic with a NumPy perceptron loop, and against an LP for every
   trial (the simplest exact NumPy approach).

Figures are medians of ``--repeats`` timed runs; jaxstat's first call
(compile + run) is reported separately. The NumPy loop is slow, so
``--numpy-trials`` runs it on fewer trials per load and scales the time
linearly (said in the output).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import jaxstat as js
from _common import machine, median_time, record


# --------------------------------------------------------------------------- #
# NumPy baselines
# --------------------------------------------------------------------------- #
def _hebb(rng, p, n):
    xi = rng.choice(np.array([-1.0, 1.0], np.float32), size=(p, n))
    W = xi.T @ xi
    np.fill_diagonal(W, 0.0)
    return xi, W  # N W: integer-valued, exact in float32


def numpy_loop_trial(rng, p, n, max_sweeps=100):
    xi, W = _hebb(rng, p, n)
    s = xi[0].copy()
    for _ in range(max_sweeps):
        changed = False
        for i in rng.permutation(n):
            h = W[i] @ s
            if h * s[i] < 0:
                s[i] = -s[i]
                changed = True
        if not changed:
            break
    return float(xi[0] @ s) / n


def numpy_jump_chain_trial(rng, p, n, max_flips=None):
    xi, W = _hebb(rng, p, n)
    s = xi[0].copy()
    h = W @ s
    for _ in range(10 * n if max_flips is None else max_flips):
        unstable = np.flatnonzero(s * h < 0)
        if unstable.size == 0:
            break
        i = unstable[rng.integers(unstable.size)]
        h -= 2 * s[i] * W[:, i]
        s[i] = -s[i]
    return float(xi[0] @ s) / n


def numpy_capacity(trial, n, alphas, n_trials, seed=0):
    rng = np.random.default_rng(seed)
    p = np.maximum(1, np.rint(np.asarray(alphas) * n)).astype(int)
    return np.array([[trial(rng, int(pk), n) for _ in range(n_trials)] for pk in p])


# --------------------------------------------------------------------------- #
# timing
# --------------------------------------------------------------------------- #
def bench_capacity(n, n_loads, n_trials, repeats, numpy_trials):
    alphas = np.linspace(0.015, 0.3, n_loads)

    def run_jax(seed):
        return js.hopfield.capacity(jax.random.key(seed), n, alphas, n_trials)

    t0 = time.perf_counter()
    first = run_jax(0)
    t_first = time.perf_counter() - t0
    seeds = iter(range(1, 1000))
    t_jax = median_time(lambda: run_jax(next(seeds)), repeats)
    print(f"\nHopfield capacity sweep: N = {n}, {n_loads} loads in [{alphas[0]}, {alphas[-1]}], "
          f"{n_trials} trials each")
    print(f"  jaxstat.hopfield.capacity: first call {t_first:.2f} s (compile + run); "
          f"warm median {t_jax[0]:.2f} s (range {t_jax[1]:.2f}-{t_jax[2]:.2f})")

    scale = n_trials / numpy_trials
    rows = {}
    for name, trial in (("NumPy jump chain", numpy_jump_chain_trial), ("NumPy loop", numpy_loop_trial)):
        out = {}

        def run_np(trial=trial, out=out):
            out["m"] = numpy_capacity(trial, n, alphas, numpy_trials, seed=len(out))

        t_np = median_time(run_np, repeats)
        rows[name] = (t_np[0] * scale, out["m"])
        note = f" ({numpy_trials} trials/load, time x{scale:g})" if scale != 1 else ""
        print(f"  {name}{note}: median {t_np[0] * scale:.2f} s (range {t_np[1] * scale:.2f}-"
              f"{t_np[2] * scale:.2f}); jaxstat is {t_np[0] * scale / t_jax[0]:.1f}x faster")

    # the same physics on both sides: retrieved fraction per load
    f_jax = first.retrieved_fraction[0]
    for name, (_, m) in rows.items():
        f_np = (m > 0.95).mean(1)
        err = np.sqrt(np.maximum(f_jax * (1 - f_jax), 1e-3) / n_trials + np.maximum(f_np * (1 - f_np), 1e-3)
                      / m.shape[1])
        worst = np.max(np.abs(f_jax - f_np) / err)
        print(f"  retrieved fraction, jaxstat vs {name}: max deviation {worst:.1f} standard errors")
    print("  alpha:    " + " ".join(f"{a:5.3f}" for a in alphas))
    print("  jaxstat:  " + " ".join(f"{f:5.2f}" for f in f_jax))
    return t_first, t_jax, rows


def numpy_perceptron_converges(x, y, max_epochs):
    """Rosenblatt's rule through the origin, sample by sample, as jaxstat's: True once an epoch has no error."""
    w = np.zeros(x.shape[1])
    for _ in range(max_epochs):
        errors = 0
        for i in range(x.shape[0]):
            if y[i] * (x[i] @ w) <= 0:
                w += y[i] * x[i]
                errors += 1
        if errors == 0:
            return True
    return False


def numpy_separability(sizes, alphas, n_trials, max_epochs, use_perceptron, seed=0):
    """Fraction separable per (N, alpha): optional perceptron certificate, else jaxstat's LP."""
    from jaxstat.perceptron.capacity import _lp_separable

    rng = np.random.default_rng(seed)
    frac = np.zeros((len(sizes), len(alphas)))
    t_perceptron = 0.0
    for k, n in enumerate(sizes):
        for j, a in enumerate(alphas):
            p = max(1, int(np.floor(a * n + 0.5)))
            hits = 0
            for _ in range(n_trials):
                x = rng.choice([-1.0, 1.0], size=(p, n))
                y = rng.choice([-1.0, 1.0], size=p)
                t0 = time.perf_counter()
                certified = use_perceptron and numpy_perceptron_converges(x, y, max_epochs)
                t_perceptron += time.perf_counter() - t0
                hits += certified or _lp_separable(x, y, False)
            frac[k, j] = hits / n_trials
    return frac, t_perceptron


def bench_separability(repeats, sizes=(20, 40, 80), n_loads=15, n_trials=100, max_epochs=50):
    """Separability sweep: jaxstat (compiled perceptrons + exact LP for the rest) vs NumPy.

    Baselines: the NumPy perceptron loop with the same certificate-then-LP logic, and the
    simplest exact NumPy approach, an LP for every trial. The LPs are the same SciPy/HiGHS
    calls on every side, so the perceptron stage is also timed alone.
    """
    from jaxstat.perceptron.capacity import _sweep_jit

    alphas = np.linspace(0.5, 4.0, n_loads)
    print(f"\nPerceptron separability sweep: N = {sizes}, {n_loads} loads in [0.5, 4], {n_trials} trials, "
          f"perceptron up to {max_epochs} epochs, then an LP")
    sweep = js.perceptron.separability_sweep
    t0 = time.perf_counter()
    r = sweep(jax.random.key(0), sizes, alphas, n_trials, max_epochs=max_epochs)
    t_first = time.perf_counter() - t0
    print(f"  jaxstat first call (compile + run): {t_first:.2f} s; "
          f"{int(r.n_certified.sum())} certified by the perceptron, {int(r.n_lp.sum())} by LP")
    seeds = iter(range(1, 1000))
    t_jax = median_time(lambda: sweep(jax.random.key(next(seeds)), sizes, alphas, n_trials, max_epochs=max_epochs),
                        repeats)
    n_arr = np.asarray(sizes)
    p = np.maximum(1, np.floor(np.outer(n_arr, alphas) + 0.5)).astype(np.int32)

    def stage():
        out = _sweep_jit(jax.random.key(next(seeds)), jax.numpy.asarray(n_arr, "int32"), jax.numpy.asarray(p),
                         n_trials=n_trials, n_max=int(n_arr.max()), p_max=int(p.max()), max_epochs=max_epochs,
                         bias=False)
        jax.block_until_ready(out)

    t_stage = median_time(stage, repeats)
    print(f"  jaxstat separability_sweep: median {t_jax[0]:.2f} s (range {t_jax[1]:.2f}-{t_jax[2]:.2f}); "
          f"its compiled perceptron stage alone {t_stage[0]:.2f} s")
    t0 = time.perf_counter()
    f_np, t_np_perc = numpy_separability(sizes, alphas, n_trials, max_epochs, True)
    t_np = time.perf_counter() - t0
    print(f"  NumPy perceptron loop + LP: {t_np:.2f} s (perceptron stage {t_np_perc:.2f} s): jaxstat is "
          f"{t_np / t_jax[0]:.1f}x faster overall, {t_np_perc / t_stage[0]:.0f}x on the perceptron stage")
    t0 = time.perf_counter()
    f_lp, _ = numpy_separability(sizes, alphas, n_trials, max_epochs, False, seed=1)
    t_lp = time.perf_counter() - t0
    print(f"  NumPy, an LP for every trial: {t_lp:.2f} s: jaxstat is {t_lp / t_jax[0]:.1f}x faster")
    err = np.sqrt(np.maximum(r.fraction * (1 - r.fraction), 0.25 / n_trials) / n_trials * 2)
    print(f"  fractions agree: max |jaxstat - NumPy| = {np.max(np.abs(r.fraction - f_np) / err):.1f} "
          f"and {np.max(np.abs(r.fraction - f_lp) / err):.1f} standard errors")
    return t_jax, t_stage, t_np, t_np_perc, t_lp, t_first


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sweep (a smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--numpy-trials", type=int, default=None,
                        help="trials per load for the NumPy baselines (time scaled to the full count)")
    args = parser.parse_args()
    print(machine(f"NumPy {np.__version__}"))
    n, n_loads, n_trials = (200, 5, 10) if args.quick else (1000, 20, 50)
    t_first, t_jax, rows = bench_capacity(n, n_loads, n_trials, args.repeats, args.numpy_trials or n_trials)
    workload = f"Hopfield capacity sweep, N = {n}, {n_loads} loads × {n_trials} trials"
    for name, peer in (("NumPy loop", "NumPy loop (spin-by-spin sweeps)"),
                       ("NumPy jump chain", "NumPy jump chain (jaxstat's algorithm)")):
        record(workload, t_jax[0], "s", peer=peer, peer_value=rows[name][0], first_call_s=t_first, readme=True)
    sizes, loads, trials = ((10, 20), 5, 10) if args.quick else ((20, 40, 80), 15, 100)
    t_jax, _, t_np, _, t_lp, t_first = bench_separability(args.repeats, sizes=sizes, n_loads=loads, n_trials=trials)
    workload = f"perceptron separability, N = {', '.join(map(str, sizes))}, {loads} loads × {trials} trials, exact"
    record(workload, t_jax[0], "s", peer="NumPy perceptron loop + LP", peer_value=t_np, first_call_s=t_first,
           readme=True)
    record(workload, t_jax[0], "s", peer="NumPy, an LP for every trial", peer_value=t_lp, first_call_s=t_first,
           readme=True)


if __name__ == "__main__":
    main()
