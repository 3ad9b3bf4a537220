"""Thermodynamic observables from traces: susceptibility, specific heat, Binder cumulant."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import check_beta, check_positive_int, is_concrete
from jaxstat.stats._core import check_trace


# --------------------------------------------------------------------------- #
# boundary checks
# --------------------------------------------------------------------------- #
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
      :math:`\chi`, shape ``m.shape[1:]``, in ``m``'s float dtype. Inside
      ``jit``/``vmap``, a column with ``|m| > 1`` or a negative or NaN beta gives NaN.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> m = jnp.array([0.5, -0.5, 1.0, -1.0])
      >>> round(float(js.stats.susceptibility(m, 0.5, 4)), 4)
      0.125
      >>> round(float(js.stats.susceptibility(m, 0.5, 4, absolute=False)), 4)
      1.25
    """
    m = check_trace(m, "m")
    n_spins = check_positive_int(n_spins, "n_spins")
    if is_concrete(m) and m.size:
        largest = float(jnp.max(jnp.abs(m)))
        if largest > 1 + 1e-5:  # float32 means of ±1 can exceed 1 by rounding, never by 1e-5
            raise ValueError(
                f"m must be the magnetization per spin, |m| <= 1 (the mean of the spins, not their sum); "
                f"got max |m| = {largest:.4g}"
            )
    beta = _betas(beta, m.dtype, m.shape[1:])
    chi = _fluctuation(m, beta, jnp.asarray(n_spins), absolute=bool(absolute))
    # Inside jit/vmap the checks above cannot see values: a total instead of a per-spin
    # magnetization, or a negative or NaN beta, gives NaN rather than a plausible number.
    ok = (jnp.max(jnp.abs(m), axis=0) <= 1 + 1e-5) & (beta >= 0)
    return jnp.where(ok, chi, jnp.nan)


def specific_heat(e, beta, n_spins: int):
    r"""Specific heat per spin from energy-per-spin samples.

    .. math:: c = \beta^2 N \left(\langle e^2 \rangle - \langle e \rangle^2\right)
              = \frac{\beta^2}{N}\,\mathrm{Var}(E), \qquad e = E / N .

    Args:
      e: samples of the energy per spin, shape ``(n_samples, ...)``.
      beta: inverse temperature >= 0, a scalar or one per trailing column.
      n_spins: the number of spins N.

    Returns:
      :math:`c`, shape ``e.shape[1:]``, in ``e``'s float dtype. Inside
      ``jit``/``vmap``, a negative or NaN beta gives NaN.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> e = jnp.array([-2.0, -1.0, -2.0, -1.0])
      >>> round(float(js.stats.specific_heat(e, 0.5, 4)), 4)
      0.25
    """
    e = check_trace(e, "e")
    n_spins = check_positive_int(n_spins, "n_spins")
    beta = _betas(beta, e.dtype, e.shape[1:])
    c = _fluctuation(e, beta, jnp.asarray(n_spins), square_beta=True)
    return jnp.where(beta >= 0, c, jnp.nan)  # a traced negative beta would square to a plausible one


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
    return _binder(check_trace(m, "m"))


@jax.jit
def _binder(m):
    m2 = jnp.mean(m * m, axis=0)
    m4 = jnp.mean((m * m) ** 2, axis=0)
    return 1 - m4 / (3 * m2 * m2)
