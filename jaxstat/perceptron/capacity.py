r"""Capacity: exact linear separability, Cover's counting formula, and a sweep.

Cover (1965) counted the dichotomies of ``P`` points in general position in
:math:`\mathbb{R}^N` that a hyperplane through the origin realizes,
:math:`C(P, N) = 2 \sum_{k<N} \binom{P-1}{k}`, so random labels are separable
with probability :math:`C(P, N) / 2^P`: 1 up to ``P = N``, exactly 1/2 at
``P = 2N``, and a step at the load :math:`\alpha = P/N = 2` as
:math:`N \to \infty` (Gardner's capacity :math:`\alpha_c = 2`).
:func:`separability_sweep` measures that probability over loads, trials and
sizes in one compiled call and decides every trial exactly.
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    check_key,
    check_loads,
    check_positive_int,
    check_sizes,
    float_dtype,
    is_concrete,
)
from jaxstat.perceptron._core import check_data, check_flag, n_patterns, train_impl

__all__ = ["SeparabilityResult", "cover_probability", "linearly_separable", "separability_sweep"]


def linearly_separable(x, y, bias=True) -> bool:
    """Decide exactly whether labels ``y`` are strictly linearly separable on ``x``.

    Separable means some ``(w, b)`` has ``y_i (w . x_i + b) > 0`` for all ``i``
    (``b = 0`` fixed when ``bias=False``: a hyperplane through the origin).
    By rescaling this is the feasibility of the linear program
    ``y_i (w . x_i + b) >= 1``, solved with ``scipy.optimize.linprog``
    (HiGHS); a feasible answer is then re-checked in float64 on the data.
    Where HiGHS gives up on that unbounded problem (rarely, on ±1 data), the
    bounded form "maximize the smallest margin ``t`` over ``|w_j| <= 1``"
    decides: separable iff ``t > 0``. This, unlike "the perceptron did not converge in k epochs", is a
    decision, not a guess.

    SciPy is imported on call (an ImportError says ``pip install scipy`` when
    it is missing). It runs on concrete data (not under ``jit``/``vmap``).

    Args:
      x: inputs, shape ``(P, N)``.
      y: labels in {-1, +1}, shape ``(P,)``.
      bias: allow a bias (affine separation); ``False``: through the origin.

    >>> import numpy as np
    >>> x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> linearly_separable(x, [-1, -1, -1, 1]), linearly_separable(x, [-1, 1, 1, -1])
    (True, False)
    """
    x, y = check_data(x, y)
    if not is_concrete(x) or not is_concrete(y):
        raise ValueError("x and y must be concrete arrays (linearly_separable does not run under jit/vmap)")
    bias = check_flag(bias, "bias")
    return _lp_separable(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), bias)


def _lp_separable(xs, ys, bias):
    """The linear program of :func:`linearly_separable` on validated float64 NumPy data."""
    try:
        from scipy.optimize import linprog
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "jaxstat.perceptron.linearly_separable needs SciPy for its linear program; "
            "install it with `pip install scipy`"
        ) from err
    p = xs.shape[0]
    a = np.hstack([xs, np.ones((p, 1))]) if bias else xs
    # Scale columns so the LP tolerances mean the same thing for grams and for ±1.
    scale = np.max(np.abs(a), axis=0)
    scale[scale == 0] = 1.0
    a_scaled = a / scale
    res = linprog(
        c=np.zeros(a.shape[1]),
        A_ub=-ys[:, None] * a_scaled,
        b_ub=-np.ones(p),
        bounds=[(None, None)] * a.shape[1],
        method="highs",
    )
    if res.status == 2:
        return False
    if res.status != 0:
        # HiGHS occasionally gives up on this unbounded feasibility problem
        # (status 4, "model_status is Unknown"; about 1 in 500 of the ±1
        # problems of separability_sweep near alpha = 2). The bounded form
        # below always has an optimum; it is the fallback.
        return _lp_max_margin(linprog, a_scaled, ys, res.message)
    return _verified(a_scaled, ys, res.x)


# HiGHS feasibility/optimality tolerances are 1e-7; a max-min margin below
# this (columns scaled to max 1, |v_j| <= 1) is zero to the solver.
_MARGIN_TOL = 1e-9


def _lp_max_margin(linprog, a, ys, first_message):
    """Separability as ``max t`` s.t. ``y_i a_i . v >= t``, ``|v_j| <= 1``, ``t <= 1``.

    Always feasible (``v = 0, t = 0``) and bounded, so the solver reaches an
    optimum; the data are separable iff ``t* > 0``. A ``t*`` within the
    solver's tolerances of 0 means not separable; a positive one is accepted
    only after the float64 re-check.
    """
    p, n = a.shape
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    res = linprog(
        c=cost,
        A_ub=np.hstack([-ys[:, None] * a, np.ones((p, 1))]),
        b_ub=np.zeros(p),
        bounds=[(-1.0, 1.0)] * n + [(None, 1.0)],
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(
            f"linear programs for separability did not finish: {first_message}; then {res.message}"
        )
    if not res.x[-1] > _MARGIN_TOL:
        return False
    return _verified(a, ys, res.x[:-1])


def _verified(a, ys, v):
    margins = ys * (a @ v)
    if not np.all(margins > 0):
        raise RuntimeError(
            f"linear program reported separable but its solution has min margin {margins.min():.3g}; "
            "the data may be too badly scaled to decide"
        )
    return True


def cover_probability(P, N, exact=False):
    """Cover's probability that ``P`` points in general position in ``R^N``
    with random labels are separable by a hyperplane through the origin.

    .. math:: \\frac{C(P, N)}{2^P} = 2^{1-P} \\sum_{k=0}^{N-1} \\binom{P-1}{k},

    computed in exact integer arithmetic (1 for ``P <= N``, 1/2 at ``P = 2N``).
    A perceptron *with a bias* in ``N`` dimensions is a homogeneous one in
    ``N + 1``: use ``cover_probability(P, N + 1)`` for it.

    Args:
      P: number of points, an integer >= 1.
      N: dimension, an integer >= 1.
      exact: return a :class:`fractions.Fraction` instead of a float.

    >>> cover_probability(40, 20), cover_probability(3, 1, exact=True)
    (0.5, Fraction(1, 4))
    """
    P = check_positive_int(P, "P")
    N = check_positive_int(N, "N")
    exact = check_flag(exact, "exact")
    count = sum(math.comb(P - 1, k) for k in range(min(N, P)))
    value = Fraction(2 * count, 2**P)
    return value if exact else float(value)


class SeparabilityResult(NamedTuple):
    """What :func:`separability_sweep` returns (NumPy arrays, computed on the host).

    Attributes:
      n: the dimensions ``N``, shape ``(n_N,)``.
      alpha: the loads, shape ``(n_alpha,)``.
      p: the numbers of patterns ``P = round(alpha N)``, shape ``(n_N, n_alpha)``.
      separable: bool, shape ``(n_N, n_alpha, n_trials)``: trial ``t`` is
        strictly linearly separable (decided exactly).
      certified: bool, same shape: the perceptron converged, a certificate of
        separability; every other trial was decided by the linear program.
      cover: Cover's probability :func:`cover_probability` ``(P, N)``, or
        ``(P, N + 1)`` with a bias, shape ``(n_N, n_alpha)``.
    """

    n: np.ndarray
    alpha: np.ndarray
    p: np.ndarray
    separable: np.ndarray
    certified: np.ndarray
    cover: np.ndarray

    @property
    def fraction(self) -> np.ndarray:
        """The fraction of separable trials, shape ``(n_N, n_alpha)``."""
        return self.separable.mean(axis=-1)

    @property
    def stderr(self) -> np.ndarray:
        """Binomial standard error of :attr:`fraction`, ``sqrt(f (1 - f) / n_trials)``.

        It is 0 where every trial agreed; to test against Cover's formula use
        :attr:`cover_stderr`, the standard error the formula predicts.
        """
        f = self.fraction
        return np.sqrt(f * (1 - f) / self.separable.shape[-1])

    @property
    def cover_stderr(self) -> np.ndarray:
        """``sqrt(c (1 - c) / n_trials)`` with ``c = cover``: the spread of :attr:`fraction` if Cover holds."""
        return np.sqrt(self.cover * (1 - self.cover) / self.separable.shape[-1])

    @property
    def n_certified(self) -> np.ndarray:
        """Trials certified separable by the perceptron, shape ``(n_N, n_alpha)``."""
        return self.certified.sum(axis=-1)

    @property
    def n_lp(self) -> np.ndarray:
        """Trials decided by the linear program, shape ``(n_N, n_alpha)``."""
        return (~self.certified).sum(axis=-1)


def _flat_rademacher(key, shape, dtype):
    # Drawn as one flat vector and reshaped: XLA:CPU compiles multi-axis
    # threefry draws of some shapes (e.g. (150, 40, 10)) ten times slower,
    # seconds per sweep shape, while a flat draw compiles in a fraction.
    bits = jax.random.bits(key, (math.prod(shape),), jnp.uint8).reshape(shape)
    return jnp.where(bits & 1 == 1, jnp.ones((), dtype), -jnp.ones((), dtype))


@functools.partial(jax.jit, static_argnames=("n_trials", "n_max", "p_max", "max_epochs", "bias"))
def _sweep_jit(key, n, p, *, n_trials, n_max, p_max, max_epochs, bias):
    # Every trial padded to (p_max, n_max): rows >= P and columns >= N are
    # zero, and rows >= P are masked. A zero input column adds nothing to any
    # w . x, and masked rows never update, so a padded run is exactly the
    # run on the (P, N) problem, and all sizes share one compiled call.
    dtype = float_dtype()
    batch = p.shape + (n_trials,)
    k_x, k_y = jax.random.split(key)
    rows = jnp.arange(p_max) < p[:, :, None, None]                     # (n_N, n_alpha, 1, p_max)
    cols = jnp.arange(n_max) < n[:, None, None, None]                  # (n_N, 1, 1, n_max)
    rows = jnp.broadcast_to(rows, batch + (p_max,))
    x = _flat_rademacher(k_x, batch + (p_max, n_max), dtype) * (rows[..., :, None] & cols[..., None, :])
    y = _flat_rademacher(k_y, batch + (p_max,), dtype)

    def trial(x, y, mask):
        return train_impl(x, y, mask, jnp.ones((), dtype), jax.random.key(0), max_epochs,
                           pocket=False, shuffle=False, bias=bias).converged

    flat = (-1,)
    converged = jax.vmap(trial)(x.reshape(flat + x.shape[-2:]), y.reshape(flat + y.shape[-1:]),
                                rows.reshape(flat + rows.shape[-1:]))
    # int8 keeps the host copy small; the LP reads it only for unconverged trials.
    return converged.reshape(batch), x.astype(jnp.int8), y.astype(jnp.int8)


def separability_sweep(key, n, alphas, n_trials, bias=False, max_epochs=50) -> SeparabilityResult:
    """The probability that random patterns with random labels are linearly separable.

    For every dimension ``N`` in ``n``, load ``alpha`` in ``alphas`` and trial,
    ``P = round(alpha N)`` patterns ``x_mu`` with i.i.d. ±1 entries get i.i.d.
    ±1 labels, and the question is whether a perceptron (through the origin,
    or with a bias when ``bias=True``) classifies them all correctly. All
    trials run in **one** jitted, vmapped call: inputs are padded to
    ``N_max`` with zero columns and patterns to ``P_max`` with a mask, and a
    perceptron (:func:`~jaxstat.perceptron.train`'s rule, ``max_epochs``
    epochs) runs on each. A converged run is a certificate of (strict)
    separability; every trial that did not converge is then decided exactly
    by :func:`linearly_separable` on the host, so the answer is exact, not
    "did not converge in ``max_epochs``". ``max_epochs`` only trades
    compiled perceptron epochs for host LPs.

    Cover's formula (:func:`cover_probability`) is exact for points in
    general position; ±1 patterns are not (two may coincide or be opposite,
    small subsets may be linearly dependent). At ``N = 20`` to 50 the
    difference is below the binomial error of 2,000 trials: measured at
    ``N = 20, 30, 50`` and ``alpha = 1.25 ... 3`` in steps of 0.25, with and
    without a bias, every fraction lies within 2.2 standard errors of
    Cover's. At ``N <= 10`` it shows: ``P = 5`` patterns in ``N = 10``
    dimensions are dependent in about 2% of draws, and a dependent set with
    labels that contradict the dependence is not separable, where Cover's
    formula says 1.

    The call holds all padded patterns at once, about
    ``5 n_N n_alpha n_trials P_max N_max`` bytes in float32 (plus an int8
    copy on the host); split a larger sweep over calls with different keys.

    Args:
      key: a PRNG key.
      n: the dimension ``N``, an integer >= 1, or a sequence of them such as
        ``(20, 50, 100)``.
      alphas: loads ``alpha = P / N > 0``, a number or a 1-D sequence;
        ``round(alpha N)`` (half up) must be >= 1 for every ``N``.
      n_trials: independent trials per ``(N, alpha)``.
      bias: perceptrons with a bias (Cover then applies in ``N + 1``
        dimensions) instead of through the origin.
      max_epochs: perceptron epochs before a trial is handed to the LP.

    Returns:
      A :class:`SeparabilityResult` with the exact decisions ``separable``
      of shape ``(n_N, n_alpha, n_trials)``, which trials the perceptron
      ``certified``, the ``fraction`` separable with its binomial
      ``stderr``, and ``cover`` for comparison.

    >>> import jax
    >>> r = separability_sweep(jax.random.key(0), 20, [0.5, 2.0, 4.0], 20)
    >>> r.p.tolist(), r.cover.round(3).tolist()
    ([[10, 40, 80]], [[1.0, 0.5, 0.0]])
    >>> float(r.fraction[0, 0]), float(r.fraction[0, 2])   # always / never separable
    (1.0, 0.0)
    >>> bool((r.n_certified + r.n_lp == 20).all())
    True
    """
    key = check_key(key)
    sizes = np.asarray(check_sizes(n))
    alphas = check_loads(alphas)
    n_trials = check_positive_int(n_trials, "n_trials")
    bias = check_flag(bias, "bias")
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    p = n_patterns(alphas, sizes)
    if p.min() < 1:
        i, j = np.unravel_index(np.argmin(p), p.shape)
        raise ValueError(
            f"alphas must give at least one pattern, round(alpha N) >= 1; got alpha = {alphas[j]} "
            f"at N = {sizes[i]} (P = 0)"
        )
    converged, xs, ys = _sweep_jit(
        key, jnp.asarray(sizes, jnp.int32), jnp.asarray(p, jnp.int32), n_trials=n_trials,
        n_max=int(sizes.max()), p_max=int(p.max()), max_epochs=max_epochs, bias=bias,
    )
    certified = np.asarray(converged)
    separable = certified.copy()
    xs, ys = np.asarray(xs), np.asarray(ys)
    undecided = list(zip(*np.nonzero(~certified)))

    def decide(index):
        i, j, t = index
        n_, p_ = sizes[i], p[i, j]
        return _lp_separable(xs[i, j, t, :p_, :n_].astype(np.float64), ys[i, j, t, :p_].astype(np.float64), bias)

    # HiGHS releases the GIL while it solves: threads run the LPs on every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for index, answer in zip(undecided, pool.map(decide, undecided)):
            separable[index] = answer
    extra = 1 if bias else 0
    cover = np.array([[cover_probability(int(pp), int(nn) + extra) for pp in row] for nn, row in zip(sizes, p)])
    return SeparabilityResult(sizes, alphas, p, separable, certified, cover)
