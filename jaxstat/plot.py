"""Matplotlib figures. The only jaxstat module that imports matplotlib.

Every function takes plain arrays (NumPy or JAX), draws on a new figure (or
on ``ax`` when given) and returns the figure, so notebooks and the tour use
the same code. Import it explicitly: ``import jaxstat.plot``.
"""

from __future__ import annotations

import numpy as np


def _plt():
    # matplotlib falls back to a non-interactive backend on a headless
    # machine by itself; the tour forces Agg explicitly.
    import matplotlib.pyplot as plt

    return plt


def ising_thermodynamics(temperatures, curves: dict, exact: dict | None = None, tc: float | None = None):
    """Four panels against temperature: |m|, energy per spin, specific heat, Binder cumulant.

    Args:
      temperatures: shape ``(n_T,)``.
      curves: ``{L: {"abs_m": (mean, err), "energy": ..., "specific_heat": ..., "binder": ...}}``
        with arrays of shape ``(n_T,)``.
      exact: optional ``{"T": grid, "abs_m": ..., "energy": ..., "specific_heat": ...}``
        (Onsager's infinite-lattice curves).
      tc: critical temperature to mark.

    Returns:
      The matplotlib figure.
    """
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True)
    panels = [
        ("abs_m", r"$\langle |m| \rangle$"),
        ("energy", r"energy per spin $\langle e \rangle$"),
        ("specific_heat", r"specific heat per spin $c$"),
        ("binder", r"Binder cumulant $U_4$"),
    ]
    T = np.asarray(temperatures)
    for ax, (key, label) in zip(axes.ravel(), panels):
        for L, obs in sorted(curves.items()):
            mean, err = (np.asarray(x) for x in obs[key])
            ax.errorbar(T, mean, yerr=err, marker="o", ms=3, lw=1, capsize=2, label=f"L = {L}")
        if exact is not None and key in exact:
            ax.plot(np.asarray(exact["T"]), np.asarray(exact[key]), "k-", lw=1.5, label="Onsager (L = ∞)")
        if tc is not None:
            ax.axvline(tc, color="gray", ls="--", lw=1)
        ax.set_xlabel("temperature T")
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    if tc is not None:
        axes[0, 0].text(tc, 0.05, r" $T_c$", color="gray")
    fig.suptitle("2D Ising model: checkerboard Metropolis, one vmapped compiled call per L")
    return fig


def spin_snapshots(configs, titles, cmap="gray", suptitle=None):
    """Side-by-side images of 2D spin configurations (black = -1, white = +1)."""
    plt = _plt()
    configs = [np.asarray(c) for c in configs]
    fig, axes = plt.subplots(1, len(configs), figsize=(3.2 * len(configs), 3.8), constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, c, title in zip(axes, configs, titles):
        ax.imshow(c, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def save(fig, path) -> str:
    """Save and close a figure; returns the path."""
    fig.savefig(path, dpi=120)
    _plt().close(fig)
    return str(path)


# --------------------------------------------------------------------------- #
# Hopfield networks
# --------------------------------------------------------------------------- #
def hopfield_recall(stored, probe, results: dict, image_shape, suptitle=None):
    """Rows of images: the stored patterns, the probes, and each rule's final state.

    Args:
      stored, probe: ``(K, N)`` arrays of ±1.
      results: ``{row label: (K, N) final states}``.
      image_shape: ``(height, width)`` with ``height * width = N``.
    """
    plt = _plt()
    rows = [("stored", stored), ("probe", probe)] + list(results.items())
    k = np.asarray(stored).shape[0]
    fig, axes = plt.subplots(len(rows), k, figsize=(1.1 * k, 1.2 * len(rows)), constrained_layout=True,
                             squeeze=False)
    for r, (label, images) in enumerate(rows):
        images = np.asarray(images)
        for c in range(k):
            ax = axes[r, c]
            ax.imshow(images[c].reshape(image_shape), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def hopfield_capacity(result, alpha_c: float, theory=None):
    """Retrieved fraction and mean final overlap against the load, one curve per N.

    Args:
      result: a :class:`jaxstat.hopfield.CapacityResult`.
      alpha_c: the capacity to mark (0.138).
      theory: optional ``(alpha_grid, m)``: the AGS retrieval overlap.
    """
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for k, n in enumerate(result.n):
        alpha = result.alpha[k]
        a1.errorbar(alpha, result.retrieved_fraction[k], yerr=result.retrieved_stderr[k], marker="o", ms=3,
                    capsize=2, lw=1, label=f"N = {n}")
        a2.errorbar(alpha, result.mean_overlap[k], yerr=result.overlap_stderr[k], marker="o", ms=3, capsize=2,
                    lw=1, label=f"N = {n}")
    if theory is not None:
        a2.plot(np.asarray(theory[0]), np.asarray(theory[1]), "k-", lw=1.5, label="AGS theory (N = ∞)")
    for ax in (a1, a2):
        ax.axvline(alpha_c, color="gray", ls="--", lw=1)
        ax.text(alpha_c, 0.02, r" $\alpha_c \approx 0.138$", color="gray")
        ax.set_xlabel(r"load $\alpha = P/N$")
    a1.set_ylabel(f"fraction retrieved (final overlap > {result.threshold})")
    a2.set_ylabel("mean final overlap with the stored pattern")
    a1.legend(fontsize=8)
    a2.legend(fontsize=8)
    fig.suptitle(f"Hopfield capacity (Hebb's rule, T = 0, {result.overlap.shape[-1]} trials per point)")
    return fig


def hopfield_diagram(diagram, boundary=None):
    """Mean overlap over the (load, temperature) plane, with the AGS edge ``boundary = (alpha, T_M)``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.8), constrained_layout=True)
    a, t, m = np.asarray(diagram.alpha), np.asarray(diagram.temperature), np.asarray(diagram.mean_overlap)
    mesh = ax.pcolormesh(a, t, m, shading="nearest", cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(mesh, ax=ax, label="mean overlap with the stored pattern")
    if boundary is not None:
        ax.plot(np.asarray(boundary[0]), np.asarray(boundary[1]), "w-", lw=2, label=r"AGS $T_M(\alpha)$")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(r"load $\alpha = P/N$")
    ax.set_ylabel("temperature T")
    ax.set_title(f"Retrieval region, N = {diagram.n}, Glauber dynamics from the pattern")
    return fig


def capacity_comparison(results: dict, alpha_c: float | None = None, title: str | None = None):
    """Retrieved fraction against load (log axis) for several memories: ``{label: CapacityResult}`` (one N each)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    for label, r in results.items():
        ax.errorbar(r.alpha[0], r.retrieved_fraction[0], yerr=r.retrieved_stderr[0], marker="o", ms=3, capsize=2,
                    lw=1, label=label)
    if alpha_c is not None:
        ax.axvline(alpha_c, color="gray", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"load $\alpha = P/N$")
    ax.set_ylabel("fraction retrieved")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------- #
# perceptron
# --------------------------------------------------------------------------- #
def fruit_boundary(x, y, w, b, ax=None, title=None):
    """Apples (+1) and oranges (-1) in the (weight, sweetness) plane with the line w1 x1 + w2 x2 + b = 0."""
    plt = _plt()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    x, y, w, b = np.asarray(x), np.asarray(y), np.asarray(w), float(b)
    ax.scatter(*x[y == 1].T, s=14, c="tab:red", label="apple (+1)")
    ax.scatter(*x[y == -1].T, s=14, c="tab:orange", marker="s", label="orange (-1)")
    xs = np.linspace(x[:, 0].min(), x[:, 0].max(), 2)
    if abs(w[1]) > 1e-12 * max(abs(w[0]), 1e-30):
        ax.plot(xs, -(w[0] * xs + b) / w[1], "k-", lw=1.5, label=r"$w_1 x_1 + w_2 x_2 + b = 0$")
    else:
        ax.axvline(-b / w[0], color="k", lw=1.5, label=r"$w_1 x_1 + b = 0$")
    ax.set_ylim(x[:, 1].min() - 0.5, x[:, 1].max() + 0.5)
    ax.set_xlabel("weight (g)")
    ax.set_ylabel("sweetness (1-10)")
    ax.legend(fontsize=8, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def separability_curve(result, cover_curves: dict | None = None):
    """Fraction of separable random dichotomies against alpha = P/N per N, with Cover's formula.

    Args:
      result: a :class:`jaxstat.perceptron.SeparabilityResult`.
      cover_curves: optional ``{N: (alpha_grid, probability)}`` drawn as lines.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    for k, n in enumerate(result.n):
        line = ax.errorbar(result.p[k] / n, result.fraction[k], yerr=result.stderr[k], fmt="o", ms=4, capsize=2,
                           label=f"N = {n} (LP-decided)")
        if cover_curves is not None and int(n) in cover_curves:
            a, c = cover_curves[int(n)]
            ax.plot(a, c, "-", lw=1, color=line[0].get_color())
    ax.axvline(2.0, color="gray", ls="--", lw=1)
    ax.text(2.0, 0.9, r" $\alpha_c = 2$", color="gray")
    ax.set_xlabel(r"load $\alpha = P/N$")
    ax.set_ylabel("probability of linear separability")
    ax.set_title("Random ±1 patterns, random labels (lines: Cover's formula)")
    ax.legend(fontsize=8)
    return fig


def generalization_curve(result, grid=None, gibbs=None, bayes=None):
    """Teacher-student generalization error against alpha, with the Gibbs and Bayes replica curves."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    ax.errorbar(result.alpha, result.eps_mean, yerr=result.eps_stderr, fmt="o", ms=4, capsize=2,
                label=f"perceptron student, N = {result.n}")
    if grid is not None:
        if gibbs is not None:
            ax.plot(grid, gibbs, "k-", lw=1.2, label="Gibbs learning (replica theory)")
        if bayes is not None:
            ax.plot(grid, bayes, "k--", lw=1.2, label="Bayes-optimal (replica theory)")
    ax.set_xlabel(r"examples per weight $\alpha = P/N$")
    ax.set_ylabel(r"generalization error $\varepsilon = \arccos(R)/\pi$")
    ax.legend(fontsize=8)
    return fig


def weight_images(weights, image_shape, titles=None, suptitle=None):
    """One image per weight vector (e.g. the ten one-vs-rest perceptrons on 8x8 digits)."""
    plt = _plt()
    w = np.asarray(weights)
    fig, axes = plt.subplots(1, len(w), figsize=(1.3 * len(w), 1.7), constrained_layout=True, squeeze=False)
    for k, ax in enumerate(axes[0]):
        lim = np.abs(w[k]).max() or 1.0
        ax.imshow(w[k].reshape(image_shape), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def rbm_likelihood(ais: dict, exact: dict | None = None):
    """Average test log-likelihood against epoch: ``{label: rows}`` with rows ``(epoch, ll, stderr, exact)``;
    ``exact`` curves take the fourth column."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    for label, rows in ais.items():
        r = np.asarray(rows, dtype=float)
        ax.errorbar(r[:, 0], r[:, 1], yerr=r[:, 2], marker="o", ms=4, capsize=2, lw=1, label=label)
    for label, rows in (exact or {}).items():
        r = np.asarray(rows, dtype=float)
        ax.plot(r[:, 0], r[:, 3], "k--", marker="x", lw=1, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("average test log-likelihood (nats per image)")
    ax.legend(fontsize=8)
    return fig


def image_grid(images, image_shape, n_cols: int = 10, suptitle=None, cmap="gray_r", vmin=0.0, vmax=1.0):
    """Images (rows of ``images``, each reshaped to ``image_shape``) on a grid of ``n_cols`` columns."""
    plt = _plt()
    images = np.asarray(images)
    n_rows = -(-len(images) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols, 1.2 * n_rows), constrained_layout=True,
                             squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k < len(images):
            ax.imshow(images[k].reshape(image_shape), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(k < len(images))
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# --------------------------------------------------------------------------- #
# loss landscapes
# --------------------------------------------------------------------------- #
def _fig_ax(ax, figsize, **kw):
    plt = _plt()
    if ax is not None:
        return ax.figure, ax
    fig = plt.figure(figsize=figsize, constrained_layout=True)
    return fig, fig.add_subplot(**kw)


def landscape_line(alphas, curves: dict, ax=None, xlabel=r"step $\alpha$", ylabel="loss", title=None):
    """1D slices: ``{label: values}`` against ``alphas`` (e.g. ``landscape.line`` along several directions)."""
    fig, ax = _fig_ax(ax, (5.5, 4))
    for label, values in curves.items():
        ax.plot(np.asarray(alphas), np.asarray(values), lw=1.5, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def landscape_contour(alphas, betas, values, ax=None, center=None, levels=21, xlabel=r"$\alpha$", ylabel=r"$\beta$",
                      title=None, colorbar=True):
    """A 2D slice ``values[i, j] = L(θ + alphas[i] d1 + betas[j] d2)`` as filled contours.

    With ``center`` (usually ``L(θ)``) the map shows ``values - center`` on a
    diverging scale centred at zero, so anything below the centre point (the
    downhill lobes of a saddle) is blue and anything above is red.
    """
    from matplotlib import colors

    fig, ax = _fig_ax(ax, (5, 4.2))
    z = np.asarray(values, dtype=float).T  # rows of the image follow betas
    a, b = np.asarray(alphas), np.asarray(betas)
    if center is None:
        cs = ax.contourf(a, b, z, levels=levels, cmap="viridis")
        label = "loss"
    else:
        z = z - float(center)
        lo, hi = z.min(), max(z.max(), 1e-30)
        if lo < 0:  # two slopes, so zero is white even when one side is much deeper than the other
            norm = colors.TwoSlopeNorm(0.0, lo, hi)
            lv = np.unique(np.concatenate([np.linspace(lo, 0, levels // 2 + 1), np.linspace(0, hi, levels // 2 + 1)]))
        else:
            norm = colors.Normalize(-hi, hi)
            lv = np.linspace(0, hi, levels // 2 + 1)
        cs = ax.contourf(a, b, z, levels=lv, cmap="RdBu_r", norm=norm)
        ax.contour(a, b, z, levels=[0.0], colors="k", linewidths=0.8)
        label = "loss − loss at the centre"
    ax.plot([0], [0], "k+", ms=8)
    if colorbar:
        fig.colorbar(cs, ax=ax, label=label, format="%.2g")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def landscape_surface(alphas, betas, values, ax=None, xlabel=r"$\alpha$", ylabel=r"$\beta$", title=None):
    """A 2D slice as a 3D surface (``ax``, when given, must be a 3D axes)."""
    fig, ax = _fig_ax(ax, (5.5, 4.5), projection="3d")
    A, B = np.meshgrid(np.asarray(alphas), np.asarray(betas), indexing="ij")
    ax.plot_surface(A, B, np.asarray(values, dtype=float), cmap="viridis", linewidth=0, antialiased=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_zlabel("loss")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def spectral_density_plot(densities: dict, ax=None, log=True, floor=1e-6, title=None):
    """Hessian spectral densities ``{label: (grid, density)}`` (e.g. from ``landscape.spectral_density``).

    With ``log`` the density axis is logarithmic and clipped at ``floor`` (the
    outliers of a Hessian spectrum carry weights of order 1/n).
    """
    fig, ax = _fig_ax(ax, (6, 4))
    for label, (grid, density) in densities.items():
        d = np.asarray(density, dtype=float)
        ax.plot(np.asarray(grid), np.maximum(d, floor) if log else d, lw=1.2, label=label)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
    ax.axvline(0, color="gray", lw=0.8, ls="--")
    ax.set_xlabel(r"eigenvalue $\lambda$")
    ax.set_ylabel("spectral density")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def eigenvalue_bars(eigenvalues: dict, errors: dict | None = None, ax=None, symlog=True, ticklabels=None, title=None):
    """Bars of eigenvalues ``{label: values}``, grouped side by side, with optional error bars ``{label: errors}``
    (e.g. Lanczos residuals) and names for the bar positions (``ticklabels``). ``symlog`` shows large
    positive and small negative values on one axis."""
    fig, ax = _fig_ax(ax, (6.5, 4))
    n_groups = len(eigenvalues)
    width = 0.8 / max(n_groups, 1)
    for g, (label, vals) in enumerate(eigenvalues.items()):
        v = np.asarray(vals, dtype=float)
        err = None if not errors or label not in errors else np.asarray(errors[label], dtype=float)
        ax.bar(np.arange(len(v)) + (g - (n_groups - 1) / 2) * width, v, width, yerr=err, capsize=2, label=label)
    ax.axhline(0, color="k", lw=0.8)
    if symlog:
        small = min((np.min(np.abs(np.asarray(v, float))[np.abs(np.asarray(v, float)) > 0], initial=np.inf)
                     for v in eigenvalues.values()), default=1.0)
        ax.set_yscale("symlog", linthresh=float(small) if np.isfinite(small) else 1.0)
    if ticklabels is not None:
        ax.set_xticks(np.arange(len(ticklabels)), list(ticklabels))
    ax.set_xlabel("eigenvalue index (1 = largest, n = smallest)" if ticklabels is not None else "eigenvalue index")
    ax.set_ylabel(r"$\lambda$")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


# --------------------------------------------------------------------------- #
# dynamics: critical slowing down, spin glasses with replica exchange
# --------------------------------------------------------------------------- #
def critical_slowing_down(sizes, taus: dict, fits: dict | None = None):
    """Integrated autocorrelation times against L on log–log axes, one panel per observable.

    Args:
      sizes: lattice sizes L.
      taus: ``{algorithm: {L: {"abs_m": (tau, err), "energy": (tau, err)}}}`` in sweeps.
      fits: optional ``{algorithm: {"abs_m": (z, err, log_prefactor), "energy": ...}}``, drawn
        as power laws ``exp(log_prefactor) L^z``.

    Returns:
      The matplotlib figure.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    L = np.asarray(sizes, float)
    for ax, key, label in zip(axes, ("abs_m", "energy"), (r"$|m|$", r"energy $E$")):
        for i, (name, per_L) in enumerate(taus.items()):
            tau = np.array([per_L[s][key][0] for s in sizes])
            err = np.array([per_L[s][key][1] for s in sizes])
            color = f"C{i}"
            z = fits[name][key] if fits else None
            lab = name if z is None else f"{name}: z = {z[0]:.2f} ± {z[1]:.2f}"
            ax.errorbar(L, tau, yerr=err, fmt="o", color=color, capsize=2, label=lab)
            if z is not None:
                ax.plot(L, np.exp(z[2]) * L ** z[0], "-", color=color, lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()
        ax.set_xticks(L, [str(int(s)) for s in sizes])
        ax.set_xlabel("lattice size L")
        ax.set_ylabel(r"$\tau_{\rm int}$ (sweeps)")
        ax.set_title(f"autocorrelation of {label} at $T_c$")
        ax.legend(fontsize=8)
    fig.suptitle(r"2D Ising model at $T_c$: $\tau \sim L^z$")
    return fig


def spin_glass_tempering(temperatures, energies: dict, overlaps: dict, ground_state_energy: float | None = None):
    """Energy per spin against T (with the annealed -1/(2T) above T = 1) and histograms of
    the overlap q of two replicas at the temperatures in ``overlaps``.

    Args:
      temperatures: shape ``(R,)``.
      energies: ``{N: (mean, err)}`` arrays of shape ``(R,)``.
      overlaps: ``{T: {N: samples of q}}``.
      ground_state_energy: Parisi's ground-state energy per spin, marked at T = 0.

    Returns:
      The matplotlib figure.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 1 + len(overlaps), figsize=(4.2 * (1 + len(overlaps)), 4), constrained_layout=True)
    T = np.asarray(temperatures, float)
    ax = axes[0]
    for N, (mean, err) in sorted(energies.items()):
        ax.errorbar(T, np.asarray(mean), yerr=np.asarray(err), marker="o", ms=3, lw=1, capsize=2, label=f"N = {N}")
    grid = np.linspace(1.0, T.max(), 50)
    ax.plot(grid, -1 / (2 * grid), "k-", lw=1.5, label=r"$-1/(2T)$, $T > 1$")
    if ground_state_energy is not None:
        ax.plot([0], [ground_state_energy], "k*", ms=10, label=f"Parisi $e_0$ = {ground_state_energy}")
    ax.axvline(1.0, color="gray", ls="--", lw=1)
    ax.set_xlim(0, T.max() * 1.05)
    ax.set_xlabel("temperature T")
    ax.set_ylabel("energy per spin")
    ax.legend(fontsize=8)
    ax.set_title("SK model, disorder average")
    for ax, (t, per_n) in zip(axes[1:], overlaps.items()):
        for N, q in sorted(per_n.items()):
            # q takes the N + 1 values -1, -1 + 2/N, ..., 1: bins of a whole number of them
            # (about 1/16 wide), aligned between values, so no bin is empty by construction.
            width = 2 / N * max(1, round(N / 32))
            bins = np.arange(-1 - 1 / N, 1 + 1 / N + width, width)
            ax.hist(np.asarray(q).ravel(), bins=bins, density=True, histtype="step", lw=1.5, label=f"N = {N}")
        ax.set_xlabel(r"overlap $q = s^a \cdot s^b / N$")
        ax.set_ylabel(r"$P(q)$")
        ax.set_title(f"T = {t}")
        ax.legend(fontsize=8)
    fig.suptitle("Sherrington–Kirkpatrick spin glass by parallel tempering")
    return fig
