r"""Histograms of a stream: the spec check, the record key's leaf, the binning and the state.

``Streaming(histograms={key: (lo, hi, n_bins)})`` keeps one fixed-bin
histogram per element of the record's ``key`` leaf. :func:`check_histograms`
validates and normalizes that argument, :func:`histogram_leaf` finds the
leaf in a record, :func:`slot_of` bins values exactly as ``numpy.histogram``
does, and :class:`HistogramState` holds the edges and the 64-bit counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax.numpy as jnp

from jaxstat._validate import check_positive_int

__all__ = ["HistogramState", "check_histograms", "histogram_leaf", "slot_of"]


class HistogramState(NamedTuple):
    """Bin edges and 64-bit counts (two uint32 words) whose last axis holds ``n_bins`` bins,
    then underflow, overflow and NaN."""

    edges: Any
    counts_lo: Any
    counts_hi: Any


def _record_items(record):
    if isinstance(record, Mapping):
        return dict(record)
    if hasattr(record, "_asdict"):
        return dict(record._asdict())
    return None


def check_histograms(histograms) -> tuple:
    """``Streaming(histograms=...)`` checked and frozen: ``((key, (lo, hi, n_bins)), ...)``."""
    if histograms is None:
        return ()
    items = histograms.items() if isinstance(histograms, Mapping) else histograms
    try:
        items = tuple(items)
    except TypeError as err:
        raise ValueError(f"histograms must be a dict {{key: (lo, hi, n_bins)}}; got {histograms!r:.80}") from err
    out = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ValueError(f"histograms must be a dict {{key: (lo, hi, n_bins)}}; got the entry {item!r:.80}")
        key, spec = item
        name = f"histograms[{key!r}]"
        if not isinstance(key, str):
            raise ValueError(f"{name}: keys must be strings (record keys); got {type(key).__name__}")
        try:
            lo, hi, n_bins = spec
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a tuple (lo, hi, n_bins); got {spec!r:.80}") from err
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"{name} needs finite lo < hi; got lo={lo}, hi={hi}")
        out.append((key, (lo, hi, check_positive_int(n_bins, f"{name} n_bins", minimum=1))))
    if len({k for k, _ in out}) != len(out):
        raise ValueError(f"histograms names a key twice: {[k for k, _ in out]}")
    return tuple(out)


def histogram_leaf(record, key):
    """The leaf ``record[key]`` of a dict or NamedTuple record: an array or a number."""
    items = _record_items(record)
    if items is None or key not in items:
        have = sorted(items) if items is not None else f"a {type(record).__name__}, not a dict"
        raise ValueError(f"histograms names the key {key!r}, which is not in the record; its keys: {have}")
    leaf = items[key]
    if not hasattr(leaf, "dtype") and not isinstance(leaf, (int, float)):
        raise ValueError(f"histograms[{key!r}] must name an array leaf of the record; got {type(leaf).__name__}")
    return leaf


def slot_of(x, edges):
    """The bin of each value (0..n_bins-1), or n_bins (under), n_bins + 1 (over), n_bins + 2 (NaN).

    As numpy.histogram: an estimate from the bin width, corrected by one step against the
    stored edges, so a value on an edge falls where the edges say it does. (XLA flushes
    denormals to zero, so a denormal is binned as 0.)
    """
    n_bins = edges.shape[0] - 1
    lo, hi = edges[0], edges[-1]
    idx = jnp.clip(jnp.floor((x - lo) * (n_bins / (hi - lo))), 0, n_bins - 1).astype(jnp.int32)
    idx = jnp.where(x < edges[idx], idx - 1, idx)
    idx = jnp.where((x >= edges[jnp.minimum(idx + 1, n_bins)]) & (idx < n_bins - 1), idx + 1, idx)
    idx = jnp.clip(idx, 0, n_bins - 1)
    return jnp.where(jnp.isnan(x), n_bins + 2, jnp.where(x < lo, n_bins, jnp.where(x > hi, n_bins + 1, idx)))

