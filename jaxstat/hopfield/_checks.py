"""Boundary checks shared by the modules of :mod:`jaxstat.hopfield`.

Each check names the argument, what was expected and what came (DESIGN.md,
convention 5). Values are checked when concrete; under ``jit``/``vmap`` only
shapes and dtypes can raise, and the callers document what traced invalid
values give (NaN, never a plausible number).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    as_float_array,
    check_coupling_matrix,
    check_loads,
    check_spins,
    is_concrete,
)

RULES = ("hebbian", "pseudo_inverse", "storkey")


def check_patterns(patterns, name: str = "patterns"):
    """``(P, N)`` patterns of ±1 with P, N >= 1, as a float array."""
    xi = as_float_array(patterns, name)
    if xi.ndim != 2:
        raise ValueError(f"{name} must have shape (P, N), one ±1 pattern per row; got shape {tuple(xi.shape)}")
    if xi.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one pattern (P >= 1); got shape {tuple(xi.shape)}")
    if xi.shape[1] == 0:
        raise ValueError(f"{name} must have N >= 1 units; got shape {tuple(xi.shape)}")
    return spins_or_nan(check_spins(xi, (xi.shape[1],), name), axis=None)


def check_states(states, n, name, against):
    """``(..., N)`` states of ±1 whose last axis matches ``against`` (a phrase naming N's source)."""
    s = as_float_array(states, name)
    if s.ndim == 0 or s.shape[-1] != n:
        raise ValueError(
            f"{name} must have last dimension N = {n} to match {against}; got {name} shape {tuple(s.shape)}"
        )
    return spins_or_nan(check_spins(s, (n,), name))


def spins_or_nan(s, axis=-1):
    """A traced configuration (reduced over ``axis``; ``None``: the whole array) with an
    entry other than ±1 (e.g. 0/1 neuron states under ``jit``/``vmap``, where nothing can
    raise) becomes all NaN, so every result computed from it is NaN, never a plausible
    number. Concrete arrays were already checked and pass unchanged."""
    if is_concrete(s):
        return s
    ok = jnp.all(jnp.abs(s) == 1, axis=axis, keepdims=axis is not None)
    return jnp.where(ok, s, jnp.nan).astype(s.dtype)


def check_weights(W):
    """A square ``(N, N)`` weight matrix, finite with a zero diagonal (asymmetric allowed)."""
    W = as_float_array(W, "W")
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a square (N, N) weight matrix with N >= 1; got shape {tuple(W.shape)}")
    if is_concrete(W):
        check_coupling_matrix(W, "W", allow_asymmetric=True)  # asymmetric W: dynamics only
    return W


def check_theta(theta, n, dtype):
    """Thresholds: None (0), a scalar or ``(N,)``, finite; returned as ``(N,)``."""
    theta = as_float_array(0.0 if theta is None else theta, "theta").astype(dtype)
    if theta.ndim != 0 and theta.shape != (n,):
        raise ValueError(
            f"theta must be a scalar or have shape (N,) = ({n},) to match W; got shape {tuple(theta.shape)}"
        )
    if is_concrete(theta) and not np.all(np.isfinite(np.asarray(theta))):
        raise ValueError("theta must be finite; got NaN or inf entries")
    return jnp.broadcast_to(theta, (n,))


def check_sharpness(sharpness):
    """The sharpness of the exponential / softmax separation: a finite scalar > 0 (may be traced).

    ``F(x) = exp(sharpness x) / sharpness`` and the softmax energy divide by it.
    """
    if isinstance(sharpness, (bool, np.bool_)):
        raise ValueError(f"sharpness must be a finite number > 0; got a boolean {sharpness!r}")
    if np.ndim(sharpness) != 0:
        raise ValueError(f"sharpness must be a scalar; got shape {np.shape(sharpness)}")
    if is_concrete(sharpness):
        try:
            value = float(np.asarray(sharpness))
        except (TypeError, ValueError) as err:
            raise ValueError(f"sharpness must be a finite number > 0; got {sharpness!r:.60}") from err
        if not 0.0 < value < math.inf:
            raise ValueError(f"sharpness must be finite and > 0; got {value}")
    return sharpness


def nan_unless_sharp(x, sharpness):
    """``x`` where the (possibly traced) sharpness is finite and > 0, NaN elsewhere."""
    ok = (sharpness > 0) & jnp.isfinite(sharpness)
    return jnp.where(ok, x, jnp.nan)


def check_rule(rule):
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    return rule


def check_fraction(value, name: str = "flip_fraction"):
    """A concrete number in [0, 1]."""
    try:
        f = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number in [0, 1]; got {value!r:.60}") from err
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {value!r}")
    return f


def check_threshold(threshold, upper_inclusive: bool = False):
    """An overlap threshold in (0, 1) (or (0, 1] with ``upper_inclusive``)."""
    try:
        t = float(threshold)
    except (TypeError, ValueError) as err:
        raise ValueError(f"threshold must be a number in (0, 1); got {threshold!r:.60}") from err
    ok = 0.0 < t <= 1.0 if upper_inclusive else 0.0 < t < 1.0
    if not ok:
        raise ValueError(f"threshold must be in (0, 1{']' if upper_inclusive else ')'}; got {threshold!r}")
    return t


def pattern_counts(alphas, sizes, rule):
    """``P = max(1, round(alpha N))`` per size and load, ``(n_N, n_alpha)``."""
    a = check_loads(alphas)
    p = np.maximum(1, np.rint(np.outer(sizes, a))).astype(np.int64)
    if rule == "pseudo_inverse" and np.any(p >= np.asarray(sizes)[:, None]):
        raise ValueError(
            "alphas must give P < N for rule='pseudo_inverse' (P >= N random patterns span R^N and the "
            f"projector is the identity); got loads up to {a.max()} for sizes {sizes}"
        )
    return p
