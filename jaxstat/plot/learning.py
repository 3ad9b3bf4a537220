"""Figures of learning: the perceptron (boundary, capacity, generalization), weights, RBM likelihoods, image grids."""

from __future__ import annotations

import numpy as np

from jaxstat.plot._common import (
    as_finite_scalar,
    as_image_shape,
    as_mapping,
    as_matrix,
    as_text_list,
    as_vector,
    new_axes,
    pyplot,
)

__all__ = ["fruit_boundary", "separability_curve", "generalization_curve", "weight_images", "rbm_likelihood",
           "image_grid"]


def fruit_boundary(x, y, w, b, ax=None, title=None):
    """Apples (+1) and oranges (-1) in the (weight, sweetness) plane with the line w1 x1 + w2 x2 + b = 0.

    Args:
      x: ``(P, 2)`` features; y: ``(P,)`` labels ±1; w: ``(2,)`` weights, not both zero; b: the bias.
      ax: axes to draw on (default: a new figure).

    Returns:
      The figure: two scatter collections (apples, oranges) and the boundary line.

    >>> import numpy as np, jaxstat.plot
    >>> x = np.array([[200.0, 3.0], [120.0, 8.0]])
    >>> fig = jaxstat.plot.fruit_boundary(x, np.array([1, -1]), np.array([1.0, 0.0]), -160.0)
    >>> ax = fig.axes[0]
    >>> len(ax.collections), ax.get_xlabel()
    (2, 'weight (g)')
    """
    x = as_matrix(x, "x", (None, 2))
    y = as_vector(y, "y", x.shape[0])
    if not np.all(np.abs(y) == 1):
        raise ValueError(f"y must be labels +1 (apple) and -1 (orange); got values {np.unique(y)[:5].tolist()}")
    w = as_vector(w, "w", 2)
    if not np.any(w != 0):
        raise ValueError("w must not be zero: the boundary w1 x1 + w2 x2 + b = 0 is then no line; got [0, 0]")
    b = as_finite_scalar(b, "b")
    fig, ax = new_axes(ax, (5.5, 4.2))
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

    Returns:
      The figure: one error-bar curve per N, and Cover's lines.

    >>> import numpy as np, jaxstat.plot
    >>> from jaxstat.perceptron import SeparabilityResult
    >>> sep = np.array([[[True, True], [True, False]]])  # N = 10; P = 10, 30; two trials each
    >>> r = SeparabilityResult(np.array([10]), np.array([1.0, 3.0]), np.array([[10, 30]]), sep, sep, np.ones((1, 2)))
    >>> fig = jaxstat.plot.separability_curve(r)
    >>> fig.axes[0].containers[0].lines[0].get_ydata().tolist()
    [1.0, 0.5]
    """
    try:
        n = np.atleast_1d(np.asarray(result.n))
        p, frac, err = (np.asarray(getattr(result, f), dtype=float) for f in ("p", "fraction", "stderr"))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"result must be a jaxstat.perceptron.SeparabilityResult; got {type(result).__name__}") \
            from None
    for field, a in (("p", p), ("fraction", frac), ("stderr", err)):
        if a.ndim != 2 or a.shape[0] != n.shape[0] or a.shape != p.shape:
            raise ValueError(f"result.{field} must have shape (len(n), n_alpha) = ({n.shape[0]}, n_alpha); "
                             f"got {a.shape}")
    covers = {}
    if cover_curves is not None:
        for N, curve in as_mapping(cover_curves, "cover_curves", "{N: (alpha_grid, probability)}").items():
            try:
                a, c = curve
            except (TypeError, ValueError):
                raise ValueError(f"cover_curves[{N!r}] must be a pair (alpha_grid, probability)") from None
            a = as_vector(a, f"cover_curves[{N!r}][0]")
            covers[int(N)] = (a, as_vector(c, f"cover_curves[{N!r}][1]", a.shape[0]))
    fig, ax = new_axes(None, (6.5, 4.2))
    for k, size in enumerate(n):
        line = ax.errorbar(p[k] / size, frac[k], yerr=err[k], fmt="o", ms=4, capsize=2,
                           label=f"N = {size} (LP-decided)")
        if int(size) in covers:
            a, c = covers[int(size)]
            ax.plot(a, c, "-", lw=1, color=line[0].get_color())
    ax.axvline(2.0, color="gray", ls="--", lw=1)
    ax.text(2.0, 0.9, r" $\alpha_c = 2$", color="gray")
    ax.set_xlabel(r"load $\alpha = P/N$")
    ax.set_ylabel("probability of linear separability")
    ax.set_title("Random ±1 patterns, random labels (lines: Cover's formula)")
    ax.legend(fontsize=8)
    return fig


def generalization_curve(result, grid=None, gibbs=None, bayes=None):
    """Teacher-student generalization error against alpha, with the Gibbs and Bayes replica curves.

    Args:
      result: a :class:`jaxstat.perceptron.TeacherStudentResult`.
      grid: optional 1-D grid of loads; ``gibbs`` and ``bayes`` (each optional) have its length.

    Returns:
      The figure: the measured error bars and a line per given theory curve.

    >>> import numpy as np, jaxstat.plot
    >>> from jaxstat.perceptron import TeacherStudentResult
    >>> eps = np.array([[0.3, 0.1], [0.2, 0.0]])   # two loads, two trials
    >>> z = np.zeros(2)
    >>> r = TeacherStudentResult(20, np.array([1.0, 2.0]), np.array([20, 40]), z, eps, z, z, z, z)
    >>> fig = jaxstat.plot.generalization_curve(r, np.array([1.0, 2.0]), gibbs=np.array([0.25, 0.15]))
    >>> fig.axes[0].containers[0].lines[0].get_ydata().tolist(), fig.axes[0].lines[-1].get_ydata().tolist()
    ([0.2, 0.1], [0.25, 0.15])
    """
    try:
        alpha, mean, err = (np.asarray(getattr(result, f), dtype=float) for f in ("alpha", "eps_mean", "eps_stderr"))
        n = int(result.n)
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"result must be a jaxstat.perceptron.TeacherStudentResult; got {type(result).__name__}") \
            from None
    alpha = as_vector(alpha, "result.alpha")
    mean = as_vector(mean, "result.eps_mean", alpha.shape[0])
    err = as_vector(err, "result.eps_stderr", alpha.shape[0])
    theory = {}
    if grid is None and (gibbs is not None or bayes is not None):
        raise ValueError("grid must be given with gibbs or bayes (the loads they are evaluated at); got None")
    if grid is not None:
        grid = as_vector(grid, "grid")
        for name, values in (("gibbs", gibbs), ("bayes", bayes)):
            if values is not None:
                theory[name] = as_vector(values, name, grid.shape[0])
    fig, ax = new_axes(None, (6.5, 4.2))
    ax.errorbar(alpha, mean, yerr=err, fmt="o", ms=4, capsize=2, label=f"perceptron student, N = {n}")
    if "gibbs" in theory:
        ax.plot(grid, theory["gibbs"], "k-", lw=1.2, label="Gibbs learning (replica theory)")
    if "bayes" in theory:
        ax.plot(grid, theory["bayes"], "k--", lw=1.2, label="Bayes-optimal (replica theory)")
    ax.set_xlabel(r"examples per weight $\alpha = P/N$")
    ax.set_ylabel(r"generalization error $\varepsilon = \arccos(R)/\pi$")
    ax.legend(fontsize=8)
    return fig


def weight_images(weights, image_shape, titles=None, suptitle=None):
    """One image per weight vector (e.g. the ten one-vs-rest perceptrons on 8x8 digits).

    Args:
      weights: ``(K, N)``; image_shape: ``(height, width)`` with ``height * width = N``;
      titles: optional ``K`` panel titles. Each image has its own symmetric colour scale.

    >>> import numpy as np, jaxstat.plot
    >>> fig = jaxstat.plot.weight_images(np.arange(8.0).reshape(2, 4), (2, 2), titles=["a", "b"])
    >>> [ax.get_title() for ax in fig.axes], fig.axes[1].images[0].get_array().tolist()
    (['a', 'b'], [[4.0, 5.0], [6.0, 7.0]])
    """
    w = as_matrix(weights, "weights")
    shape = as_image_shape(image_shape, w.shape[1])
    if titles is not None:
        titles = as_text_list(titles, "titles", w.shape[0])
    plt = pyplot()
    fig, axes = plt.subplots(1, len(w), figsize=(1.3 * len(w), 1.7), constrained_layout=True, squeeze=False)
    for k, ax in enumerate(axes[0]):
        lim = np.abs(w[k]).max() or 1.0
        ax.imshow(w[k].reshape(shape), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def rbm_likelihood(ais: dict, exact: dict | None = None):
    """Average test log-likelihood against epoch.

    Args:
      ais: ``{label: rows}``, rows ``(n, 3)`` or wider: ``(epoch, ll, stderr, ...)``, drawn with error bars.
      exact: optional ``{label: rows}`` with rows ``(n, 4)``: ``(epoch, ll, stderr, exact ll)``;
        the fourth column is drawn as a dashed line.

    Returns:
      The figure.

    >>> import numpy as np, jaxstat.plot
    >>> rows = np.array([[1, -30.0, 0.5, -29.0], [2, -25.0, 0.5, -24.5]])
    >>> fig = jaxstat.plot.rbm_likelihood({"AIS": rows}, {"exact": rows})
    >>> fig.axes[0].lines[-1].get_ydata().tolist()
    [-29.0, -24.5]
    """
    ais = as_mapping(ais, "ais", "{label: rows (epoch, ll, stderr)}")
    curves = {label: as_matrix(rows, f"ais[{label!r}]", allow_nan=True) for label, rows in ais.items()}
    for label, r in curves.items():
        if r.shape[1] < 3:
            raise ValueError(f"ais[{label!r}] must have rows (epoch, ll, stderr); got shape {r.shape}")
        if not np.isfinite(r[:, :3]).all():  # a fourth column may be NaN where no exact value was computed
            raise ValueError(f"ais[{label!r}] must have finite (epoch, ll, stderr) columns; got NaN or inf")
    exact_curves = {}
    if exact is not None:
        for label, rows in as_mapping(exact, "exact", "{label: rows (epoch, ll, stderr, exact)}").items():
            r = as_matrix(rows, f"exact[{label!r}]", (None, 4), allow_nan=True)
            if not np.isfinite(r[:, [0, 3]]).all():
                raise ValueError(f"exact[{label!r}] must have finite epoch and exact columns (0 and 3); got NaN")
            exact_curves[label] = r
    fig, ax = new_axes(None, (6.5, 4.2))
    for label, r in curves.items():
        ax.errorbar(r[:, 0], r[:, 1], yerr=r[:, 2], marker="o", ms=4, capsize=2, lw=1, label=label)
    for label, r in exact_curves.items():
        ax.plot(r[:, 0], r[:, 3], "k--", marker="x", lw=1, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("average test log-likelihood (nats per image)")
    ax.legend(fontsize=8)
    return fig


def image_grid(images, image_shape, n_cols: int = 10, suptitle=None, cmap="gray_r", vmin=0.0, vmax=1.0):
    """Images (rows of ``images``, each reshaped to ``image_shape``) on a grid of ``n_cols`` columns.

    Args:
      images: ``(K, N)``; image_shape: ``(height, width)`` with ``height * width = N``;
      n_cols: a positive int. Unused cells of the last row are left blank.

    >>> import numpy as np, jaxstat.plot
    >>> fig = jaxstat.plot.image_grid(np.eye(3, 4), (2, 2), n_cols=2)
    >>> len(fig.axes), [len(ax.images) for ax in fig.axes]
    (4, [1, 1, 1, 0])
    """
    images = as_matrix(images, "images")
    shape = as_image_shape(image_shape, images.shape[1])
    if isinstance(n_cols, bool) or not isinstance(n_cols, (int, np.integer)) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive integer; got {n_cols!r}")
    vmin, vmax = as_finite_scalar(vmin, "vmin"), as_finite_scalar(vmax, "vmax")
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax; got vmin={vmin}, vmax={vmax}")
    plt = pyplot()
    n_rows = -(-len(images) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols, 1.2 * n_rows), constrained_layout=True,
                             squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k < len(images):
            ax.imshow(images[k].reshape(shape), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(k < len(images))
    if suptitle:
        fig.suptitle(suptitle)
    return fig
