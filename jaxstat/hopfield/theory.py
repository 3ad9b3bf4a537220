r"""Replica-symmetric theory of the Hopfield network (Amit, Gutfreund and Sompolinsky).

For Hebb's rule with :math:`P = \alpha N` random patterns and
:math:`N \to \infty`, the retrieval state has overlap :math:`m` with one
pattern, Edwards–Anderson order parameter :math:`q` and the noise variance
:math:`\alpha r` of the other patterns' cross-talk, with

.. math::

   m = \langle \tanh \beta (m + \sqrt{\alpha r}\, z) \rangle_z ,\qquad
   q = \langle \tanh^2 \beta (m + \sqrt{\alpha r}\, z) \rangle_z ,\qquad
   r = \frac{q}{(1 - \beta (1 - q))^2},

:math:`z` a standard normal. At :math:`T = 0`, with
:math:`y = m / \sqrt{2 \alpha r}`, they reduce to one equation,

.. math::  y \left( \sqrt{2 \alpha} + \tfrac{2}{\sqrt\pi} e^{-y^2} \right) = \operatorname{erf} y ,
           \qquad m = \operatorname{erf} y ,

whose retrieval root exists up to :math:`\alpha_c \approx 0.138`, where
:math:`m \approx 0.967`. These are host-side (NumPy/SciPy) reference curves
for the simulations of :mod:`jaxstat.hopfield.capacity`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from jaxstat._gaussian import gaussian_average

__all__ = ["ags_critical_load", "ags_overlap", "ags_retrieval_temperature"]

_MIN_OVERLAP = 1e-3                          # below this the iteration has fallen to m = 0


def _g(y):
    # sqrt(2 alpha) as a function of the root y of the T = 0 equation
    from scipy import (
        special,  # imported on use: it would double the import time of jaxstat.hopfield
    )

    return special.erf(y) / y - 2 / math.sqrt(math.pi) * np.exp(-(y**2))


@functools.lru_cache(maxsize=1)
def _peak():
    from scipy import optimize

    res = optimize.minimize_scalar(lambda y: -_g(y), bounds=(0.1, 5.0), method="bounded",
                                   options={"xatol": 1e-12})
    return float(res.x), float(_g(res.x))


def _as_float64(x, name):
    try:
        return np.asarray(x, np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number or an array of numbers; got {x!r:.60}") from err


def ags_critical_load() -> float:
    r"""The storage capacity :math:`\alpha_c` of Hebb's rule at T = 0 (about 0.1379).

    >>> round(ags_critical_load(), 4)
    0.1379
    """
    return _peak()[1] ** 2 / 2


def _overlap_zero_t(alpha):
    y_peak, g_peak = _peak()
    target = math.sqrt(2 * alpha)
    if target > g_peak:
        return 0.0
    from scipy import optimize, special

    y = optimize.brentq(lambda v: _g(v) - target, y_peak, 50.0, xtol=1e-14)
    return float(special.erf(y))


def _tanh_moments(x):
    t = np.tanh(x)
    return np.stack([t, t * t])


def _overlap_finite_t(alpha, temperature, tol, max_iter):
    beta = 1.0 / temperature
    m, q = 1.0, 1.0
    for _ in range(max_iter):
        c = beta * (1 - q)
        if alpha == 0:                    # Curie-Weiss: no cross-talk noise, r plays no part
            r = 0.0
        elif c >= 1:                      # no retrieval solution on this branch
            return 0.0
        else:
            r = q / (1 - c) ** 2
        m_new, q_new = gaussian_average(lambda z, m=m, r=r: _tanh_moments(beta * (m + math.sqrt(alpha * r) * z)))
        if abs(m_new - m) < tol and abs(q_new - q) < tol:
            m = m_new
            break
        m, q = m_new, q_new
    return m if m > _MIN_OVERLAP else 0.0


def ags_overlap(alpha, temperature=0.0, *, tol: float = 1e-10, max_iter: int = 20000):
    r"""Overlap :math:`m(\alpha, T)` of the replica-symmetric retrieval state, 0 where there is none.

    At T = 0 the one-variable equation is solved by root finding; at T > 0
    the saddle-point equations are iterated from the pattern (m = q = 1),
    with Gaussian averages by jaxstat's one quadrature (the trapezoidal rule
    on 4001 nodes, accurate to 1e-13 for these integrands down to T ~ 0.01). At :math:`\alpha = 0` this is the
    Curie–Weiss magnet, :math:`m = \tanh(m/T)`.

    Args:
      alpha: load(s) >= 0, a number or array.
      temperature: temperature(s) >= 0, broadcast against ``alpha``.
      tol: convergence tolerance of the iteration (T > 0).
      max_iter: iteration cap (T > 0); convergence slows near the edge.

    Returns:
      A float, or an array of the broadcast shape.

    >>> round(ags_overlap(0.1), 3), ags_overlap(0.15)       # below / above alpha_c
    (0.998, 0.0)
    >>> round(ags_overlap(0.0, 0.5), 4)                        # Curie-Weiss: m = tanh(2 m)
    0.9575
    """
    a, t = np.broadcast_arrays(_as_float64(alpha, "alpha"), _as_float64(temperature, "temperature"))
    if not (isinstance(tol, (int, float, np.floating)) and 0 < tol < math.inf):
        raise ValueError(f"tol must be a finite number > 0; got {tol!r}")
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1; got {max_iter!r}")
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"alpha must be finite and >= 0; got {alpha!r}")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"temperature must be finite and >= 0; got {temperature!r}")
    out = np.empty(a.shape)
    for idx in np.ndindex(a.shape):
        ai, ti = float(a[idx]), float(t[idx])
        if ti == 0:
            out[idx] = 1.0 if ai == 0 else _overlap_zero_t(ai)
        else:
            out[idx] = _overlap_finite_t(ai, ti, tol, max_iter)
    return float(out) if out.ndim == 0 else out


def ags_retrieval_temperature(alpha, *, xtol: float = 1e-4):
    r""":math:`T_M(\alpha)`: the highest temperature at which the retrieval state exists.

    Found by bisection on :func:`ags_overlap`; :math:`T_M(0) = 1` and
    :math:`T_M = 0` for :math:`\alpha \ge \alpha_c`.

    >>> round(ags_retrieval_temperature(0.05), 2)
    0.54
    """
    a = _as_float64(alpha, "alpha")
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"alpha must be finite and >= 0; got {alpha!r}")
    if not (isinstance(xtol, (int, float, np.floating)) and 0 < xtol < 1):
        raise ValueError(f"xtol must be a number in (0, 1) (the bisection's tolerance in T); got {xtol!r}")
    out = np.empty(a.shape)
    for idx in np.ndindex(a.shape):
        ai = float(a[idx])
        if ai >= ags_critical_load():
            out[idx] = 0.0
            continue
        lo, hi = 0.0, 1.0
        while hi - lo > xtol:
            mid = 0.5 * (lo + hi)
            if ags_overlap(ai, mid) > 0:
                lo = mid
            else:
                hi = mid
        out[idx] = lo
    return float(out) if out.ndim == 0 else out
