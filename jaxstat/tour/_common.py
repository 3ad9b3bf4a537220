"""Helpers shared by the tour sections."""

from __future__ import annotations

import numpy as np


def stage(bar, text):
    """Show what a section is doing on the tour's progress bar (if any)."""
    if bar is not None:
        bar.set_postfix_str(text)
        bar.refresh()


def half_crossing(x, fraction):
    """Where a decreasing ``fraction`` first falls through 1/2, by linear interpolation (NaN if never).

    >>> half_crossing(np.array([0.1, 0.2]), np.array([0.8, 0.2]))
    0.15
    """
    x, f = np.asarray(x, float), np.asarray(fraction, float)
    below = np.nonzero(f < 0.5)[0]
    if not below.size or below[0] == 0:
        return float("nan")
    j = below[0]
    return round(float(x[j - 1] + (f[j - 1] - 0.5) / (f[j - 1] - f[j]) * (x[j] - x[j - 1])), 12)
