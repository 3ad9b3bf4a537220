"""What the statistics modules share: the trace check and the two compiled blocking kernels.

A *trace* has Monte Carlo time on axis 0. ``check_trace`` is the boundary
check every public function of :mod:`jaxstat.stats` runs first;
``block_stderrs`` and ``select_level`` are the two compiled halves of
Flyvbjerg–Petersen blocking (``blocking_levels``, ``blocking_error`` and the
stepping-stone error bars all use them), kept in two pieces so that
``blocking_levels`` and ``blocking_error`` share the expensive one.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, is_concrete

__all__ = ["block_stderrs", "check_trace", "select_level"]


def check_trace(x, name: str = "x", min_samples: int = 1):
    """A floating array with a leading time axis of at least ``min_samples``, finite when concrete.

    >>> check_trace([1.0, 2.0, 3.0]).shape
    (3,)
    >>> check_trace([[1.0, float("nan")]], "energies")
    Traceback (most recent call last):
    ...
    ValueError: energies must be finite; got 1 NaN or inf value(s)
    """
    arr = as_float_array(x, name)
    if arr.ndim == 0:
        raise ValueError(
            f"{name} must have a leading Monte Carlo time axis, shape (n_samples, ...); got a scalar"
        )
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} needs at least {min_samples} sample(s) along axis 0 (Monte Carlo time); "
            f"got shape {tuple(arr.shape)}"
        )
    if is_concrete(arr) and arr.size:
        n_bad = int(_count_nonfinite(arr))  # reduced on device: one scalar comes back
        if n_bad:
            raise ValueError(f"{name} must be finite; got {n_bad} NaN or inf value(s)")
    return arr


@jax.jit
def _count_nonfinite(x):
    return jnp.sum(~jnp.isfinite(x))


@functools.partial(jax.jit, static_argnames="min_blocks")
def block_stderrs(x, min_blocks):
    """The naive standard error at each blocking level, shape ``(n_levels,) + x.shape[1:]``.

    Level k averages neighbouring pairs k times; levels run while at least
    ``min_blocks`` blocks remain (an odd last block is dropped).

    >>> import jax.numpy as jnp
    >>> block_stderrs(jnp.arange(8.0), 2).shape
    (3,)
    """
    ses = []
    while x.shape[0] >= min_blocks:
        k = x.shape[0]
        ses.append(jnp.std(x, axis=0, ddof=1) / math.sqrt(k))
        half = k // 2  # an odd last sample is dropped
        x = jnp.mean(x[: 2 * half].reshape((half, 2) + x.shape[1:]), axis=1)
    return jnp.stack(ses)


@functools.partial(jax.jit, static_argnames=("n", "rule"))
def select_level(se, n, rule):
    """One level of ``block_stderrs`` output: ``"max"``, or the plateau rule for ``n`` samples.

    >>> import jax.numpy as jnp
    >>> float(select_level(jnp.array([1.0, 2.0, 1.5]), 8, "max"))
    2.0
    """
    if rule == "max":
        return jnp.max(se, axis=0)
    n_levels = se.shape[0]
    k = np.arange(n_levels, dtype=np.float64).reshape((-1,) + (1,) * (se.ndim - 1))
    # Lee et al. / Wolff: the first level with B^3 > 2 n (2 tau_int)^2, where
    # (SE_k / SE_0)^2 estimates 2 tau_int; compared in logs so B^3 cannot overflow.
    ok = jnp.asarray(3 * math.log(2) * k, se.dtype) > math.log(2 * n) + 4 * jnp.log(se / se[0])
    level = jnp.where(ok.any(axis=0), jnp.argmax(ok, axis=0), n_levels - 1)
    return jnp.take_along_axis(se, level[None], axis=0)[0]
