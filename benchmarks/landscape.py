"""Loss-landscape geometry: jaxstat vs PyHessian and loss_landscapes (issue 5).

Run:  pip install -e ".[bench]" && python benchmarks/landscape.py [--repeats 5] [--quick]

One MLP, 64-128-128-10 with tanh (26,122 parameters), trained full-batch with
``jaxstat.nets.train`` on all 1,797 digits; the same weights are copied into an
equivalent PyTorch ``nn.Sequential`` (Linear/Tanh) for the baselines, and the
loss is the mean cross-entropy over the 1,797 samples as one batch on both sides.

1. **Top-5 Hessian eigenvalues**: ``jaxstat.landscape.hessian_eigs`` (Lanczos)
   vs PyHessian's ``hessian(...).eigenvalues(top_n=5)`` at its defaults
   (power iteration with deflation, maxIter=100, tol=1e-3). Accuracy is
   checked against the exact eigenvalues of the dense Hessian of the 64-wide
   variant (64-64-64-10, 8,970 parameters, built column by column from HVPs).
2. **Trace and density**: ``hessian_trace`` (Hutchinson) and
   ``spectral_density`` (SLQ) vs PyHessian's ``trace()`` and ``density()`` at
   their defaults. PyHessian 0.1's ``density`` calls ``torch.eig``, removed from
   PyTorch 2; a one-line shim maps it to ``torch.linalg.eigh`` of the
   (symmetric) tridiagonal, which costs nothing next to the HVPs.
3. **51x51 filter-normalized plane**: ``random_direction`` x2 + ``plane`` vs
   ``loss_landscapes.random_plane(..., steps=51, normalization="filter")``;
   the achieved rate counts the forward FLOPs, 2 * sum(in * out) per sample
   per point, against the measured float32 2048x2048 ``jnp.dot`` rate.
4. **One HVP over one gradient** (compiled, jaxstat's forward-over-reverse).

Figures are medians of ``--repeats`` timed runs after a warm-up call; the first
call (compile + run) is reported separately. Every timed jaxstat call is the
public function as a user calls it (argument checks included). ``--quick``:
2 repeats and 2 seeds for the accuracy checks (a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxstat as js
from _common import machine, median_time, record

WIDTHS = (64, 128, 128, 10)
SMALL = (64, 64, 64, 10)


def first_call(fn):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


# --------------------------------------------------------------------------- #
# the network on both sides
# --------------------------------------------------------------------------- #
def trained(widths, x, y, n_epochs=300):
    model = js.nets.mlp(jax.random.key(0), widths, "tanh")
    r = js.nets.train(model, x, y, optax.adam(1e-2), n_epochs=n_epochs)
    f, params = js.nets.loss_fn(r.model, x, y)
    return f, params, r


def torch_copy(params, widths):
    import torch

    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        lin = torch.nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(np.asarray(params["layers"][i]["kernel"][...]).T))
            lin.bias.copy_(torch.tensor(np.asarray(params["layers"][i]["bias"][...])))
        layers += [lin, torch.nn.Tanh()]
    return torch.nn.Sequential(*layers[:-1])


def forward_flops(widths, n_samples):
    return 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:])) * n_samples


def dense_hessian(f, params, batch=128):
    """The exact dense Hessian, one HVP per column in batches (jacfwd of all columns at once needs ~30 GB)."""
    from jax.flatten_util import ravel_pytree

    x0, unravel = ravel_pytree(params)
    grad = jax.grad(lambda v: f(unravel(v)))
    cols = jax.jit(lambda: jax.lax.map(lambda e: jax.jvp(grad, (x0,), (e,))[1],
                                       jnp.eye(x0.shape[0], dtype=x0.dtype), batch_size=batch))()
    H = np.asarray(cols, np.float64)
    return (H + H.T) / 2


# --------------------------------------------------------------------------- #
# PyHessian
# --------------------------------------------------------------------------- #
def pyhessian_module():
    import torch
    from pyhessian import hessian

    def eig(T, eigenvectors=True):
        # torch.eig was removed in PyTorch 2 (a stub that raises); PyHessian 0.1's density() still calls it
        # on its symmetric tridiagonal, so eigh gives the same (real) eigenpairs.
        w, V = torch.linalg.eigh(T)
        return torch.stack([w, torch.zeros_like(w)], 1), V

    torch.eig = eig
    return hessian


def pyhessian_obj(net, X, Y):
    import torch

    hessian = pyhessian_module()
    return hessian(net, torch.nn.CrossEntropyLoss(), data=(X, Y), cuda=False)


def rel_err(est, exact):
    est = np.sort(np.asarray(est, np.float64))[::-1]
    return float(np.max(np.abs(est - exact) / np.abs(exact)))


# --------------------------------------------------------------------------- #
# 1. eigenvalues
# --------------------------------------------------------------------------- #
def bench_eigs(main, small, repeats, n_seeds=5):
    import torch

    f_s, p_s, net_s, X, Y = small
    f, params, net = main[:3]
    print("\n1. Top-5 Hessian eigenvalues")
    t0 = time.perf_counter()
    H = dense_hessian(f_s, p_s)
    exact = np.linalg.eigvalsh(H)[::-1][:5]
    print(f"  64-wide variant {SMALL}: {H.shape[0]} parameters, dense Hessian in {time.perf_counter() - t0:.1f} s; "
          f"exact top 5: {np.array2string(exact, precision=5)}")

    # accuracy against the exact eigenvalues (64-wide), over seeds
    ph_errs = []
    for s in range(n_seeds):
        torch.manual_seed(s)
        ev, _ = pyhessian_obj(net_s, X, Y).eigenvalues(top_n=5)
        ph_errs.append(rel_err(ev, exact))
    ph_err = statistics.median(ph_errs)
    print(f"  PyHessian (maxIter=100, tol=1e-3) max relative error of the top 5: median {ph_err:.2e} "
          f"over {n_seeds} seeds (range {min(ph_errs):.1e}-{max(ph_errs):.1e})")
    js_err = {}
    for n_iter in (8, 10, 12, 14, 16, 20, 32):
        errs = [rel_err(js.landscape.hessian_eigs(jax.random.key(s), f_s, p_s, 5, n_iter=n_iter,
                                                  tol=0).eigenvalues, exact) for s in range(n_seeds)]
        js_err[n_iter] = errs
        print(f"  jaxstat hessian_eigs n_iter={n_iter:2d}: max relative error median {statistics.median(errs):.2e}, "
              f"worst {max(errs):.2e}")
    # the smallest Krylov sizes reaching 1e-4 in every seed, and PyHessian's accuracy in the median
    n_acc = min(n for n, e in js_err.items() if max(e) <= 1e-4)
    n_ph = min(n for n, e in js_err.items() if statistics.median(e) <= ph_err)
    print(f"  -> n_iter={n_acc} for 1e-4 (all seeds), n_iter={n_ph} for PyHessian's accuracy")
    default_errs = [rel_err(js.landscape.hessian_eigs(jax.random.key(s), f_s, p_s, 5).eigenvalues, exact)
                    for s in range(n_seeds)]
    print(f"  jaxstat hessian_eigs at its defaults (tol=1e-4, stops when the residuals meet it): max relative "
          f"error median {statistics.median(default_errs):.2e}, worst {max(default_errs):.2e}")

    rows = {}
    for label, (ff, pp, nn) in (("64-128-128-10", (f, params, net)), ("64-64-64-10", (f_s, p_s, net_s))):
        def ph():
            return pyhessian_obj(nn, X, Y).eigenvalues(top_n=5)[0]

        ph()
        t_ph = median_time(ph, repeats)
        row = {"pyhessian": t_ph}
        for n_iter in (n_acc, n_ph, "default"):
            seeds = iter(range(100, 10_000))
            options = {} if n_iter == "default" else dict(n_iter=n_iter, tol=0)
            call = lambda options=options: js.landscape.hessian_eigs(jax.random.key(next(seeds)), ff, pp, 5,
                                                                      **options).eigenvalues
            t_first, _ = first_call(call)
            row[n_iter] = (t_first, median_time(call, repeats))
        rows[label] = row
        print(f"  {label}: PyHessian top-5 median {t_ph[0] * 1e3:.0f} ms (range {t_ph[1] * 1e3:.0f}-"
              f"{t_ph[2] * 1e3:.0f}); jaxstat n_iter={n_acc} (1e-4): {row[n_acc][1][0] * 1e3:.0f} ms "
              f"(first call {row[n_acc][0]:.2f} s), {t_ph[0] / row[n_acc][1][0]:.1f}x faster; "
              f"n_iter={n_ph} (PyHessian's accuracy): {row[n_ph][1][0] * 1e3:.0f} ms, "
              f"{t_ph[0] / row[n_ph][1][0]:.1f}x faster; defaults (tol=1e-4): {row['default'][1][0] * 1e3:.0f} ms "
              f"(first call {row['default'][0]:.2f} s), {t_ph[0] / row['default'][1][0]:.1f}x faster")
    # the main net has no dense Hessian; its reference is a long Lanczos, certified by its residuals
    ref = js.landscape.hessian_eigs(jax.random.key(7), f, params, 5, n_iter=128, tol=0)
    ref_vals = np.asarray(ref.eigenvalues, np.float64)
    e_acc = rel_err(js.landscape.hessian_eigs(jax.random.key(1), f, params, 5, n_iter=n_acc, tol=0).eigenvalues,
                    ref_vals)
    e_default = [rel_err(js.landscape.hessian_eigs(jax.random.key(s), f, params, 5).eigenvalues, ref_vals)
                 for s in range(n_seeds)]
    torch.manual_seed(0)
    e_ph = rel_err(pyhessian_obj(net, X, Y).eigenvalues(top_n=5)[0], ref_vals)
    print(f"  64-128-128-10 against 128-step Lanczos (top 5 {np.array2string(ref_vals, precision=5)}, "
          f"residuals <= {float(ref.residuals.max()):.1e}): jaxstat n_iter={n_acc} {e_acc:.1e}, defaults: median "
          f"{statistics.median(e_default):.1e}, worst {max(e_default):.1e} over {n_seeds} seeds; PyHessian {e_ph:.1e}")
    return ph_err, js_err, n_acc, n_ph, rows


# --------------------------------------------------------------------------- #
# 2. trace and density
# --------------------------------------------------------------------------- #
def bench_trace_density(main, repeats):
    import torch

    f, params, net, X, Y = main
    print("\n2. Trace (Hutchinson) and spectral density (SLQ), 64-128-128-10")
    torch.manual_seed(0)
    n_used = []

    def ph_trace():
        vhv = pyhessian_obj(net, X, Y).trace()
        n_used.append(len(vhv))
        return float(np.mean(vhv)), float(np.std(vhv, ddof=1) / np.sqrt(len(vhv)))

    ph_est = ph_trace()
    t_ph = median_time(ph_trace, repeats)
    n_ph = int(statistics.median(n_used))
    print(f"  PyHessian trace() (maxIter=100, tol=1e-3): median {t_ph[0] * 1e3:.0f} ms, stops after "
          f"{min(n_used)}-{max(n_used)} probes (median {n_ph}); estimate {ph_est[0]:.4f} +- {ph_est[1]:.4f}")
    out = {"pyhessian": (t_ph, n_ph, ph_est)}
    for n in sorted({n_ph, 100}):
        seeds = iter(range(10_000))
        call = lambda n=n: tuple(js.landscape.hessian_trace(jax.random.key(next(seeds)), f, params, n))
        t_first, est = first_call(call)
        t = median_time(call, repeats)
        out[n] = (t_first, t, est)
        print(f"  jaxstat hessian_trace n_samples={n}: median {t[0] * 1e3:.0f} ms (first call {t_first:.2f} s), "
              f"{t_ph[0] / t[0] * n / n_ph:.1f}x PyHessian's time per probe; estimate {float(est[0]):.4f} "
              f"+- {float(est[1]):.4f}")

    def ph_density():
        return pyhessian_obj(net, X, Y).density()  # iter=100, n_v=1

    ph_density()
    t_phd = median_time(ph_density, repeats)
    seeds = iter(range(10_000))
    call = lambda: js.landscape.spectral_density(jax.random.key(next(seeds)), f, params, n_probes=1, n_iter=100).density
    t_first, _ = first_call(call)
    t_d = median_time(call, repeats)
    out["density"] = (t_phd, t_first, t_d)
    print(f"  density, 1 probe x 100 Lanczos steps: PyHessian density() median {t_phd[0]:.2f} s; jaxstat "
          f"spectral_density {t_d[0]:.2f} s (first call {t_first:.2f} s): {t_phd[0] / t_d[0]:.1f}x faster")
    return out


# --------------------------------------------------------------------------- #
# 3. plane, 4. HVP / gradient
# --------------------------------------------------------------------------- #
def matmul_rate(n=2048, calls=3):
    """A probe of the machine's float32 matmul rate: each call times ``calls`` compiled
    ``n x n`` ``jnp.dot`` products and returns the median rate in GFLOP/s."""
    A = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    dot(A, A).block_until_ready()
    return lambda: 2 * n**3 / median_time(lambda: dot(A, A), calls)[0] / 1e9


def _interleaved(fns, probe, repeats):
    """Time each of ``fns`` ``repeats`` times, each call right after a matmul-rate probe so that
    both see the same load. Per function: ``(median, min, max)`` times, the median rate, and
    each pair's rate x time (GFLOP the matmul would have done meanwhile; flops / that = fraction)."""
    times = {k: [] for k in fns}
    rates = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            rates[k].append(probe())
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times[k].append(time.perf_counter() - t0)
    out = {}
    for k in fns:
        ts = times[k]
        out[k] = ((statistics.median(ts), min(ts), max(ts)), statistics.median(rates[k]),
                  [r * t for r, t in zip(rates[k], ts)])
    return out


def bench_plane(main, repeats, steps=51):
    import loss_landscapes
    import loss_landscapes.metrics
    import torch

    f, params, net, X, Y = main
    flops = forward_flops(WIDTHS, X.shape[0]) * steps * steps
    probe = matmul_rate()
    print(f"\n3. {steps}x{steps} filter-normalized plane, 64-128-128-10: {flops / 1e9:.1f} GFLOP of forward passes "
          f"(2 x 1,797 x sum(in x out) per point, the FLOPs done); each timed call follows a 2048^2 float32 "
          f"jnp.dot rate probe (median of 3), and 'of the matmul rate' is the median over those pairs")
    grid = jnp.linspace(-1.0, 1.0, steps)
    seeds = iter(range(0, 10_000, 2))

    def run_js(**options):
        k = next(seeds)
        # ignore=None rescales biases as one filter, as loss_landscapes does
        d1 = js.landscape.random_direction(jax.random.key(k), params, "filter", ignore=None)
        d2 = js.landscape.random_direction(jax.random.key(k + 1), params, "filter", ignore=None)
        return js.landscape.plane(f, params, d1, d2, grid, grid, **options)

    t_first, surf = first_call(run_js)
    # the defaults (one point per chunk, one host thread per core) against the former defaults:
    # one XLA program using XLA's own intra-op threads (workers=1), 4 points per chunk
    variants = {"defaults": run_js, "workers=1, chunk_size=4": lambda: run_js(workers=1, chunk_size=4)}
    for fn in variants.values():
        jax.block_until_ready(fn())
    timed = _interleaved(variants, probe, repeats)
    t_js, rate, pairs = timed["defaults"]
    metric = loss_landscapes.metrics.Loss(torch.nn.CrossEntropyLoss(), X, Y)

    def run_ll():
        return loss_landscapes.random_plane(net, metric, distance=1, steps=steps, normalization="filter",
                                            deepcopy_model=True)

    t_ll = median_time(run_ll, max(3, repeats // 2 + 1))
    centre = float(surf[steps // 2, steps // 2])
    for label, (t, r, p) in timed.items():
        frac = statistics.median(flops / 1e9 / x for x in p)
        print(f"  jaxstat random_direction x2 + plane ({label}): median {t[0]:.2f} s (range {t[1]:.2f}-{t[2]:.2f}) "
              f"= {flops / t[0] / 1e9:.0f} GFLOP/s; matmul rate {r:.0f} GFLOP/s; {frac:.2f} of the matmul rate")
    print(f"  first call of the defaults (compilation included) {t_first:.2f} s; centre loss {centre:.2e} = loss "
          f"{float(f(params)):.2e}")
    print(f"  loss_landscapes.random_plane: median {t_ll[0]:.2f} s (range {t_ll[1]:.2f}-{t_ll[2]:.2f}) = "
          f"{flops / t_ll[0] / 1e9:.0f} GFLOP/s; jaxstat (defaults) is {t_ll[0] / t_js[0]:.1f}x faster")
    return flops, rate, t_first, t_js, t_ll


def bench_hvp(main, repeats):
    import torch
    from jax.flatten_util import ravel_pytree

    f, params, net, X, Y = main
    x0, unravel = ravel_pytree(params)
    loss_flat = lambda v: f(unravel(v))
    grad = jax.jit(jax.grad(loss_flat))
    hvp = jax.jit(lambda v: jax.jvp(jax.grad(loss_flat), (x0,), (v,))[1])
    v = jax.random.normal(jax.random.key(3), x0.shape)
    grad(x0).block_until_ready()
    t_first, _ = first_call(lambda: hvp(v))
    reps = max(repeats, 5) * 10
    t_g, t_h = median_time(lambda: grad(x0), reps), median_time(lambda: hvp(v), reps)
    # the same two on the PyTorch side, as PyHessian computes them (double backward)
    crit = torch.nn.CrossEntropyLoss()
    tparams = list(net.parameters())
    tv = [torch.randn_like(p) for p in tparams]

    def tgrad():
        return torch.autograd.grad(crit(net(X), Y), tparams)

    def thvp():
        g = torch.autograd.grad(crit(net(X), Y), tparams, create_graph=True)
        return torch.autograd.grad(g, tparams, grad_outputs=tv)

    tgrad(), thvp()
    tt_g, tt_h = median_time(tgrad, reps), median_time(thvp, reps)
    print(f"\n4. One HVP / one gradient, 64-128-128-10, 1,797 samples: jaxstat {t_h[0] * 1e3:.2f} / "
          f"{t_g[0] * 1e3:.2f} ms = {t_h[0] / t_g[0]:.2f}; PyTorch (grad + double backward) {tt_h[0] * 1e3:.2f} / "
          f"{tt_g[0] * 1e3:.2f} ms = {tt_h[0] / tt_g[0]:.2f}; jaxstat's first HVP (compilation) {t_first:.2f} s")
    return t_g, t_h, tt_g, tt_h, t_first


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: eigs,trace,plane,hvp")
    parser.add_argument("--quick", action="store_true", help="2 repeats, 2 seeds for accuracy (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 2
    import loss_landscapes  # noqa: F401  (fail early when the bench extra is missing)
    import pyhessian  # noqa: F401
    import torch

    print(machine(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)", f"NumPy {np.__version__}"))
    x, y = js.datasets.digits()
    X, Y = torch.tensor(np.asarray(x)), torch.tensor(np.asarray(y)).long()
    nets = {}
    for widths in (WIDTHS, SMALL):
        f, params, r = trained(widths, x, y)
        net = torch_copy(params, widths)
        with torch.no_grad():
            l_torch = float(torch.nn.CrossEntropyLoss()(net(X), Y))
        print(f"MLP {widths}, tanh: {sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))} parameters, "
              f"300 full-batch Adam(1e-2) epochs, accuracy {float(r.history.accuracy[-1]):.3f}; loss jaxstat "
              f"{float(f(params)):.6e}, PyTorch copy {l_torch:.6e}")
        nets[widths] = (f, params, net, X, Y)
    skip = set(filter(None, args.skip.split(",")))
    net = "64-128-128-10"
    if "hvp" not in skip:
        _, t_h, _, tt_h, t_first = bench_hvp(nets[WIDTHS], args.repeats)
        record(f"one Hessian-vector product, {net}, 1,797 samples", t_h[0], "s",
               peer="PyTorch double backward", peer_value=tt_h[0], first_call_s=t_first)
    if "eigs" not in skip:
        _, _, n_acc, _, rows = bench_eigs(nets[WIDTHS], nets[SMALL], args.repeats, n_seeds=2 if args.quick else 5)
        row = rows[net]
        record(f"top-5 Hessian eigenvalues, {net}, hessian_eigs defaults", row["default"][1][0], "s",
               peer="PyHessian eigenvalues(top_n=5)", peer_value=row["pyhessian"][0], first_call_s=row["default"][0],
               target=3, readme=True)
        record(f"top-5 Hessian eigenvalues, {net}, n_iter={n_acc} (1e-4 accurate)", row[n_acc][1][0], "s",
               peer="PyHessian eigenvalues(top_n=5)", peer_value=row["pyhessian"][0], first_call_s=row[n_acc][0])
    if "trace" not in skip:
        out = bench_trace_density(nets[WIDTHS], args.repeats)
        t_ph, n_ph, _ = out["pyhessian"]
        record(f"Hessian trace, {net}, {n_ph} Hutchinson probes", out[n_ph][1][0], "s", peer="PyHessian trace()",
               peer_value=t_ph[0], first_call_s=out[n_ph][0])
        t_phd, t_first, t_d = out["density"]
        record(f"spectral density, {net}, 1 probe × 100 Lanczos steps", t_d[0], "s", peer="PyHessian density()",
               peer_value=t_phd[0], first_call_s=t_first)
    if "plane" not in skip:
        flops, rate, t_first, t_js, t_ll = bench_plane(nets[WIDTHS], args.repeats)
        record(f"51 × 51 filter-normalized loss plane, {net}, directions included", t_js[0], "s",
               peer="loss_landscapes.random_plane", peer_value=t_ll[0], first_call_s=t_first, readme=True,
               note=f"{flops / t_js[0] / 1e9 / rate:.2f} of the float32 matmul rate ({rate:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
