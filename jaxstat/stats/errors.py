"""Monte Carlo error analysis: autocorrelation, tau_int, effective sample size, binning, blocking."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import check_positive_int, is_concrete
from jaxstat.stats._core import block_stderrs, check_trace, select_level


# --------------------------------------------------------------------------- #
# autocorrelation
# --------------------------------------------------------------------------- #
@functools.partial(jax.jit, static_argnames=("max_lag", "chain_axis"))
def _acf(x, max_lag, chain_axis=None):
    """Normalized autocorrelation along axis 0; with ``chain_axis`` the mean is pooled over
    that axis and the autocovariances are averaged over it (the axis is removed)."""
    n = x.shape[0]
    nfft = 1 << (2 * n - 1).bit_length()  # zero padding >= 2n - 1: no circular wrap-around
    pooled = (0,) if chain_axis is None else (0, chain_axis)
    d = x - jnp.mean(x, axis=pooled, keepdims=True)
    f = jnp.fft.rfft(d, n=nfft, axis=0)
    cov = jnp.fft.irfft(f * jnp.conj(f), n=nfft, axis=0)[: max_lag + 1]
    # A series constant to rounding (a frozen chain) leaves a residual of a few ulps after
    # the mean is subtracted, whose "autocorrelation" is noise: give NaN, as for an exact constant.
    ulp = jnp.finfo(cov.dtype).eps * jnp.max(jnp.abs(x), axis=pooled)
    frozen = jnp.max(jnp.abs(d), axis=pooled) <= 64 * ulp
    if chain_axis is not None:
        cov = jnp.sum(cov, axis=chain_axis)
    return jnp.where(frozen, jnp.nan, cov / cov[0]).astype(x.dtype)


def autocorrelation(x, max_lag: int | None = None):
    r"""Normalized autocorrelation function :math:`\rho(t) = C(t) / C(0)`, by FFT.

    .. math:: C(t) = \frac1n \sum_{i=0}^{n-1-t} (x_i - \bar x)(x_{i+t} - \bar x)

    This is the standard (biased, positive semi-definite) estimator; the
    series is zero-padded to at least :math:`2n - 1` points so the FFT gives
    the linear, not the circular, correlation. :math:`\rho(0) = 1`; a
    constant series (to 64 ulps of its largest value: a frozen chain) has no
    defined autocorrelation and gives NaN.

    Args:
      x: a trace, shape ``(n_samples, ...)``, ``n_samples >= 2``.
      max_lag: the last lag returned, ``0 <= max_lag < n_samples``
        (default ``n_samples - 1``).

    Returns:
      :math:`\rho(0), \dots, \rho(\text{max\_lag})`, shape ``(max_lag + 1, ...)``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> rho = js.stats.autocorrelation(jnp.array([1.0, -1.0, 1.0, -1.0]))
      >>> [round(float(r), 4) for r in rho]
      [1.0, -0.75, 0.5, -0.25]
    """
    x = check_trace(x, "x", 2)
    n = x.shape[0]
    if max_lag is None:
        max_lag = n - 1
    max_lag = check_positive_int(max_lag, "max_lag", minimum=0)
    if max_lag >= n:
        raise ValueError(f"max_lag must be < n_samples = {n} (the length of axis 0); got {max_lag}")
    return _acf(x, max_lag)


@functools.partial(jax.jit, static_argnames="chain_axis")
def _tau_int(x, c, chain_axis=None):
    rho = _acf(x, x.shape[0] - 1, chain_axis)
    tau = jnp.cumsum(rho, axis=0) - 0.5  # tau(W) = 1/2 + sum_{t=1}^{W} rho(t)
    lags = jnp.arange(x.shape[0], dtype=x.dtype).reshape((-1,) + (1,) * (rho.ndim - 1))
    ok = lags >= c * tau
    # No W passes when the run is shorter than ~c tau: fall back to the full sum (unreliable).
    window = jnp.where(ok.any(axis=0), jnp.argmax(ok, axis=0), x.shape[0] - 1)
    tau = jnp.take_along_axis(tau, window[None], axis=0)[0]
    # A traced window constant cannot be refused at the boundary: c <= 0 or NaN would select
    # W = 0 and report uncorrelated data, so it gives NaN instead.
    return jnp.where(c > 0, tau, jnp.nan)


def _check_c(c):
    if is_concrete(c):
        try:
            value = float(np.asarray(c)) if not isinstance(c, (bool, np.bool_)) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"c (Sokal's window constant) must be a finite number > 0; got {c!r}")


def integrated_autocorrelation_time(x, c: float = 5.0, chain_axis: int | None = None):
    r"""Integrated autocorrelation time with Sokal's automatic window.

    .. math:: \tau_{\rm int}(W) = \tfrac12 + \sum_{t=1}^{W} \rho(t),

    evaluated at the smallest window :math:`W` with :math:`W \ge c\,\tau_{\rm int}(W)`
    (Sokal's convention: 1/2 for uncorrelated data, so the variance of the
    mean is :math:`2\tau_{\rm int}\sigma^2/n`). The statistical error is about
    :math:`\tau_{\rm int}\sqrt{2(2W+1)/n}`; the estimate is reliable when
    :math:`n \gtrsim 1000\,\tau_{\rm int}`. If no window passes (the run is
    too short) the sum runs over every lag. A constant series (to rounding:
    a frozen chain) gives NaN, and so does its :func:`effective_sample_size`.
    Inside ``jit``/``vmap`` a NaN in the trace or a window constant ``c <= 0``
    gives NaN.

    Args:
      x: a trace, shape ``(n_samples, ...)``, ``n_samples >= 2``.
      c: the window constant (Sokal recommends 4 to 6; default 5).
      chain_axis: an axis of ``x`` (>= 1) that indexes independent chains of
        the same process, e.g. vmapped runs. Their mean is pooled and their
        autocovariances averaged, so one estimate comes from all chains
        (that axis is removed). For many short chains this matters: each
        chain's own mean biases :math:`\tau_{\rm int}` low by a relative
        :math:`\sim 2\tau_{\rm int}/n`, and averaging per-chain estimates
        keeps that bias.

    Returns:
      :math:`\tau_{\rm int}`, shape ``x.shape[1:]`` (without ``chain_axis``).

    Example:
      >>> import jax, jaxstat as js
      >>> x = jax.random.normal(jax.random.key(0), (10000,))  # uncorrelated
      >>> round(float(js.stats.integrated_autocorrelation_time(x)), 1)
      0.5
      >>> x = jax.random.normal(jax.random.key(1), (2000, 8))  # 8 chains
      >>> round(float(js.stats.integrated_autocorrelation_time(x, chain_axis=1)), 1)
      0.5
    """
    x = check_trace(x, "x", 2)
    _check_c(c)
    if chain_axis is not None:
        if isinstance(chain_axis, (bool, np.bool_)) or not isinstance(chain_axis, (int, np.integer)) or not (
            1 <= chain_axis < x.ndim
        ):
            raise ValueError(
                f"chain_axis must be an axis of x after the time axis 0, i.e. in [1, {x.ndim - 1}]; got {chain_axis!r}"
            )
        chain_axis = int(chain_axis)
    return _tau_int(x, jnp.asarray(c, x.dtype), chain_axis)


def effective_sample_size(x, c: float = 5.0):
    r"""Effective number of independent samples :math:`n / (2 \tau_{\rm int})`.

    Consistent with :func:`integrated_autocorrelation_time` (Sokal
    convention): uncorrelated data give :math:`n_{\rm eff} \approx n`.

    Args:
      x: a trace, shape ``(n_samples, ...)``, ``n_samples >= 2``, finite.
      c: Sokal's window constant, a finite number > 0.

    Returns:
      :math:`n_{\rm eff}`, shape ``x.shape[1:]``. A constant (frozen) trace
      gives NaN; so do, inside ``jit``/``vmap`` where they cannot raise, a
      NaN in the trace and a traced ``c <= 0``.

    Example:
      >>> import jax, jaxstat as js
      >>> x = jax.random.normal(jax.random.key(0), (10000,))
      >>> round(float(js.stats.effective_sample_size(x)) / 10000, 1)
      1.0
      >>> js.stats.effective_sample_size(x[:1])
      Traceback (most recent call last):
      ...
      ValueError: x needs at least 2 sample(s) along axis 0 (Monte Carlo time); got shape (1,)
    """
    x = check_trace(x, "x", 2)
    _check_c(c)
    return x.shape[0] / (2 * _tau_int(x, jnp.asarray(c, x.dtype)))


# --------------------------------------------------------------------------- #
# error bars of the mean
# --------------------------------------------------------------------------- #
@functools.partial(jax.jit, static_argnames="n_bins")
def _binning(x, n_bins):
    size = x.shape[0] // n_bins
    bins = x[x.shape[0] - n_bins * size :].reshape((n_bins, size) + x.shape[1:])
    return jnp.std(jnp.mean(bins, axis=1), axis=0, ddof=1) / math.sqrt(n_bins)


def binning_error(x, n_bins: int = 32):
    r"""Standard error of the mean from ``n_bins`` non-overlapping bins.

    The trace is cut into ``n_bins`` bins of ``b = n_samples // n_bins``
    consecutive samples (the first ``n_samples % n_bins`` samples, the ones
    nearest burn-in, are dropped) and

    .. math:: \mathrm{SE} = \sqrt{\frac{1}{n_{\rm bins}(n_{\rm bins}-1)}
              \sum_k (\bar x_k - \bar{\bar x})^2 } .

    Unbiased when :math:`b \gg \tau_{\rm int}`; its relative error is about
    :math:`1/\sqrt{2(n_{\rm bins}-1)}`.

    Args:
      x: a trace, shape ``(n_samples, ...)`` with ``n_samples >= n_bins``.
      n_bins: number of bins, >= 2 (default 32).

    Returns:
      The standard error, shape ``x.shape[1:]``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> x = jnp.arange(1.0, 9.0)  # bins (1, 2), (3, 4), ... have means 1.5, 3.5, 5.5, 7.5
      >>> round(float(js.stats.binning_error(x, n_bins=4)), 4)
      1.291
    """
    n_bins = check_positive_int(n_bins, "n_bins", minimum=2)
    x = check_trace(x, "x")
    if x.shape[0] < n_bins:
        raise ValueError(
            f"x needs at least n_bins = {n_bins} samples along axis 0 for binning; got shape {tuple(x.shape)}"
        )
    return _binning(x, n_bins)


def _check_blocking(x, min_blocks):
    min_blocks = check_positive_int(min_blocks, "min_blocks", minimum=2)
    x = check_trace(x, "x")
    if x.shape[0] < min_blocks:
        raise ValueError(
            f"x needs at least min_blocks = {min_blocks} samples along axis 0 for blocking; "
            f"got shape {tuple(x.shape)}"
        )
    return x, min_blocks


def blocking_levels(x, min_blocks: int = 32):
    r"""The Flyvbjerg–Petersen blocking curve: the naive standard error at each level.

    Level :math:`k` averages the trace in blocks of :math:`B = 2^k` samples
    (by repeatedly averaging neighbouring pairs) and reports
    :math:`\mathrm{SE}_k = s_k / \sqrt{n_k}`, with :math:`s_k` the sample
    standard deviation of its :math:`n_k` blocks. Levels run while
    :math:`n_k \ge` ``min_blocks``. For correlated data :math:`\mathrm{SE}_k`
    rises with :math:`k` to a plateau at the true standard error; its own
    relative error is about :math:`1/\sqrt{2(n_k - 1)}`.

    Returns:
      ``(block_sizes, stderrs)``: a NumPy int array ``[1, 2, 4, ...]`` and
      an array of shape ``(n_levels,) + x.shape[1:]``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> sizes, se = js.stats.blocking_levels(jnp.arange(64.0), min_blocks=16)
      >>> sizes.tolist(), se.shape
      ([1, 2, 4], (3,))
    """
    x, min_blocks = _check_blocking(x, min_blocks)
    se = block_stderrs(x, min_blocks)
    return 2 ** np.arange(se.shape[0]), se


def blocking_error(x, min_blocks: int = 32, rule: str = "plateau"):
    r"""Standard error of the mean by Flyvbjerg–Petersen blocking.

    Reports one level of :func:`blocking_levels`:

    * ``rule="plateau"`` (default): the first level where the plateau is
      reached by the criterion of Wolff (2004) and Lee et al. (2011),
      :math:`B^3 > 2 n (\mathrm{SE}_k / \mathrm{SE}_0)^4`, i.e.
      :math:`B^3 > 2n(2\tau_{\rm int})^2`, which balances the bias
      :math:`\sim\tau_{\rm int}/B` of short blocks against the noise
      :math:`\sim\sqrt{B/n}` of few blocks. When no level qualifies (the run
      is too short for its correlation time) the coarsest level is used, and
      the error bar is then likely too small: collect more data.
    * ``rule="max"``: the largest estimate over all levels; conservative (it
      picks up the upward noise of the coarsest levels).

    Args:
      x: a trace, shape ``(n_samples, ...)`` with ``n_samples >= min_blocks``.
      min_blocks: the fewest blocks a level may have (default 32, i.e. a
        relative error of the error bar of at most about 13%).
      rule: ``"plateau"`` or ``"max"``.

    Returns:
      The standard error of the mean, shape ``x.shape[1:]``.

    Example:
      >>> import jax, jaxstat as js
      >>> x = jax.random.normal(jax.random.key(0), (4096,))  # true SE = 1/64
      >>> bool(0.8 < float(js.stats.blocking_error(x)) * 64 < 1.2)
      True
    """
    if rule not in ("plateau", "max"):
        raise ValueError(f"rule must be 'plateau' or 'max'; got {rule!r}")
    x, min_blocks = _check_blocking(x, min_blocks)
    # two compiled pieces, so blocking_levels and blocking_error share the expensive one
    return select_level(block_stderrs(x, min_blocks), x.shape[0], rule)


def mean_and_error(x, min_blocks: int = 32, rule: str = "plateau"):
    r"""``(mean, stderr)``: the mean along axis 0 and its :func:`blocking_error`.

    Example:
      >>> import jax, jaxstat as js
      >>> x = 3.0 + jax.random.normal(jax.random.key(1), (4096,))
      >>> mean, err = js.stats.mean_and_error(x)
      >>> bool(abs(float(mean) - 3.0) < 4 * float(err)), bool(0.8 < float(err) * 64 < 1.2)
      (True, True)
    """
    return jnp.mean(check_trace(x, "x"), axis=0), blocking_error(x, min_blocks, rule)
