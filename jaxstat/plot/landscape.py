"""Figures of loss landscapes: 1-D and 2-D slices, spectral densities and eigenvalue bars.

The coordinates of a slice are ``xs`` (along the first direction) and ``ys``
(along the second), as in :func:`jaxstat.landscape.line` and
:func:`jaxstat.landscape.plane`, whose outputs these functions draw.
"""

from __future__ import annotations

import numpy as np

from jaxstat.plot._common import (
    as_finite_scalar,
    as_mapping,
    as_matrix,
    as_pair,
    as_text_list,
    as_vector,
    new_axes,
)

__all__ = ["landscape_line", "landscape_contour", "landscape_surface", "spectral_density_plot", "eigenvalue_bars"]


def _check_levels(levels):
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 2:
        raise ValueError(f"levels must be an integer >= 2 (the number of contour levels); got {levels!r}")
    return int(levels)


def landscape_line(xs, curves: dict, ax=None, xlabel=r"step $x$ along the direction", ylabel="loss", title=None):
    """1D slices: ``{label: values}`` against ``xs`` (e.g. ``landscape.line`` along several directions).

    Args:
      xs: ``(n,)`` coordinates; curves: ``{label: (n,) losses}``, one line each.

    >>> import numpy as np, jaxstat.plot
    >>> fig = jaxstat.plot.landscape_line([0.0, 1.0], {"random": [1.0, 2.0]})
    >>> fig.axes[0].lines[0].get_ydata().tolist(), fig.axes[0].get_ylabel()
    ([1.0, 2.0], 'loss')
    """
    xs = as_vector(xs, "xs")
    curves = as_mapping(curves, "curves", "{label: losses}")
    checked = {label: as_vector(v, f"curves[{label!r}]", xs.shape[0], allow_nan=True) for label, v in curves.items()}
    fig, ax = new_axes(ax, (5.5, 4))
    for label, values in checked.items():
        ax.plot(xs, values, lw=1.5, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def landscape_contour(xs, ys, values, ax=None, center=None, levels=21, xlabel=r"along $d_1$",
                      ylabel=r"along $d_2$", title=None, colorbar=True):
    """A 2D slice ``values[i, j] = L(θ + xs[i] d1 + ys[j] d2)`` as filled contours.

    With ``center`` (usually ``L(θ)``) the map shows ``values - center`` on a
    diverging scale centred at zero, so anything below the centre point (the
    downhill lobes of a saddle) is blue and anything above is red.

    Args:
      xs: ``(n,)``; ys: ``(m,)``; values: ``(n, m)`` finite losses (``landscape.plane``'s output).
      levels: number of contour levels, >= 2. center: a finite number or None.

    >>> import numpy as np, jaxstat.plot
    >>> xs, ys = np.linspace(-1, 1, 5), np.linspace(-1, 1, 4)
    >>> fig = jaxstat.plot.landscape_contour(xs, ys, xs[:, None] ** 2 - ys[None, :] ** 2, center=0.0)
    >>> fig.axes[0].get_xlabel(), fig.axes[1].get_ylabel()
    ('along $d_1$', 'loss − loss at the centre')
    """
    from matplotlib import colors

    a = as_vector(xs, "xs", min_length=2)
    b = as_vector(ys, "ys", min_length=2)
    z = as_matrix(values, "values", (a.shape[0], b.shape[0])).T  # rows of the image follow ys
    levels = _check_levels(levels)
    fig, ax = new_axes(ax, (5, 4.2))
    if center is None:
        cs = ax.contourf(a, b, z, levels=levels, cmap="viridis")
        label = "loss"
    else:
        z = z - as_finite_scalar(center, "center")
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


def landscape_surface(xs, ys, values, ax=None, xlabel=r"along $d_1$", ylabel=r"along $d_2$", title=None):
    """A 2D slice ``values[i, j]`` at ``(xs[i], ys[j])`` as a 3D surface (``ax``, when given, must be 3D).

    >>> import numpy as np, jaxstat.plot
    >>> fig = jaxstat.plot.landscape_surface([0.0, 1.0], [0.0, 1.0, 2.0], np.zeros((2, 3)))
    >>> fig.axes[0].get_zlabel(), len(fig.axes[0].collections)
    ('loss', 1)
    """
    a = as_vector(xs, "xs", min_length=2)
    b = as_vector(ys, "ys", min_length=2)
    z = as_matrix(values, "values", (a.shape[0], b.shape[0]))
    if ax is not None and getattr(ax, "name", None) != "3d":
        raise ValueError(f"ax must be a 3D axes (projection='3d'); got a {getattr(ax, 'name', type(ax).__name__)!r} axes")
    fig, ax = new_axes(ax, (5.5, 4.5), projection="3d")
    A, B = np.meshgrid(a, b, indexing="ij")
    ax.plot_surface(A, B, z, cmap="viridis", linewidth=0, antialiased=True)
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

    >>> import numpy as np, jaxstat.plot
    >>> fig = jaxstat.plot.spectral_density_plot({"minimum": ([0.0, 1.0], [0.5, 0.0])})
    >>> fig.axes[0].lines[0].get_ydata().tolist()
    [0.5, 1e-06]
    """
    densities = as_mapping(densities, "densities", "{label: (grid, density)}")
    checked = {label: as_pair(v, f"densities[{label!r}]") for label, v in densities.items()}
    for label, (_, d) in checked.items():
        if (d < 0).any():
            raise ValueError(f"densities[{label!r}][1] must be a density (>= 0); got min {d.min():g}")
    floor = as_finite_scalar(floor, "floor", positive=True)
    fig, ax = new_axes(ax, (6, 4))
    for label, (grid, d) in checked.items():
        ax.plot(grid, np.maximum(d, floor) if log else d, lw=1.2, label=label)
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
    """Bars of eigenvalues ``{label: values}``, grouped side by side.

    Optional error bars ``{label: errors}`` (e.g. Lanczos residuals, each the
    length of its values) and names for the bar positions (``ticklabels``, as
    many as the longest group). ``symlog`` shows large positive and small
    negative values on one axis.

    >>> import jaxstat.plot
    >>> fig = jaxstat.plot.eigenvalue_bars({"minimum": [3.0, 0.1], "saddle": [2.0, -0.5]}, symlog=False)
    >>> [float(p.get_height()) for p in fig.axes[0].containers[1]]
    [2.0, -0.5]
    """
    eigenvalues = as_mapping(eigenvalues, "eigenvalues", "{label: values}")
    vals = {label: as_vector(v, f"eigenvalues[{label!r}]") for label, v in eigenvalues.items()}
    errs = {}
    if errors:
        for label, e in as_mapping(errors, "errors", "{label: errors}").items():
            if label not in vals:
                raise ValueError(f"errors has a label {label!r} that eigenvalues lacks; labels are {list(vals)}")
            errs[label] = as_vector(e, f"errors[{label!r}]", vals[label].shape[0])
            if (errs[label] < 0).any():
                raise ValueError(f"errors[{label!r}] must be >= 0 (error bars); got min {errs[label].min():g}")
    longest = max(v.shape[0] for v in vals.values())
    if ticklabels is not None:
        ticklabels = as_text_list(ticklabels, "ticklabels", longest)
    fig, ax = new_axes(ax, (6.5, 4))
    n_groups = len(vals)
    width = 0.8 / n_groups
    for g, (label, v) in enumerate(vals.items()):
        ax.bar(np.arange(len(v)) + (g - (n_groups - 1) / 2) * width, v, width, yerr=errs.get(label), capsize=2,
               label=label)
    ax.axhline(0, color="k", lw=0.8)
    if symlog:
        nonzero = np.abs(np.concatenate(list(vals.values())))
        nonzero = nonzero[nonzero > 0]
        ax.set_yscale("symlog", linthresh=float(nonzero.min()) if nonzero.size else 1.0)
    if ticklabels is not None:
        ax.set_xticks(np.arange(longest), ticklabels)
    ax.set_xlabel("eigenvalue index (1 = largest, n = smallest)" if ticklabels is not None else "eigenvalue index")
    ax.set_ylabel(r"$\lambda$")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
