r"""Observables and Monte Carlo error analysis.

Every function reads a *trace*: an array whose axis 0 is Monte Carlo time
(``n_samples``) and whose trailing axes are kept, so a trace of shape
``(n_samples, n_temperatures)`` gives one result per temperature. The
functions are pure ``jax.numpy`` code and also work under ``jax.vmap`` and
``jax.jit`` (then only shapes are validated, not values). Float dtypes are
preserved: float32 in, float32 out; float64 under ``jax_enable_x64``.

Autocorrelation convention (Sokal)
----------------------------------
For a stationary series with normalized autocorrelation :math:`\rho(t)`,

.. math:: \tau_{\rm int} = \tfrac12 + \sum_{t \ge 1} \rho(t),
          \qquad \mathrm{Var}(\bar x) \simeq \frac{2 \tau_{\rm int}\, \sigma^2}{n},
          \qquad n_{\rm eff} = \frac{n}{2 \tau_{\rm int}} .

Uncorrelated data have :math:`\tau_{\rm int} = 1/2` and :math:`n_{\rm eff} = n`;
an AR(1) process with coefficient :math:`\phi` has
:math:`\tau_{\rm int} = (1+\phi) / (2(1-\phi))`. (emcee and ArviZ report
:math:`1 + 2\sum_{t\ge1}\rho(t) = 2\tau_{\rm int}` instead; the effective
sample size is the same in both conventions.)
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, check_beta, check_positive_int, is_concrete

__all__ = [
    "susceptibility",
    "specific_heat",
    "binder_cumulant",
    "autocorrelation",
    "integrated_autocorrelation_time",
    "effective_sample_size",
    "binning_error",
    "blocking_levels",
    "blocking_error",
    "mean_and_error",
]


# --------------------------------------------------------------------------- #
# boundary checks
# --------------------------------------------------------------------------- #
def _trace(x, name: str = "x", min_samples: int = 1):
    """A floating array with a leading time axis of at least ``min_samples``."""
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


def _betas(beta, dtype, result_shape, name: str = "beta"):
    """A scalar beta, or an array of betas broadcastable to the per-trace result shape."""
    if jnp.ndim(beta) == 0:
        check_beta(beta, name)
    else:
        try:
            ok = jnp.broadcast_shapes(jnp.shape(beta), tuple(result_shape)) == tuple(result_shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{name} must be a scalar or broadcast to the trailing shape {tuple(result_shape)} "
                f"of the trace (one beta per column); got shape {jnp.shape(beta)}"
            )
        if is_concrete(beta):
            arr = np.asarray(beta)
            if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr) or arr.dtype == bool:
                raise ValueError(f"{name} must hold real numbers >= 0; got dtype {arr.dtype}")
            if np.isnan(arr).any():
                raise ValueError(f"{name} must be >= 0 (inverse temperature); got NaN")
            if (arr < 0).any():
                raise ValueError(f"{name} must be >= 0 (inverse temperature); got min {arr.min()}")
    return jnp.asarray(beta).astype(dtype)


@functools.partial(jax.jit, static_argnames=("absolute", "square_beta"))
def _fluctuation(x, beta, n_spins, absolute=False, square_beta=False):
    var = jnp.var(jnp.abs(x) if absolute else x, axis=0)  # two-pass: no <x^2> - <x>^2 cancellation
    if square_beta:
        beta = beta * beta
    # beta = inf with a frozen trace is a T = 0 limit: no fluctuations, response 0 (not inf * 0 = NaN).
    return jnp.where(var == 0, jnp.zeros_like(var), beta * n_spins.astype(x.dtype) * var)


# --------------------------------------------------------------------------- #
# thermodynamic observables
# --------------------------------------------------------------------------- #
def susceptibility(m, beta, n_spins: int, absolute: bool = True):
    r"""Magnetic susceptibility from magnetization-per-spin samples.

    .. math:: \chi = \beta N \left(\langle m^2 \rangle - \langle |m| \rangle^2\right)

    ``absolute=False`` uses :math:`\langle m \rangle` instead of
    :math:`\langle |m| \rangle` (in a finite system without a field
    :math:`\langle m \rangle = 0` by symmetry, so the ``|m|`` form is the one
    that tracks the ordered phase).

    Args:
      m: samples of :math:`m = \frac1N\sum_i s_i`, shape ``(n_samples, ...)``.
      beta: inverse temperature >= 0: a scalar, or one per trailing column
        (broadcastable to ``m.shape[1:]``). With ``inf``, a trace without
        fluctuations gives 0.
      n_spins: the number of spins N.
      absolute: use :math:`\langle |m| \rangle` (default) or :math:`\langle m \rangle`.

    Returns:
      :math:`\chi`, shape ``m.shape[1:]``, in ``m``'s float dtype.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> m = jnp.array([0.5, -0.5, 1.0, -1.0])
      >>> round(float(js.stats.susceptibility(m, 0.5, 4)), 4)
      0.125
      >>> round(float(js.stats.susceptibility(m, 0.5, 4, absolute=False)), 4)
      1.25
    """
    m = _trace(m, "m")
    n_spins = check_positive_int(n_spins, "n_spins")
    beta = _betas(beta, m.dtype, m.shape[1:])
    return _fluctuation(m, beta, jnp.asarray(n_spins), absolute=bool(absolute))


def specific_heat(e, beta, n_spins: int):
    r"""Specific heat per spin from energy-per-spin samples.

    .. math:: c = \beta^2 N \left(\langle e^2 \rangle - \langle e \rangle^2\right)
              = \frac{\beta^2}{N}\,\mathrm{Var}(E), \qquad e = E / N .

    Args:
      e: samples of the energy per spin, shape ``(n_samples, ...)``.
      beta: inverse temperature >= 0, a scalar or one per trailing column.
      n_spins: the number of spins N.

    Returns:
      :math:`c`, shape ``e.shape[1:]``, in ``e``'s float dtype.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> e = jnp.array([-2.0, -1.0, -2.0, -1.0])
      >>> round(float(js.stats.specific_heat(e, 0.5, 4)), 4)
      0.25
    """
    e = _trace(e, "e")
    n_spins = check_positive_int(n_spins, "n_spins")
    beta = _betas(beta, e.dtype, e.shape[1:])
    return _fluctuation(e, beta, jnp.asarray(n_spins), square_beta=True)


def binder_cumulant(m):
    r"""Binder cumulant :math:`U = 1 - \langle m^4 \rangle / (3 \langle m^2 \rangle^2)`.

    :math:`U \to 2/3` in the ordered phase (:math:`m = \pm m_0`) and
    :math:`U \to 0` in the disordered phase (Gaussian :math:`m`); curves for
    different sizes cross at the critical point. A trace that is identically
    zero gives NaN.

    Args:
      m: magnetization samples, shape ``(n_samples, ...)``.

    Returns:
      :math:`U`, shape ``m.shape[1:]``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> round(float(js.stats.binder_cumulant(jnp.array([0.8, -0.8, 0.8]))), 4)
      0.6667
    """
    return _binder(_trace(m, "m"))


@jax.jit
def _binder(m):
    m2 = jnp.mean(m * m, axis=0)
    m4 = jnp.mean((m * m) ** 2, axis=0)
    return 1 - m4 / (3 * m2 * m2)


# --------------------------------------------------------------------------- #
# autocorrelation
# --------------------------------------------------------------------------- #
@functools.partial(jax.jit, static_argnames="max_lag")
def _acf(x, max_lag):
    n = x.shape[0]
    nfft = 1 << (2 * n - 1).bit_length()  # zero padding >= 2n - 1: no circular wrap-around
    d = x - jnp.mean(x, axis=0)
    f = jnp.fft.rfft(d, n=nfft, axis=0)
    cov = jnp.fft.irfft(f * jnp.conj(f), n=nfft, axis=0)[: max_lag + 1]
    return (cov / cov[0]).astype(x.dtype)


def autocorrelation(x, max_lag: int | None = None):
    r"""Normalized autocorrelation function :math:`\rho(t) = C(t) / C(0)`, by FFT.

    .. math:: C(t) = \frac1n \sum_{i=0}^{n-1-t} (x_i - \bar x)(x_{i+t} - \bar x)

    This is the standard (biased, positive semi-definite) estimator; the
    series is zero-padded to at least :math:`2n - 1` points so the FFT gives
    the linear, not the circular, correlation. :math:`\rho(0) = 1`; a
    constant series has no defined autocorrelation and gives NaN.

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
    x = _trace(x, "x", 2)
    n = x.shape[0]
    if max_lag is None:
        max_lag = n - 1
    max_lag = check_positive_int(max_lag, "max_lag", minimum=0)
    if max_lag >= n:
        raise ValueError(f"max_lag must be < n_samples = {n} (the length of axis 0); got {max_lag}")
    return _acf(x, max_lag)


@jax.jit
def _tau_int(x, c):
    rho = _acf(x, x.shape[0] - 1)
    tau = jnp.cumsum(rho, axis=0) - 0.5  # tau(W) = 1/2 + sum_{t=1}^{W} rho(t)
    lags = jnp.arange(x.shape[0], dtype=x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
    ok = lags >= c * tau
    # No W passes when the run is shorter than ~c tau: fall back to the full sum (unreliable).
    window = jnp.where(ok.any(axis=0), jnp.argmax(ok, axis=0), x.shape[0] - 1)
    return jnp.take_along_axis(tau, window[None], axis=0)[0]


def _check_c(c):
    if is_concrete(c):
        try:
            value = float(np.asarray(c)) if not isinstance(c, (bool, np.bool_)) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"c (Sokal's window constant) must be a finite number > 0; got {c!r}")


def integrated_autocorrelation_time(x, c: float = 5.0):
    r"""Integrated autocorrelation time with Sokal's automatic window.

    .. math:: \tau_{\rm int}(W) = \tfrac12 + \sum_{t=1}^{W} \rho(t),

    evaluated at the smallest window :math:`W` with :math:`W \ge c\,\tau_{\rm int}(W)`
    (Sokal's convention: 1/2 for uncorrelated data, so the variance of the
    mean is :math:`2\tau_{\rm int}\sigma^2/n`). The statistical error is about
    :math:`\tau_{\rm int}\sqrt{2(2W+1)/n}`; the estimate is reliable when
    :math:`n \gtrsim 1000\,\tau_{\rm int}`. If no window passes (the run is
    too short) the sum runs over every lag. A constant series gives NaN.

    Args:
      x: a trace, shape ``(n_samples, ...)``, ``n_samples >= 2``.
      c: the window constant (Sokal recommends 4 to 6; default 5).

    Returns:
      :math:`\tau_{\rm int}`, shape ``x.shape[1:]``.

    Example:
      >>> import jax, jaxstat as js
      >>> x = jax.random.normal(jax.random.key(0), (10000,))  # uncorrelated
      >>> round(float(js.stats.integrated_autocorrelation_time(x)), 1)
      0.5
    """
    x = _trace(x, "x", 2)
    _check_c(c)
    return _tau_int(x, jnp.asarray(c, x.dtype))


def effective_sample_size(x, c: float = 5.0):
    r"""Effective number of independent samples :math:`n / (2 \tau_{\rm int})`.

    Consistent with :func:`integrated_autocorrelation_time` (Sokal
    convention): uncorrelated data give :math:`n_{\rm eff} \approx n`.

    Example:
      >>> import jax, jaxstat as js
      >>> x = jax.random.normal(jax.random.key(0), (10000,))
      >>> round(float(js.stats.effective_sample_size(x)) / 10000, 1)
      1.0
    """
    x = _trace(x, "x", 2)
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
    x = _trace(x, "x")
    if x.shape[0] < n_bins:
        raise ValueError(
            f"x needs at least n_bins = {n_bins} samples along axis 0 for binning; got shape {tuple(x.shape)}"
        )
    return _binning(x, n_bins)


@functools.partial(jax.jit, static_argnames="min_blocks")
def _levels(x, min_blocks):
    ses = []
    while x.shape[0] >= min_blocks:
        k = x.shape[0]
        ses.append(jnp.std(x, axis=0, ddof=1) / math.sqrt(k))
        half = k // 2  # an odd last sample is dropped
        x = jnp.mean(x[: 2 * half].reshape((half, 2) + x.shape[1:]), axis=1)
    return jnp.stack(ses)


def _check_blocking(x, min_blocks):
    min_blocks = check_positive_int(min_blocks, "min_blocks", minimum=2)
    x = _trace(x, "x")
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
    se = _levels(x, min_blocks)
    return 2 ** np.arange(se.shape[0]), se


@functools.partial(jax.jit, static_argnames=("n", "rule"))
def _select_level(se, n, rule):
    if rule == "max":
        return jnp.max(se, axis=0)
    n_levels = se.shape[0]
    k = np.arange(n_levels, dtype=np.float64).reshape((-1,) + (1,) * (se.ndim - 1))
    # Lee et al. / Wolff: the first level with B^3 > 2 n (2 tau_int)^2, where
    # (SE_k / SE_0)^2 estimates 2 tau_int; compared in logs so B^3 cannot overflow.
    ok = jnp.asarray(3 * math.log(2) * k, se.dtype) > math.log(2 * n) + 4 * jnp.log(se / se[0])
    level = jnp.where(ok.any(axis=0), jnp.argmax(ok, axis=0), n_levels - 1)
    return jnp.take_along_axis(se, level[None], axis=0)[0]


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
    return _select_level(_levels(x, min_blocks), x.shape[0], rule)


def mean_and_error(x, min_blocks: int = 32, rule: str = "plateau"):
    r"""``(mean, stderr)``: the mean along axis 0 and its :func:`blocking_error`.

    Example:
      >>> import jax, jaxstat as js
      >>> x = 3.0 + jax.random.normal(jax.random.key(1), (4096,))
      >>> mean, err = js.stats.mean_and_error(x)
      >>> bool(abs(float(mean) - 3.0) < 4 * float(err)), bool(0.8 < float(err) * 64 < 1.2)
      (True, True)
    """
    return jnp.mean(_trace(x, "x"), axis=0), blocking_error(x, min_blocks, rule)
