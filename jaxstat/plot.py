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
