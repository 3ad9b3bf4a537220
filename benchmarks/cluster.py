"""Critical slowing down and what beats it: local vs cluster moves at T_c, and replica exchange.

Run:  pip install -e ".[bench]" && python benchmarks/cluster.py [--quick]

1. At T_c on the 2D Ising model, L = 64 (periodic, J = 1): for checkerboard
   Metropolis, Swendsen–Wang and Wolff, the integrated autocorrelation time
   of |m| and E (Sokal, js.stats.integrated_autocorrelation_time, averaged
   over independent chains), the warm wall time per step, and the wall time
   per effectively independent sample of |m|, 2 tau_int x (time per step):
   the figure of merit. Also at L = 128, where local moves are 4.5x slower
   per sample and cluster moves barely. Side by side in the same run, the numba loops an
   expert writes (benchmarks/_cluster_numba.py: checkerboard Metropolis with
   an acceptance table, Swendsen–Wang with union–find, Wolff with a stack).
   jaxstat is timed as one chain and as 16 vmapped chains (per chain), the
   way a parameter sweep runs; the first call's time (compilation) is printed
   beside the warm figure. A Wolff step is one cluster; its tau is converted to
   sweeps with <cluster size> / N.
2. Labelling time of Swendsen–Wang clusters against L (it must stay
   near-linear in N): jaxstat's CPU labelling (the native union–find of
   jaxstat/_native.py where it builds), its FastSV (the GPU and TPU path)
   and numba's union–find.
3. Parallel tempering on an SK spin glass: round trips per step and per
   second, non-reversible vs reversible, on the same ladder.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxstat as js
import _common
from _common import machine

try:
    import numba

    import _cluster_numba as nb
except ImportError as err:  # pragma: no cover - benchmark only
    raise SystemExit('numba is needed for the side-by-side baseline: pip install -e ".[bench]"') from err

BETA_C = float(np.log(1 + np.sqrt(2)) / 2)


def _observe(state):
    return {"abs_m": jnp.abs(jnp.mean(state.spins)), "energy": state.energy}


def tau_of(traces):
    """tau_int from all chains at once (pooled mean and autocovariance; traces: chains x steps)
    and Sokal's standard error, tau sqrt(2 (2W + 1) / n_total) with the window W = 5 tau."""
    x = jnp.asarray(np.asarray(traces, np.float32).T)
    tau = float(js.stats.integrated_autocorrelation_time(x, chain_axis=1))
    return tau, tau * np.sqrt(2 * (2 * np.ceil(5 * tau) + 1) / x.size)


def jaxstat_algorithm(make, L, n_steps, burn_in, n_chains, repeats):
    """tau_int of |m| and E (in steps) from n_chains vmapped chains, and seconds per step
    for one chain and per chain in a vmapped batch; compile seconds (ahead of time, as a first call pays)."""
    model = js.ising.lattice((L, L))
    sampler = make(model)

    def one(k, s):
        return js.mcmc.run(k, sampler, s, BETA_C, n_steps, burn_in=burn_in, observe=_observe)

    batched = jax.jit(jax.vmap(one))
    single = jax.jit(one)
    keys = jax.random.split(jax.random.key(0), n_chains)
    # An ordered start: from random spins the first Wolff clusters at T_c are a few
    # sites and equilibration takes tens of thousands of them at L = 128.
    spins = jnp.ones((n_chains, L, L))
    # compilation, what a user's first call pays on top of the run itself
    t0 = time.perf_counter()
    batched = batched.lower(keys, spins).compile()
    compile_batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    single = single.lower(keys[0], spins[0]).compile()
    compile_single = time.perf_counter() - t0
    state, trace = jax.block_until_ready(batched(keys, spins))
    tau_m = tau_of(np.asarray(trace["abs_m"], np.float64))
    tau_e = tau_of(np.asarray(trace["energy"], np.float64))
    cluster = float(np.mean(trace["cluster_size"])) if "cluster_size" in trace else None
    t_batch = _common.median_time(lambda: batched(keys, state.spins), repeats)[0] / (n_steps + burn_in) / n_chains
    t_single = _common.median_time(lambda: single(keys[1], state.spins[0]), repeats)[0] / (n_steps + burn_in)
    return dict(tau_m=tau_m, tau_e=tau_e, t_single=t_single, t_batch=t_batch, cluster=cluster,
                compile_single=compile_single, compile_batched=compile_batched)


def numba_algorithm(name, L, n_steps, n_chains):
    """tau_int (in steps) over n_chains numba chains, and seconds per step."""
    runs = {"metropolis": nb.metropolis_checkerboard_run, "swendsen_wang": nb.sw_run, "wolff": nb.wolff_run}
    run = runs[name]
    s0 = np.ones((L, L), np.int8)  # ordered start, as for jaxstat
    run(s0.copy(), BETA_C, 10, 1, 0)  # compile
    traces, seconds, flipped = [], 0.0, 0
    for c in range(n_chains):
        s = s0.copy()
        run(s, BETA_C, max(n_steps // 10, 10), 1, 100 + c)  # burn-in
        t0 = time.perf_counter()
        out = run(s, BETA_C, n_steps, 1, 200 + c)
        seconds += time.perf_counter() - t0
        traces.append(out[1])
        if name == "wolff":
            flipped += out[2]
    traces = np.asarray(traces)
    cluster = flipped / (n_steps * n_chains) if name == "wolff" else None
    return dict(tau_m=tau_of(traces[:, :, 0]), tau_e=tau_of(traces[:, :, 1]), t_single=seconds / (n_steps * n_chains),
                cluster=cluster)


def critical_table(L, quick, repeats):
    scale = 4 if quick else 1
    tau_local = 0.024 * L**2.17  # ~200 sweeps at L = 64, ~900 at 128: chains of 50 tau (x 16)
    rows = [
        ("checkerboard Metropolis", "metropolis", lambda m: js.mcmc.checkerboard(m, "metropolis"),
         int(50 * tau_local) // scale, int(10 * tau_local), int(100 * tau_local) // scale),
        ("Swendsen–Wang", "swendsen_wang", js.mcmc.swendsen_wang, 4000 // scale, 200, 20000 // scale),
        ("Wolff", "wolff", js.mcmc.wolff, 8000 // scale, 400, 50000 // scale),
    ]
    n = L * L
    print(f"\n### T_c, L = {L}: time per effectively independent sample of |m| (2 tau_int x time per step)\n")
    print("| algorithm | tau_int(abs m) [steps] | tau_int(E) [steps] | step = | jaxstat 1 chain: per step / per sample "
          "| jaxstat 16 chains: per step / per sample | compilation (1 / 16 chains) | numba: tau(abs m), per step / per sample "
          "| gain over checkerboard Metropolis (jaxstat 1 / 16 chains) |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = {}
    for label, key, make, n_steps, burn_in, nb_steps in rows:
        j = jaxstat_algorithm(make, L, n_steps, burn_in, 16, repeats)
        b = numba_algorithm(key, L, nb_steps, 2 if key == "metropolis" else 4)
        per_sample_1 = 2 * j["tau_m"][0] * j["t_single"]
        per_sample_16 = 2 * j["tau_m"][0] * j["t_batch"]
        per_sample_nb = 2 * b["tau_m"][0] * b["t_single"]
        if key == "metropolis":
            base = dict(one=per_sample_1, many=per_sample_16, tau=j["tau_m"][0])
        step = "1 sweep"
        if j["cluster"]:
            step = f"1 cluster ({j['cluster'] / n:.2f} N: tau(abs m) = {j['tau_m'][0] * j['cluster'] / n:.2f} sweeps)"
        print(f"| {label} | {j['tau_m'][0]:.1f} ± {j['tau_m'][1]:.1f} | {j['tau_e'][0]:.1f} ± {j['tau_e'][1]:.1f} | {step} "
              f"| {j['t_single'] * 1e6:.0f} µs / {per_sample_1 * 1e3:.2f} ms "
              f"| {j['t_batch'] * 1e6:.0f} µs / {per_sample_16 * 1e3:.2f} ms "
              f"| {j['compile_single']:.1f} s / {j['compile_batched']:.1f} s "
              f"| {b['tau_m'][0]:.1f}, {b['t_single'] * 1e6:.0f} µs / {per_sample_nb * 1e3:.2f} ms "
              f"| {base['one'] / per_sample_1:.1f}x / {base['many'] / per_sample_16:.1f}x |", flush=True)
        # a user's first call of one chain: its compilation plus one run of n_steps + burn_in steps
        first = j["compile_single"] + j["t_single"] * (n_steps + burn_in)
        tau_note = f"tau_int(|m|) = {j['tau_m'][0]:.1f} steps"
        _common.record(f"{label}, T_c, L = {L}: time per independent sample of |m|, 1 chain", per_sample_1, "s",
                       peer=f"numba {label}", peer_value=per_sample_nb, first_call_s=first, readme=L == 64,
                       note=f"{tau_note} (numba {b['tau_m'][0]:.1f}); first call: compilation + {n_steps + burn_in} steps")
        if key != "metropolis":  # the figure of merit: the gain over local moves
            for chains, mine, theirs, compile_s, per_step in (
                    ("1 chain", per_sample_1, base["one"], j["compile_single"], j["t_single"]),
                    ("16 vmapped chains, per chain", per_sample_16, base["many"], j["compile_batched"],
                     j["t_batch"] * 16)):
                _common.record(f"{label} against checkerboard Metropolis, T_c, L = {L}: time per independent "
                               f"sample of |m|, {chains}", mine, "s", peer="jaxstat checkerboard Metropolis",
                               peer_value=theirs, first_call_s=compile_s + per_step * (n_steps + burn_in),
                               target=10 if L == 64 else None, readme=True,
                               note=f"{tau_note}, checkerboard {base['tau']:.0f} sweeps")


def labelling_table(sizes, repeats):
    from jaxstat import _native
    from jaxstat.mcmc._lattice import _fastsv_roots, label_components
    from jaxstat.mcmc.cluster import _fk_bonds

    native = _native.available()
    print("\n### Swendsen–Wang labelling time at T_c (equilibrated bonds)\n")
    print(f"jaxstat's CPU labelling: {'the native union-find' if native else 'FastSV: ' + _native.why_unavailable()}."
          " FastSV is what GPUs and TPUs run.\n")
    print("| L | jaxstat | ns per site | jaxstat FastSV | numba union–find | ns per site | speed-up over numba |")
    print("|---|---|---|---|---|---|---|")
    label = jax.jit(label_components)
    # FastSV as the portable path runs it (label_components' non-CPU branch), without switching the native path off
    label_fastsv = jax.jit(lambda b: _fastsv_roots(b[:, None], None)[0])
    for L in sizes:
        model = js.ising.lattice((L, L))
        state, _ = js.mcmc.run(jax.random.key(L), js.mcmc.swendsen_wang(model), jnp.ones((L, L)), BETA_C, 50)
        b = jax.jit(lambda k, s: _fk_bonds(k, model, s, jnp.float32(BETA_C), False)[0])(jax.random.key(0), state.spins)
        jax.block_until_ready(label(b))
        t = _common.median_time(lambda: label(b), repeats)[0]
        jax.block_until_ready(label_fastsv(b))
        t_sv = _common.median_time(lambda: label_fastsv(b), repeats)[0]
        t_nb = nb.sw_label_time(L, BETA_C, repeats=repeats)
        print(f"| {L} | {t * 1e3:.3f} ms | {t / L**2 * 1e9:.1f} | {t_sv * 1e3:.3f} ms | {t_nb * 1e3:.3f} ms "
              f"| {t_nb / L**2 * 1e9:.1f} | {t_nb / t:.2f}x |", flush=True)
        _common.record(f"Swendsen–Wang labelling at T_c, L = {L}", t, "s", peer="numba union–find",
                       peer_value=t_nb, note=f"FastSV {t_sv * 1e6:.0f} µs" + ("" if native else " (no native)"))


def wolff_method_table(sizes, repeats, n=400):
    """Wolff steps with the cluster found by bit-packed frontier growth or by labelling every
    cluster (wolff(method=...)): the same chain, timed interleaved (same keys, ordered start)."""
    import statistics

    print("\n### Wolff: frontier growth vs labelling, per cluster at T_c (whole steps, interleaved runs)\n")
    print("| L | method=\"grow\" | method=\"label\" | label / grow |")
    print("|---|---|---|---|")
    for L in sizes:
        model = js.ising.lattice((L, L))
        runs = {}
        for method in ("grow", "label"):
            sampler = js.mcmc.wolff(model, method=method)
            runs[method] = jax.jit(lambda k, s, sampler=sampler: js.mcmc.run(k, sampler, s, BETA_C, n))
            jax.block_until_ready(runs[method](jax.random.key(0), jnp.ones((L, L))))
        times = {m: [] for m in runs}
        for _ in range(repeats):
            for method, f in runs.items():
                t0 = time.perf_counter()
                jax.block_until_ready(f(jax.random.key(0), jnp.ones((L, L))))
                times[method].append((time.perf_counter() - t0) / n)
        g, lab = statistics.median(times["grow"]), statistics.median(times["label"])
        print(f"| {L} | {g * 1e6:.0f} µs | {lab * 1e6:.0f} µs | {lab / g:.2f} |", flush=True)


def tempering_table(n, n_rungs, n_steps, repeats):
    model = js.ising.sherrington_kirkpatrick(jax.random.key(7), n)
    betas = jnp.geomspace(0.25, 2.5, n_rungs)
    print(f"\n### Parallel tempering, SK N = {n}, {n_rungs} rungs (beta 0.25 to 2.5, geometric), "
          f"Metropolis sweeps, {n_steps} steps\n")
    print("| scheme | round trips per step | per second | rejection rates (min / max) |")
    print("|---|---|---|---|")
    rates = {}
    for scheme in ("nonreversible", "reversible"):
        pt = js.mcmc.parallel_tempering(js.mcmc.metropolis(model), betas, scheme=scheme)
        run = jax.jit(lambda k: js.mcmc.run(k, pt, jnp.ones(n), None, n_steps, burn_in=n_steps // 10,
                                            observe=lambda st: {}))
        _, trace = jax.block_until_ready(run(jax.random.key(1)))
        t = _common.median_time(lambda: run(jax.random.key(2)), repeats)[0]
        per_step = float(np.mean(trace["round_trips"]))
        r = 1 - np.asarray(trace["swap_acceptance"]).mean(axis=0)
        print(f"| {scheme} | {per_step:.4f} | {per_step * n_steps / t:.1f} | {r.min():.2f} / {r.max():.2f} |", flush=True)
        rates[scheme] = per_step * n_steps / t
    _common.record(f"parallel tempering, SK N = {n}, {n_rungs} rungs: round trips per second, non-reversible",
                   rates["nonreversible"], "round trips/s", peer="the reversible scheme on the same ladder",
                   peer_value=rates["reversible"], readme=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter chains (a smoke run)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 128])
    args = parser.parse_args()
    print(machine(f"numba {numba.__version__}"))
    for L in args.sizes:
        critical_table(L, args.quick, args.repeats)
    labelling_table([32, 64, 128, 256] if args.quick else [32, 64, 128, 256, 512], args.repeats)
    wolff_method_table([32, 64, 128] if args.quick else [32, 64, 128, 256], args.repeats)
    tempering_table(64, 16, 2000 if args.quick else 20000, args.repeats)


if __name__ == "__main__":
    main()
