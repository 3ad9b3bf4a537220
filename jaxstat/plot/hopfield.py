"""Figures of associative memories: recall, capacity, the retrieval diagram and memory comparisons."""

from __future__ import annotations

import numpy as np

from jaxstat.plot._common import (
    as_finite_scalar,
    as_image_shape,
    as_mapping,
    as_matrix,
    as_pair,
    as_vector,
    new_axes,
    pyplot,
)

__all__ = ["hopfield_recall", "hopfield_capacity", "hopfield_diagram", "capacity_comparison"]


def _capacity_arrays(result, name):
    """``(n, alpha, fraction, fraction_err, overlap, overlap_err)`` of a CapacityResult, shapes checked."""
    try:
        n = np.atleast_1d(np.asarray(result.n))
        arrays = [np.asarray(getattr(result, f), dtype=float) for f in
                  ("alpha", "retrieved_fraction", "retrieved_stderr", "mean_overlap", "overlap_stderr")]
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{name} must be a jaxstat.hopfield.CapacityResult; got {type(result).__name__}") from None
    for field, a in zip(("alpha", "retrieved_fraction", "retrieved_stderr", "mean_overlap", "overlap_stderr"),
                        arrays):
        if a.ndim != 2 or a.shape[0] != n.shape[0]:
            raise ValueError(f"{name}.{field} must have shape (len(n), n_alpha) = ({n.shape[0]}, n_alpha); "
                             f"got {a.shape}")
    return (n, *arrays)


def hopfield_recall(stored, probe, results: dict, image_shape, suptitle=None):
    """Rows of images: the stored patterns, the probes, and each rule's final state.

    Args:
      stored: ``(K, N)`` array of ±1, the stored patterns.
      probe: ``(K, N)`` array of ±1, the probes.
      results: ``{row label: (K, N) final states}``.
      image_shape: ``(height, width)`` with ``height * width = N``.

    Returns:
      The figure, ``2 + len(results)`` rows of ``K`` image axes.

    >>> import numpy as np, jaxstat.plot
    >>> xi = np.ones((2, 4))
    >>> fig = jaxstat.plot.hopfield_recall(xi, -xi, {"Hebb": xi}, (2, 2))
    >>> len(fig.axes), fig.axes[0].get_ylabel(), fig.axes[4].get_ylabel()
    (6, 'stored', 'Hebb')
    """
    stored = as_matrix(stored, "stored")
    k, n = stored.shape
    probe = as_matrix(probe, "probe", (k, n))
    results = as_mapping(results, "results", "{row label: (K, N) final states}") if results else {}
    rows = [("stored", stored), ("probe", probe)] + [
        (label, as_matrix(v, f"results[{label!r}]", (k, n), allow_nan=True)) for label, v in results.items()]
    shape = as_image_shape(image_shape, n)
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), k, figsize=(1.1 * k, 1.2 * len(rows)), constrained_layout=True,
                             squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(k):
            ax = axes[r, c]
            ax.imshow(images[c].reshape(shape), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
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
      theory: optional ``(alpha_grid, m)``: the AGS retrieval overlap, drawn on the overlap panel.

    Returns:
      The figure: the retrieved fraction (left) and the mean overlap (right).

    >>> import numpy as np, jaxstat.plot
    >>> from jaxstat.hopfield import CapacityResult
    >>> overlap = np.array([[[1.0, 1.0], [1.0, 0.2]]])  # one N, two loads, two trials
    >>> r = CapacityResult(np.array([100]), np.array([[5, 15]]), overlap, overlap > 0, 0.9)
    >>> fig = jaxstat.plot.hopfield_capacity(r, 0.138)
    >>> fig.axes[0].containers[0].lines[0].get_ydata().tolist()
    [1.0, 0.5]
    """
    n, alpha, frac, frac_err, overlap, overlap_err = _capacity_arrays(result, "result")
    alpha_c = as_finite_scalar(alpha_c, "alpha_c", positive=True)
    if theory is not None:
        theory = as_pair(theory, "theory")
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for k, size in enumerate(n):
        a1.errorbar(alpha[k], frac[k], yerr=frac_err[k], marker="o", ms=3, capsize=2, lw=1, label=f"N = {size}")
        a2.errorbar(alpha[k], overlap[k], yerr=overlap_err[k], marker="o", ms=3, capsize=2, lw=1,
                    label=f"N = {size}")
    if theory is not None:
        a2.plot(theory[0], theory[1], "k-", lw=1.5, label="AGS theory (N = ∞)")
    for ax in (a1, a2):
        ax.axvline(alpha_c, color="gray", ls="--", lw=1)
        ax.text(alpha_c, 0.02, rf" $\alpha_c \approx {alpha_c:.3g}$", color="gray")
        ax.set_xlabel(r"load $\alpha = P/N$")
    a1.set_ylabel(f"fraction retrieved (final overlap > {result.threshold})")
    a2.set_ylabel("mean final overlap with the stored pattern")
    a1.legend(fontsize=8)
    a2.legend(fontsize=8)
    fig.suptitle(f"Hopfield capacity (Hebb's rule, T = 0, {np.shape(result.overlap)[-1]} trials per point)")
    return fig


def hopfield_diagram(diagram, boundary=None):
    """Mean overlap over the (load, temperature) plane, with the AGS edge ``boundary = (alpha, T_M)``.

    Args:
      diagram: a :class:`jaxstat.hopfield.DiagramResult` (``mean_overlap`` of shape ``(n_T, n_alpha)``).
      boundary: optional ``(alpha, T_M)`` arrays of one length.

    Returns:
      The figure; its first axes holds the mesh (``collections[0]``), the second is the colour bar.

    >>> import numpy as np, jaxstat.plot
    >>> from jaxstat.hopfield import DiagramResult
    >>> d = DiagramResult(100, np.array([5, 10]), np.array([0.1, 0.5, 0.9]), np.ones((3, 2, 4)))
    >>> fig = jaxstat.plot.hopfield_diagram(d)
    >>> np.asarray(fig.axes[0].collections[0].get_array()).shape, fig.axes[0].get_ylabel()
    ((3, 2), 'temperature T')
    """
    try:
        a, t, m = (np.asarray(getattr(diagram, f), dtype=float) for f in ("alpha", "temperature", "mean_overlap"))
        n = int(diagram.n)
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"diagram must be a jaxstat.hopfield.DiagramResult; got {type(diagram).__name__}") from None
    a = as_vector(a, "diagram.alpha")
    t = as_vector(t, "diagram.temperature")
    m = as_matrix(m, "diagram.mean_overlap", (t.shape[0], a.shape[0]), allow_nan=True)
    if boundary is not None:
        boundary = as_pair(boundary, "boundary", allow_nan=True)
    fig, ax = new_axes(None, (6.5, 4.8))
    mesh = ax.pcolormesh(a, t, m, shading="nearest", cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(mesh, ax=ax, label="mean overlap with the stored pattern")
    if boundary is not None:
        ax.plot(boundary[0], boundary[1], "w-", lw=2, label=r"AGS $T_M(\alpha)$")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(r"load $\alpha = P/N$")
    ax.set_ylabel("temperature T")
    ax.set_title(f"Retrieval region, N = {n}, Glauber dynamics from the pattern")
    return fig


def capacity_comparison(results: dict, alpha_c: float | None = None, title: str | None = None):
    """Retrieved fraction against load (log axis) for several memories.

    Args:
      results: ``{label: CapacityResult}``, one network size each (the first is drawn).
      alpha_c: optional load to mark.

    Returns:
      The figure, one error-bar curve per memory.

    >>> import numpy as np, jaxstat.plot
    >>> from jaxstat.hopfield import CapacityResult
    >>> ov = np.ones((1, 2, 3))
    >>> r = CapacityResult(np.array([100]), np.array([[5, 15]]), ov, ov > 0, 0.9)
    >>> fig = jaxstat.plot.capacity_comparison({"Hebb": r, "dense": r})
    >>> len(fig.axes[0].containers), fig.axes[0].get_xscale()
    (2, 'log')
    """
    results = as_mapping(results, "results", "{label: CapacityResult}")
    curves = {}
    for label, r in results.items():
        _, alpha, frac, frac_err, *_ = _capacity_arrays(r, f"results[{label!r}]")
        if (alpha <= 0).any():
            raise ValueError(f"results[{label!r}].alpha must be positive (log axis); got min {alpha.min():g}")
        curves[label] = (alpha[0], frac[0], frac_err[0])
    if alpha_c is not None:
        alpha_c = as_finite_scalar(alpha_c, "alpha_c", positive=True)
    fig, ax = new_axes(None, (7, 4.2))
    for label, (alpha, frac, err) in curves.items():
        ax.errorbar(alpha, frac, yerr=err, marker="o", ms=3, capsize=2, lw=1, label=label)
    if alpha_c is not None:
        ax.axvline(alpha_c, color="gray", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"load $\alpha = P/N$")
    ax.set_ylabel("fraction retrieved")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig
