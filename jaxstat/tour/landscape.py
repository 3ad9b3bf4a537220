"""Tour section: the loss landscape of an MLP on the digits, at a minimum and at a saddle,
in filter-normalized random planes and in the plane of the extreme Hessian eigenvectors.

The saddle is built honestly from a symmetric point: the same network is
trained with its hidden units tied in identical pairs (the loss is evaluated
at the pair-averaged parameters, so the point stays exactly symmetric). A
critical point of the loss restricted to the symmetric subspace is a critical
point of the full loss, because the gradient at a symmetric point is itself
symmetric; whether it is a minimum or a saddle is decided by the curvature
across the subspace (Fukumizu and Amari 2000), and Lanczos measures it.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat.tour._common import stage


def pair_average(params, n_hidden: int):
    """Tie the hidden units of a one-hidden-layer ``jaxstat.nets.mlp`` in pairs ``(0, 1), (2, 3), ...``:
    each pair's incoming weights, bias and outgoing weights replaced by the pair's mean."""
    swap = np.arange(n_hidden).reshape(-1, 2)[:, ::-1].reshape(-1)

    def leaf(path, a):
        keys = [getattr(k, "key", None) for k in path]
        if keys[1] == 0 and keys[2] == "kernel":
            return (a + a[:, swap]) / 2
        if (keys[1] == 0 and keys[2] == "bias") or (keys[1] == 1 and keys[2] == "kernel"):
            return (a + a[swap]) / 2
        return a

    return jax.tree_util.tree_map_with_path(leaf, params)


def fit_adam(loss, params, n_steps: int, lr: float):
    """Full-batch Adam with a cosine-decayed step on ``loss(params)``, one compiled scan."""
    import optax

    opt = optax.adam(optax.cosine_decay_schedule(lr, n_steps, alpha=1e-3))

    def step(carry, _):
        p, s = carry
        updates, s = opt.update(jax.grad(loss)(p), s, p)
        return (optax.apply_updates(p, updates), s), None

    run = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None, length=n_steps)[0][0])
    return run(params)


def random_plane_statistics(loss, params, key, n_planes: int):
    """Project the Hessian on ``n_planes`` random planes of each kind, isotropic Gaussian and
    filter-normalized. Returns, per kind, the unit-direction curvatures ``d^T H d / |d|^2``
    (``2 n_planes`` of them) and the fraction of planes whose 2x2 projected Hessian is indefinite
    (a plane that shows the saddle as a saddle): ``{"isotropic": (curv, frac), "filter": (curv, frac)}``."""
    from jax.flatten_util import ravel_pytree

    from jaxstat import landscape

    x0, unravel = ravel_pytree(params)
    k_iso, k_fn = jax.random.split(key)
    iso = jax.random.normal(k_iso, (2 * n_planes, x0.shape[0]), x0.dtype)
    fn = jax.vmap(lambda k: ravel_pytree(landscape.random_direction(k, params, "filter"))[0])(
        jax.random.split(k_fn, 2 * n_planes))

    @jax.jit
    def project(x0, dirs):
        dirs = dirs / jnp.linalg.norm(dirs, axis=1, keepdims=True)
        grad = jax.grad(lambda x: loss(unravel(x)))
        hd = jax.vmap(lambda v: jax.jvp(grad, (x0,), (v,))[1])(dirs)
        u, v, hu, hv = dirs[0::2], dirs[1::2], hd[0::2], hd[1::2]
        a, b, c = jnp.sum(u * hu, 1), jnp.sum(u * hv, 1), jnp.sum(v * hv, 1)
        # ⟨v, Hu⟩ and ⟨u, Hv⟩ agree to rounding; the determinant decides definiteness
        return jnp.concatenate([a, c]), a * c - b * b < 0

    curv, indefinite = (np.asarray(z) for z in project(x0, jnp.concatenate([iso, fn])))
    m = 2 * n_planes
    return {"isotropic": (np.concatenate([curv[:n_planes], curv[m:m + n_planes]]), float(indefinite[:n_planes].mean())),
            "filter": (np.concatenate([curv[n_planes:m], curv[m + n_planes:]]), float(indefinite[n_planes:].mean()))}


def _analyse(loss, params, key, cfg, window=None):
    """Everything the section reports about one point: Hessian directions, planes, trace, density.

    ``window``: ``(r_b, scale)`` to reuse the plane windows of another point (see below)."""
    from jax.flatten_util import ravel_pytree

    from jaxstat import landscape

    ks = jax.random.split(key, 8)
    n = ravel_pytree(params)[0].shape[0]
    times = {}
    t = [time.perf_counter()]

    def tick(name):
        now = time.perf_counter()
        times[name] = now - t[0]
        t[0] = now

    out = {"loss": float(loss(params)), "grad_norm": float(landscape.tree_norm(jax.grad(loss)(params))), "n": n}
    hd = landscape.hessian_directions(ks[0], loss, params, n_iter=cfg["n_iter"])
    out["hd"] = hd
    # k_bars = 1 (quick) reuses the compiled program of hessian_directions
    out["eigs"] = landscape.hessian_eigs(ks[1], loss, params, cfg["k_bars"], "both", n_iter=cfg["n_iter"])
    tick("lanczos")
    # Windows. A saddle made by tying units is shallow: along v_min the loss falls as ½ λ_min β²
    # only until quartic terms take over, so the planes are drawn where the quadratic model holds:
    # β up to twice the distance of the lowest point of the line along v_min, α along v_max up to
    # where ½ λ_max α² equals |½ λ_min β²| (an anisotropic window, labelled on the axes).
    lam = np.asarray(hd.eigenvalues, dtype=float)
    d1 = landscape.random_direction(ks[2], params, "filter")
    d2 = landscape.random_direction(ks[3], params, "filter")
    scale = float(landscape.tree_norm(d1))
    if window is None:
        probe = np.linspace(0, scale, 201)
        along = np.asarray(landscape.line(loss, params, hd.bottom, probe))
        r_b = 2 * probe[max(int(np.argmin(along)), 2)]
    else:
        r_b, scale = window
    r_a = r_b * np.sqrt(max(abs(lam[1]), 1e-12) / lam[0])
    out["window"] = (r_b, scale)
    g = np.linspace(-1, 1, cfg["n_grid"])
    # random plane, local: the same filter-normalized directions scaled to unit length, window r_b
    u1, u2 = (jax.tree.map(lambda a, d=d: a / landscape.tree_norm(d), d) for d in (d1, d2))
    out["random_plane"] = (r_b * g, r_b * g, np.asarray(landscape.plane(loss, params, u1, u2, r_b * g, r_b * g)))
    out["hessian_plane"] = (r_a * g, r_b * g,
                            np.asarray(landscape.plane(loss, params, hd.top, hd.bottom, r_a * g, r_b * g)))
    # random plane, wide: Li et al.'s [-1, 1]^2 in filter-normalized units
    out["random_plane_wide"] = (g, g, np.asarray(landscape.plane(loss, params, d1, d2, g, g)))
    out["direction_norm"] = scale
    tick("planes")
    # curvature of random projections vs the normalized trace
    out["hutchinson"] = landscape.hessian_trace(ks[4], loss, params, cfg["n_trace"], "hutchinson")
    out["hutchpp"] = landscape.hessian_trace(ks[5], loss, params, cfg["n_trace"], "hutch++")
    tick("trace")
    out["projection"] = landscape.random_projection_curvature(ks[6], loss, params, cfg["n_projections"])
    tick("projections")
    stats = random_plane_statistics(loss, params, ks[7], cfg["n_planes"])
    (out["plane_curv"], out["indefinite"]), (out["fn_curv"], out["fn_indefinite"]) = stats["isotropic"], stats["filter"]
    tick("random planes")
    out["density"] = landscape.spectral_density(jax.random.fold_in(key, 9), loss, params, cfg["n_probes"],
                                                cfg["n_iter_slq"])
    tick("density")
    out["times"] = times
    return out


def landscape_experiment(quick: bool = False, hidden: int = 16, weight_decay: float = 1e-2, seed: int = 0,
                         bar=None) -> dict:
    """Train a 64-``hidden``-10 tanh MLP on the digits to a minimum and, with its hidden units tied in
    pairs, to a saddle; analyse both. Returns a dict of results (see ``landscape_section``)."""
    import optax

    from jaxstat import datasets, nets

    cfg = {"n_epochs": 1000 if quick else 6000, "n_iter": 64 if quick else 128, "n_grid": 15 if quick else 41,
           "k_bars": 1 if quick else 5, "n_trace": 30 if quick else 150, "n_projections": 200 if quick else 1000,
           "n_planes": 100 if quick else 200, "n_probes": 4 if quick else 10, "n_iter_slq": 40 if quick else 80}
    x, y = datasets.digits()
    model = nets.mlp(jax.random.key(seed), (64, hidden, 10), "tanh")
    ce, p_init = nets.loss_fn(model, x, y)

    def loss(p):  # cross-entropy + L2: a true minimum exists at finite weights
        return ce(p) + 0.5 * weight_decay * sum(jnp.sum(a * a) for a in jax.tree.leaves(p))

    loss = jax.jit(loss)
    t0 = time.perf_counter()
    stage(bar, f"Landscape: training a 64-{hidden}-10 tanh MLP on the digits ({cfg['n_epochs']} epochs)")
    opt = optax.chain(optax.add_decayed_weights(weight_decay),
                      optax.adam(optax.cosine_decay_schedule(2e-2, cfg["n_epochs"], alpha=1e-3)))
    trained = nets.train(model, x, y, opt, n_epochs=cfg["n_epochs"])
    p_min = nets.loss_fn(trained.model, x, y)[1]
    stage(bar, "Landscape: training with hidden units tied in pairs (a symmetric critical point)")
    p_saddle = pair_average(fit_adam(lambda p: loss(pair_average(p, hidden)), p_init, cfg["n_epochs"], 2e-2), hidden)
    t_train = time.perf_counter() - t0

    res = {"cfg": cfg, "hidden": hidden, "weight_decay": weight_decay, "t_train": t_train,
           "accuracy": {"minimum": float(trained.history.accuracy[-1]),
                        "saddle": float(nets.accuracy(_logits(trained.model, p_saddle, x), y))}}
    for name, p, k in (("saddle", p_saddle, 2), ("minimum", p_min, 1)):
        stage(bar, f"Landscape: Lanczos, planes, traces and spectral density at the {name}")
        t0 = time.perf_counter()
        # the minimum is drawn in the saddle's windows, so the two rows share their scales
        res[name] = _analyse(loss, p, jax.random.key(100 + k), cfg, res["saddle"]["window"] if k == 1 else None)
        res[name]["time"] = time.perf_counter() - t0
    return res


def _logits(model, params, x):
    from flax import nnx

    graphdef, _, rest = nnx.split(model, nnx.Param, ...)
    return nnx.merge(graphdef, params, rest)(x)


def landscape_figures(res: dict, outdir: Path) -> list[str]:
    """Write the section's figures; returns their file names."""
    from jaxstat import plot

    plt = plot.pyplot()
    names = []
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 8.4), constrained_layout=True)
    for row, name in enumerate(("minimum", "saddle")):
        r = res[name]
        lam, resid = np.asarray(r["hd"].eigenvalues), np.asarray(r["hd"].residuals)
        plot.landscape_contour(*r["random_plane"], ax=axes[row, 0], center=r["loss"],
                               xlabel=r"distance along random $d_1$", ylabel=r"distance along random $d_2$",
                               title=f"{name}: random plane (filter-normalized directions)")
        plot.landscape_contour(*r["hessian_plane"], ax=axes[row, 1], center=r["loss"],
                               xlabel=rf"distance along $v_{{max}}$ ($\lambda$ = {lam[0]:.3g})",
                               ylabel=rf"distance along $v_{{min}}$ ($\lambda$ = {lam[1]:.2g} ± {resid[1]:.0e})",
                               title=f"{name}: Hessian plane")
    fig.suptitle("Loss minus its value at the centre (+); blue is below the centre.\n"
                 "Random planes see curvature ≈ tr(H)/n > 0; the Hessian plane sees the saddle", fontsize=10)
    names.append(plot.save(fig, outdir / "landscape_planes.png"))

    fig = plt.figure(figsize=(11, 4.6), constrained_layout=True)
    r = res["saddle"]
    for i, (key, title, xl, yl) in enumerate((
            ("random_plane_wide", "saddle: random plane, Li et al.'s [-1, 1]² (filter-normalized units)",
             r"$\alpha$", r"$\beta$"),
            ("hessian_plane", "saddle: plane of $v_{max}$ and $v_{min}$ (local window)",
             r"along $v_{max}$", r"along $v_{min}$"))):
        plot.landscape_surface(*r[key], ax=fig.add_subplot(1, 2, i + 1, projection="3d"), title=title,
                               xlabel=xl, ylabel=yl)
    names.append(plot.save(fig, outdir / "landscape_surfaces.png"))

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    plot.spectral_density_plot({name: (res[name]["density"].grid, res[name]["density"].density)
                                for name in ("minimum", "saddle")}, ax=axes[0],
                               title="Hessian spectral density (stochastic Lanczos quadrature)")
    k = res["cfg"]["k_bars"]
    ticks = [f"{i + 1}" for i in range(k)] + [f"n-{k - 1 - i}" if k - 1 - i else "n" for i in range(k)]
    plot.eigenvalue_bars({name: np.concatenate([res[name]["eigs"].eigenvalues[:k], res[name]["eigs"].eigenvalues[k:][::-1]])
                          for name in ("minimum", "saddle")},
                         {name: np.concatenate([res[name]["eigs"].residuals[:k], res[name]["eigs"].residuals[k:][::-1]])
                          for name in ("minimum", "saddle")}, ax=axes[1], ticklabels=ticks,
                         title=f"the {k} largest and {k} smallest eigenvalues (Lanczos; bars: residuals)")
    names.append(plot.save(fig, outdir / "landscape_spectrum.png"))

    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    bins = np.histogram_bin_edges(np.concatenate([res["minimum"]["plane_curv"], res["saddle"]["plane_curv"]]), 40)
    for name in ("minimum", "saddle"):
        c = res[name]["plane_curv"]
        ax.hist(c, bins=bins, alpha=0.5, label=f"{name}: random unit directions")
        tr = float(res[name]["hutchinson"].estimate) / res[name]["n"]
        ax.axvline(tr, color="k" if name == "minimum" else "tab:red", ls="--", lw=1,
                   label=f"{name}: Hutchinson tr(H)/n")
    ax.axvline(float(res["saddle"]["hd"].eigenvalues[1]), color="tab:purple", lw=1.5, label=r"saddle: $\lambda_{min}$")
    ax.set_xlabel(r"curvature $d^T H d$ along a random unit direction $d$")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    names.append(plot.save(fig, outdir / "landscape_curvatures.png"))
    return [Path(n).name for n in names]


def _z(r, n):
    """(n × mean projection curvature − Hutch++) in units of their combined standard error."""
    a, sa = n * float(r["projection"].mean), n * float(r["projection"].stderr)
    b, sb = float(r["hutchpp"].estimate), float(r["hutchpp"].stderr)
    return (a - b) / np.hypot(sa, sb)


def _pm(x, err, digits=3):
    return f"{float(x):.{digits}g} ± {float(err):.1g}"


def landscape_section(outdir: Path, quick: bool = False, bar=None) -> str:
    t0 = time.perf_counter()
    res = landscape_experiment(quick=quick, bar=bar)
    stage(bar, "Landscape: figures")
    t1 = time.perf_counter()
    landscape_figures(res, Path(outdir))
    res["t_figures"] = time.perf_counter() - t1
    t_total = time.perf_counter() - t0
    h, cfg = res["hidden"], res["cfg"]
    m, s = res["minimum"], res["saddle"]
    n = m["n"]
    lines = [
        "## Loss landscapes: random planes and Hessian planes",
        "",
        f"A 64-{h}-10 tanh MLP ({n} parameters) on all 1,797 digits, loss = cross-entropy + "
        f"{res['weight_decay']:g}/2 |θ|² (L2, so that a minimum exists at finite weights), trained full-batch "
        f"by Adam (cosine-decayed step) for {cfg['n_epochs']} steps (accuracy {res['accuracy']['minimum']:.3f}). The **saddle** is built "
        f"from a symmetric point: the same network is trained from the same start with its {h} hidden units tied "
        f"in {h // 2} identical pairs (the loss evaluated at pair-averaged weights). The gradient at a symmetric "
        "point is symmetric, so a minimum within the tied subspace is a critical point of the full loss, and "
        "Lanczos decides what kind: its smallest eigenvalue is negative across the subspace (a strict saddle; "
        f"accuracy there {res['accuracy']['saddle']:.3f}). Hessian directions are the Lanczos eigenvectors of "
        "λ_max and λ_min (`landscape.hessian_directions`); random directions are filter-normalized (Li et al.). "
        f"Training: {res['t_train']:.1f} s; analysis: {m['time']:.1f} s at the minimum, {s['time']:.1f} s at the "
        f"saddle (there: " + ", ".join(f"{k} {v:.1f} s" for k, v in s["times"].items())
        + f"); figures {res['t_figures']:.1f} s; section {t_total:.1f} s.",
        "",
        f"**Result:** at the minimum λ_max = {float(m['hd'].eigenvalues[0]):.4g}, λ_min = "
        f"{float(m['hd'].eigenvalues[1]):.3g}; at the saddle λ_min = {float(s['hd'].eigenvalues[1]):.3g} < 0, yet "
        f"{np.mean(s['plane_curv'] < 0):.1%} of random directions see negative curvature there",
        "",
        "![Loss contours in a random (filter-normalized) plane and in the plane of the Hessian eigenvectors of "
        "λ_max and λ_min, at the minimum (top) and at the saddle (bottom): only the Hessian plane shows the "
        "saddle's downhill direction.](landscape_planes.png)",
        "![The loss around the saddle as a surface: over a random plane in Li et al.'s [-1, 1]² window "
        "(filter-normalized units) it looks like a bowl; over the plane of v_max and v_min it is a "
        "saddle.](landscape_surfaces.png)",
        "![Histogram of the curvature along random unit directions, at the minimum and at the saddle, with "
        "tr(H)/n from Hutch++: random projections see the average curvature, not the negative "
        "eigenvalues.](landscape_curvatures.png)",
        "![Spectral density of the Hessian by stochastic Lanczos quadrature, at the minimum and at the "
        "saddle (log scale): a bulk near zero and a few outliers.](landscape_spectrum.png)",
        "",
        "| | minimum | saddle |",
        "|---|---|---|",
        f"| loss | {m['loss']:.4f} | {s['loss']:.4f} |",
        f"| gradient norm | {m['grad_norm']:.1e} | {s['grad_norm']:.1e} |",
    ]
    for label, i in (("λ_max ± Lanczos residual", 0), ("λ_min ± Lanczos residual", 1)):
        lines.append(f"| {label} | " + " | ".join(
            f"{float(r['hd'].eigenvalues[i]):.4g} ± {float(r['hd'].residuals[i]):.1e}" for r in (m, s)) + " |")
    lines += [
        f"| tr(H), Hutchinson ({cfg['n_trace']} HVPs) | " + " | ".join(
            _pm(r["hutchinson"].estimate, r["hutchinson"].stderr, 4) for r in (m, s)) + " |",
        f"| tr(H), Hutch++ ({cfg['n_trace']} HVPs) | " + " | ".join(
            _pm(r["hutchpp"].estimate, r["hutchpp"].stderr, 4) for r in (m, s)) + " |",
        f"| n × mean curvature of {cfg['n_projections']} random projections (no HVP) | " + " | ".join(
            _pm(n * r["projection"].mean, n * r["projection"].stderr, 4) for r in (m, s)) + " |",
        "| tr(H)/n (Hutchinson) | " + " | ".join(
            _pm(r["hutchinson"].estimate / n, r["hutchinson"].stderr / n) for r in (m, s)) + " |",
        "| mean curvature of random projections | " + " | ".join(
            _pm(r["projection"].mean, r["projection"].stderr) for r in (m, s)) + " |",
        "| fraction of random directions with negative curvature | " + " | ".join(
            f"{np.mean(r['plane_curv'] < 0):.3f}" for r in (m, s)) + " |",
        f"| fraction of {cfg['n_planes']} random planes that are saddles (isotropic / filter-normalized) | "
        + " | ".join(f"{r['indefinite']:.3f} / {r['fn_indefinite']:.3f}" for r in (m, s)) + " |",
        "",
        (f"The mean curvature of random projections agrees with tr(H)/n from Hutch++ (z = {_z(m, n):+.1f} at the "
         f"minimum, {_z(s, n):+.1f} at the saddle; Böttcher and Wheeler): it is positive at the saddle too, because "
         "many positive eigenvalues outweigh the few small negative ones, so a random plane through the saddle "
         "almost always looks like a bowl. The plane of the Hessian eigenvectors of λ_max and λ_min shows the "
         "downhill lobes (blue) that random planes miss."),
        "",
    ]
    return "\n".join(lines)
