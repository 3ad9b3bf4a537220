r"""The blocking levels behind :class:`~jaxstat.stats.Streaming`: layout, exact arithmetic, kernels.

A stream's record (a pytree of arrays) is held per dtype: all leaves of one
dtype share one ``(n_elements, n_levels)`` array per quantity, a
:class:`Levels` (:func:`layout` says where each leaf lives, :func:`unflatten`
and :func:`leaf_of` read the leaves back). Its sums and moments are
float–float ``(hi, lo)`` pairs updated with Knuth's exact two-sum
(:func:`ff_add`); its block counts are 64-bit integers held as two uint32
words (:func:`add64`, :func:`to_float`, :func:`level_masks`).
:func:`update_levels` folds one record into every level, :func:`merge_levels`
pools two streams' levels and :func:`summarize_levels` reads the moments
back. Why this layout and these numerics: see :mod:`jaxstat.stats.streaming`.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import float_dtype

__all__ = [
    "Levels",
    "ff_add",
    "add64",
    "to_float",
    "level_masks",
    "acc_dtype",
    "leaf_shape",
    "layout",
    "unflatten",
    "leaf_of",
    "update_levels",
    "merge_levels",
    "summarize_levels",
]

_TWO32 = 4294967296.0


class Levels(NamedTuple):
    """Blocking state of all record elements of one dtype, each field ``(n_elements, n_levels)``:
    the running block sums and the moments of complete blocks, as float–float ``(hi, lo)`` pairs."""

    block: Any
    block_lo: Any
    mean: Any
    mean_lo: Any
    m2: Any
    m2_lo: Any


# --------------------------------------------------------------------------- #
# exact arithmetic
# --------------------------------------------------------------------------- #
def ff_add(hi, lo, b):
    """(hi + lo) + b as a float–float pair: Knuth's two-sum keeps the rounding error of hi + b."""
    s = hi + b
    bb = s - hi
    err = (hi - (s - bb)) + (b - bb) + lo
    new_hi = s + err
    return new_hi, err - (new_hi - s)


def add64(lo, hi, inc_lo, inc_hi=0):
    """A 64-bit unsigned add on (lo, hi) uint32 word pairs."""
    new_lo = lo + inc_lo
    return new_lo, hi + inc_hi + (new_lo < lo).astype(jnp.uint32)


def to_float(lo, hi, dtype):
    """The 64-bit count ``lo + 2**32 hi`` as ``dtype`` (exact below 2**24 in float32, 2**53 in float64)."""
    return hi.astype(dtype) * _TWO32 + lo.astype(dtype)


@functools.lru_cache(maxsize=None)
def level_masks(n_levels):
    """The low k bits of a 64-bit count, k = 0, ..., n_levels - 1, as (lo, hi) uint32 words."""
    k = np.arange(n_levels)
    lo = np.where(k >= 32, 2**32 - 1, (1 << np.minimum(k, 31)) - 1).astype(np.uint32)
    hi = np.where(k > 32, (1 << np.clip(k - 32, 0, 31)) - 1, 0).astype(np.uint32)
    return lo, hi


# --------------------------------------------------------------------------- #
# the record layout
# --------------------------------------------------------------------------- #
def acc_dtype(leaf):
    """The dtype a record leaf is accumulated in."""
    dtype = jnp.dtype(leaf.dtype if hasattr(leaf, "dtype") else jnp.result_type(leaf))
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise ValueError(f"record leaves must be real; got complex dtype {dtype}")
    # 16-bit floats, integers and flags are averaged in the default float.
    return dtype if dtype in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)) else jnp.dtype(float_dtype())


def leaf_shape(leaf):
    """The shape of a leaf: an array, a ``jax.ShapeDtypeStruct`` or a Python number."""
    return tuple(leaf.shape) if hasattr(leaf, "shape") else tuple(np.shape(leaf))


def layout(template):
    """Where each leaf lives: ``[(dtype name, start, shape)]`` in leaf order, and the group sizes."""
    places, sizes = [], {}
    for leaf in jax.tree.leaves(template):
        name, shape = str(leaf.dtype), tuple(leaf.shape)
        places.append((name, sizes.get(name, 0), shape))
        sizes[name] = sizes.get(name, 0) + math.prod(shape)
    return places, sizes


def unflatten(template, groups, fn):
    """A pytree like the template, leaf i being ``fn(groups[dtype], start, shape)``."""
    places, _ = layout(template)
    return jax.tree.unflatten(jax.tree.structure(template), [fn(groups[n], a, s) for n, a, s in places])


def leaf_of(group, start, shape):
    """One leaf's slice of a per-dtype array: ``shape``, or ``(n_levels,) + shape`` for per-level arrays."""
    part = group[start : start + math.prod(shape)]
    return part.reshape(shape) if group.ndim == 1 else jnp.moveaxis(part.reshape(shape + (group.shape[1],)), -1, 0)


# --------------------------------------------------------------------------- #
# one record in, two streams pooled, the moments out
# --------------------------------------------------------------------------- #
def update_levels(lev, x, done, inv_n):
    """One record's elements ``x`` (shape (n_elements, 1)) into every level; ``done`` marks the
    levels whose block it completes, ``inv_n`` is 1 / their new block count."""
    scale = jnp.asarray(np.ldexp(1.0, -np.arange(lev.mean.shape[-1])), x.dtype)  # 2^-k, exact
    block, block_lo = ff_add(lev.block, lev.block_lo, x)
    v, v_lo = block * scale, block_lo * scale  # the block mean, a float-float pair
    # A level's first block sets its mean exactly (then d = 0): through the update, the
    # rounding of d ~ x, not ~ the spread, would put eps x^2 into M2 (5 for float32 blocks of 1e4).
    first = done & (inv_n == 1)
    mean, mean_lo = jnp.where(first, v, lev.mean), jnp.where(first, v_lo, lev.mean_lo)
    d = (v - mean) + (v_lo - mean_lo)
    mean, mean_lo = ff_add(mean, mean_lo, jnp.where(done, d * inv_n, 0))
    m2, m2_lo = ff_add(lev.m2, lev.m2_lo, jnp.where(done, d * ((v - mean) + (v_lo - mean_lo)), 0))
    return Levels(jnp.where(done, 0, block), jnp.where(done, 0, block_lo), mean, mean_lo, m2, m2_lo)


def merge_levels(la, lb, na, nb, partial):
    """Two streams' levels pooled (Chan, Golub and LeVeque), ``na`` and ``nb`` their block counts per
    level; the unfinished blocks become 0, or NaN where ``partial`` or where either was merged before."""
    frac = nb / jnp.maximum(na + nb, 1)
    delta = (lb.mean - la.mean) + (lb.mean_lo - la.mean_lo)
    mean, mean_lo = ff_add(la.mean, la.mean_lo, delta * frac)
    # an empty level of a takes b's mean as it is (exactly, as a level's first block does)
    mean, mean_lo = jnp.where(na == 0, lb.mean, mean), jnp.where(na == 0, lb.mean_lo, mean_lo)
    m2, m2_lo = ff_add(la.m2, la.m2_lo + lb.m2_lo, lb.m2)
    m2, m2_lo = ff_add(m2, m2_lo, delta * delta * (na * frac))
    poisoned = partial | jnp.isnan(la.block) | jnp.isnan(lb.block)  # merged before: stays NaN
    block = jnp.where(poisoned, jnp.nan, jnp.zeros_like(la.block))
    return Levels(block, block, mean, mean_lo, m2, m2_lo)


def summarize_levels(lev, count_lo, count_hi, min_blocks, rule):
    """mean, error, tau_int, variance, level (each (n_elements,)) and SE_k (n_elements, n_levels)."""
    dtype = lev.mean.dtype
    n_k = to_float(count_lo, count_hi, dtype)
    valid = (count_hi > 0) | (count_lo >= min_blocks)  # a prefix of the levels
    se = jnp.where(valid, jnp.sqrt((lev.m2 + lev.m2_lo) / (n_k * (n_k - 1))), jnp.nan)
    n_valid = jnp.sum(valid)
    if rule == "max":
        level = jnp.argmax(jnp.where(valid, se, -jnp.inf), axis=-1)
    else:  # blocking_error's rule (select_level): the first level with B^3 > 2 n (SE_k / SE_0)^4
        k = jnp.arange(se.shape[-1], dtype=dtype)
        ok = valid & (3 * math.log(2) * k > jnp.log(2 * n_k[0]) + 4 * jnp.log(se / se[:, :1]))
        level = jnp.where(ok.any(axis=-1), jnp.argmax(ok, axis=-1), n_valid - 1)
    level = jnp.where(n_valid > 0, level, -1).astype(jnp.int32)
    error = jnp.where(level >= 0, jnp.take_along_axis(se, jnp.maximum(level, 0)[:, None], axis=-1)[:, 0], jnp.nan)
    variance = (lev.m2[:, 0] + lev.m2_lo[:, 0]) / (n_k[0] - 1)
    return lev.mean[:, 0] + lev.mean_lo[:, 0], error, 0.5 * (error / se[:, 0]) ** 2, variance, level, se

