"""What every figure module shares: the lazy pyplot import, saving, and the boundary checks.

Plot functions take plain arrays (NumPy or JAX) and results of the library.
Everything is checked here before matplotlib sees it, with a ValueError that
names the argument, what was expected and what came: matplotlib's own errors
for a wrong shape come from deep inside it and name none of these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["pyplot", "save", "new_axes", "as_vector", "as_matrix", "as_finite_scalar", "as_mapping",
           "as_pair", "as_image_shape", "as_text_list"]


def pyplot():
    """``matplotlib.pyplot``, imported on first use (``import jaxstat`` never imports matplotlib).

    On a headless machine matplotlib falls back to a non-interactive backend
    by itself; the tour forces Agg explicitly.

    Example:
      >>> import jaxstat.plot
      >>> plt = jaxstat.plot.pyplot()
      >>> plt.__name__
      'matplotlib.pyplot'
    """
    import matplotlib.pyplot as plt

    return plt


def save(fig, path) -> str:
    """Save a figure at 120 dpi and close it; returns the path as a string.

    Example:
      >>> import os, tempfile, jaxstat.plot
      >>> fig, ax = jaxstat.plot.pyplot().subplots()
      >>> path = jaxstat.plot.save(fig, os.path.join(tempfile.mkdtemp(), "empty.png"))
      >>> os.path.getsize(path) > 0
      True
    """
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return str(path)


def new_axes(ax, figsize, **subplot_kw):
    """``(fig, ax)``: the given axes and its figure, or a new figure with one axes."""
    if ax is not None:
        if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
            raise ValueError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
        return ax.figure, ax
    fig = pyplot().figure(figsize=figsize, constrained_layout=True)
    return fig, fig.add_subplot(**subplot_kw)


def _numeric(x, name):
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of real numbers; got {type(x).__name__} {x!r:.60}") from err
    return arr


def _check_finite(arr, name, allow_nan):
    bad = ~np.isfinite(arr) if not allow_nan else np.isinf(arr)
    if bad.any():
        what = "inf" if allow_nan else "NaN or inf"
        raise ValueError(f"{name} must be finite; got {int(bad.sum())} {what} value(s)")


def as_vector(x, name, length=None, *, allow_nan=False, min_length=1):
    """A finite 1-D float array of ``length`` entries (any length >= ``min_length`` when None).

    >>> as_vector([1, 2, 3], "xs").tolist()
    [1.0, 2.0, 3.0]
    >>> as_vector([[1.0, 2.0]], "xs")
    Traceback (most recent call last):
    ...
    ValueError: xs must be a 1-D array; got shape (1, 2)
    """
    arr = _numeric(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} must have {length} entries, one per point; got shape {arr.shape}")
    if arr.shape[0] < min_length:
        raise ValueError(f"{name} must have at least {min_length} entries; got shape {arr.shape}")
    _check_finite(arr, name, allow_nan)
    return arr


def as_matrix(x, name, shape=None, *, allow_nan=False):
    """A finite 2-D float array, of ``shape`` when given (``None`` in it matches any size).

    >>> as_matrix([[1.0, 2.0]], "values", (1, 2)).shape
    (1, 2)
    >>> as_matrix([[1.0, 2.0]], "values", (2, None))
    Traceback (most recent call last):
    ...
    ValueError: values must have shape (2, any); got shape (1, 2)
    """
    arr = _numeric(x, name)
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array; got shape {arr.shape}")
    if shape is not None and any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}; got shape {arr.shape}")
    _check_finite(arr, name, allow_nan)
    return arr


def as_finite_scalar(x, name, *, positive=False):
    """A finite real number (``> 0`` with ``positive``) as a Python float."""
    try:
        value = float(np.asarray(x, dtype=float))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real number; got {x!r:.60}") from err
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a finite number{' > 0' if positive else ''}; got {value}")
    return value


def as_mapping(x, name, what):
    """A non-empty mapping (``what`` says what its items are)."""
    if not isinstance(x, Mapping) or not x:
        got = "an empty mapping" if isinstance(x, Mapping) else type(x).__name__
        raise ValueError(f"{name} must be a non-empty dict {what}; got {got}")
    return x


def as_pair(x, name, length=None, *, allow_nan=False):
    """Two 1-D arrays of one length (e.g. ``(mean, err)`` or ``(grid, values)``)."""
    try:
        a, b = x
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of 1-D arrays; got {type(x).__name__} {x!r:.60}") from None
    a = as_vector(a, f"{name}[0]", length, allow_nan=allow_nan)
    b = as_vector(b, f"{name}[1]", a.shape[0], allow_nan=allow_nan)
    return a, b


def as_image_shape(image_shape, n_pixels, name="image_shape"):
    """``(height, width)`` of positive ints whose product is ``n_pixels``."""
    try:
        h, w = (int(v) for v in image_shape)
        ok = all(float(v) == int(v) for v in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (height, width); got {image_shape!r:.60}") from None
    if not ok or h < 1 or w < 1 or h * w != n_pixels:
        raise ValueError(f"{name} must be (height, width) with height * width = {n_pixels} pixels; "
                         f"got {tuple(image_shape)}")
    return h, w


def as_text_list(x, name, length):
    """A sequence of ``length`` labels, as strings."""
    if isinstance(x, str):
        raise ValueError(f"{name} must be a sequence of {length} labels; got the string {x!r:.60}")
    try:
        items = [str(t) for t in x]
    except TypeError:
        raise ValueError(f"{name} must be a sequence of {length} labels; got {type(x).__name__}") from None
    if len(items) != length:
        raise ValueError(f"{name} must have {length} labels, one per panel; got {len(items)}")
    return items
