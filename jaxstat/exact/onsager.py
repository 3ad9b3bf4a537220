"""Onsager's exact results for the 2D square lattice, and elliptic integrals by the AGM."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, is_concrete

# --------------------------------------------------------------------------- #
# complete elliptic integrals (arithmetic-geometric mean)
# --------------------------------------------------------------------------- #
# Quadratic convergence: AGM(1, k') settles in ~log2(ln(4/k')) + 5 steps, 12
# for k' = 1e-16. Callers form k' from 1 - k or 1 - 2 tanh^2, so it is either
# exactly 0 (handled separately) or >= ~1e-8; 24 steps leave a wide margin.
_AGM_STEPS = 24


def _agm_ke(kp, y0):
    r"""(M, delta, S) for the AGM of (1, k'), given k' and y0 = 1 - k' (0 <= k' <= 1).

    M = AGM(1, k') = pi / (2 K), delta = 1 - M (computed without cancellation
    by tracking 1 - a_n and 1 - b_n), and S = sum_n 2^(n-1) c_n^2 with
    c_0^2 = k^2, so that E = K (1 - S) and K - E = K S. Both k' and y0 are
    passed so that each can be formed accurately by the caller.
    """

    def step(n, carry):
        a, b, da, db, q, s = carry
        a_next = (a + b) / 2
        b_next = jnp.sqrt(a * b)
        da, db = (da + db) / 2, (da + db - da * db) / (1 + b_next)
        q = (q / (4 * a_next)) ** 2  # c_n = c_{n-1}^2 / (4 a_n), q_n = c_n^2
        s = s + jnp.exp2(n - 1).astype(q.dtype) * q
        return a_next, b_next, da, db, q, s

    q0 = y0 * (1 + kp)  # c_0^2 = k^2 = 1 - k'^2
    init = (jnp.ones_like(y0), kp, jnp.zeros_like(y0), y0, q0, q0 / 2)
    a, _, da, _, _, s = jax.lax.fori_loop(1, _AGM_STEPS, step, init)
    return a, da, s


def _k_e(kp, y0):
    m, _, s = _agm_ke(kp, y0)
    kp_zero = kp == 0  # k = 1: K diverges, E = 1
    K = jnp.where(kp_zero, jnp.inf, (jnp.pi / 2) / m)
    E = jnp.where(kp_zero, 1.0, K * (1 - s))
    return K, E


@jax.jit
def _elliptic_ke(k):
    kp = jnp.sqrt((1 - k) * (1 + k))
    return _k_e(kp, k**2 / (1 + kp))  # y0 = 1 - k' without cancellation


def _check_modulus(k, name="k"):
    k = as_float_array(k, name)
    if is_concrete(k):
        kn = np.asarray(k)
        bad = ~(np.abs(kn) <= 1)
        if bad.any():
            raise ValueError(f"{name} must be an elliptic modulus in [-1, 1]; got {kn[bad].ravel()[0]!r}")
    return k


def elliptic_k(k):
    r"""Complete elliptic integral of the first kind, modulus :math:`k`.

    .. math:: K(k) = \int_0^{\pi/2} \frac{d\theta}{\sqrt{1 - k^2 \sin^2\theta}}
              = \frac{\pi}{2\,\mathrm{AGM}(1, \sqrt{1-k^2})} .

    Note ``scipy.special.ellipk`` takes the parameter :math:`m = k^2`.
    Elementwise, dtype-preserving, jit-friendly; ``K(±1) = inf``.

    Example:
      >>> import jaxstat as js
      >>> round(float(js.exact.elliptic_k(0.5)), 6)
      1.68575
    """
    return _elliptic_ke(_check_modulus(k))[0]


def elliptic_e(k):
    r"""Complete elliptic integral of the second kind, modulus :math:`k`.

    .. math:: E(k) = \int_0^{\pi/2} \sqrt{1 - k^2 \sin^2\theta}\, d\theta
              = K(k) \Big[1 - \sum_{n \ge 0} 2^{n-1} c_n^2\Big],

    with the AGM sequence :math:`a_0 = 1, b_0 = \sqrt{1-k^2}, c_0 = k`,
    :math:`c_{n+1} = (a_n - b_n)/2`. ``scipy.special.ellipe`` takes
    :math:`m = k^2`. ``E(±1) = 1``.

    Example:
      >>> import jaxstat as js
      >>> round(float(js.exact.elliptic_e(0.5)), 6)
      1.467462
    """
    return _elliptic_ke(_check_modulus(k))[1]


# --------------------------------------------------------------------------- #
# Onsager
# --------------------------------------------------------------------------- #
def _check_temperature(T):
    T = as_float_array(T, "T")
    if is_concrete(T):
        Tn = np.asarray(T)
        bad = ~(Tn > 0)
        if bad.any():
            raise ValueError(
                f"temperature T must be > 0 (and not NaN); got {int(bad.sum())} bad value(s), "
                f"e.g. {Tn[bad].ravel()[0]!r}"
            )
        return T
    # traced (inside jit/vmap): T <= 0 cannot raise, so it becomes NaN, never a plausible value
    return jnp.where(T > 0, T, jnp.nan)


def onsager_tc() -> float:
    r"""Critical temperature of the 2D square-lattice Ising model (J = 1):
    :math:`T_c = 2 / \ln(1 + \sqrt 2)`, where :math:`\sinh(2/T_c) = 1`.

    Example:
      >>> import jaxstat as js
      >>> round(js.exact.onsager_tc(), 6)
      2.269185
    """
    return 2.0 / math.log(1.0 + math.sqrt(2.0))


def onsager_magnetization(T):
    r"""Spontaneous magnetization per spin (Onsager–Yang), J = 1:

    .. math:: m(T) = \left[1 - \sinh^{-4}(2/T)\right]^{1/8} \ (T < T_c), \qquad 0 \ (T \ge T_c).

    Args:
      T: temperatures > 0, any shape (``inf`` allowed).

    Returns:
      Array like ``T`` (float dtype preserved).

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> [round(x, 4) for x in js.exact.onsager_magnetization(jnp.array([1.0, 2.0, 3.0])).tolist()]
      [0.9993, 0.9113, 0.0]
    """
    return _onsager_m(_check_temperature(T))


@jax.jit
def _onsager_m(T):
    below = T < onsager_tc()
    inv_sinh = 1 / jnp.sinh(2 / jnp.where(below, T, 1))
    base = jnp.where(below, jnp.maximum(1 - inv_sinh**4, 0), 1)
    return jnp.where(below, base**0.125, 0).astype(T.dtype)


def _onsager_parts(T):
    """Shared pieces: b = 1/T, t = tanh 2b, sech^2 2b, the AGM outputs, k', and the
    bracket 1 + (2/pi)(2t^2 - 1) K(k) of the energy."""
    b = 1 / T
    t = jnp.tanh(2 * b)
    sech2 = (1 / jnp.cosh(2 * b)) ** 2  # not 1 - t^2: no cancellation at low T
    above = 2 * t**2 < 1
    # y0 = 1 - k', k' = |1 - 2 t^2| the complementary modulus of k = 2 t sech 2b
    y0 = jnp.where(above, 2 * t**2, 2 * sech2)
    kp = jnp.abs(1 - 2 * t**2)
    M, delta, S = _agm_ke(kp, y0)
    # (2/pi) (2 t^2 - 1) K = -(1 - 2 t^2) / M; with 1 - 2t^2 = +-k'
    kp_over_m = jnp.where(kp == 0, 0.0, kp / M)
    # bracket = 1 + (2/pi)(2t^2 - 1) K, accurate at high T where it is O(b^2)
    bracket = jnp.where(above, (y0 - delta) / M, 1 + kp_over_m)
    bracket = jnp.where(kp == 0, 1.0, bracket)
    return b, t, sech2, M, S, kp, bracket


def onsager_energy(T):
    r"""Internal energy per spin of the infinite square lattice (J = 1):

    .. math::
       u(T) = -\coth(2\beta)\left[1 + \frac{2}{\pi}\left(2\tanh^2(2\beta) - 1\right) K(k)\right],
       \qquad k = \frac{2\sinh(2\beta)}{\cosh^2(2\beta)}, \quad \beta = 1/T,

    with :math:`K` the complete elliptic integral of the first kind
    (:func:`elliptic_k`). :math:`u \to -2` as :math:`T \to 0`,
    :math:`u(T_c) = -\sqrt 2`, :math:`u \to 0` as :math:`T \to \infty`.

    Args:
      T: temperatures > 0, any shape (``inf`` allowed).

    Returns:
      Array like ``T`` (float dtype preserved).

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> u = js.exact.onsager_energy(jnp.array([1.0, js.exact.onsager_tc(), 10.0]))
      >>> u.dtype, [round(x, 4) for x in u.tolist()]
      (dtype('float32'), [-1.9972, -1.4142, -0.2034])
    """
    return _onsager_u(_check_temperature(T))


@jax.jit
def _onsager_u(T):
    b, t, sech2, M, S, kp, bracket = _onsager_parts(T)
    u = -bracket / jnp.where(t == 0, 1, t)
    return jnp.where(t == 0, 0.0, u).astype(T.dtype)


def onsager_specific_heat(T):
    r"""Specific heat per spin :math:`c = du/dT` of the infinite square lattice (J = 1):

    .. math::
       c(T) = \frac{4}{\pi}\left(\beta\coth 2\beta\right)^2
       \Big\{K(k) - E(k) - \left(1 - \tanh^2 2\beta\right)
       \Big[\frac{\pi}{2} + \left(2\tanh^2 2\beta - 1\right)K(k)\Big]\Big\},

    :math:`k` as in :func:`onsager_energy`, :math:`E` the complete elliptic
    integral of the second kind. Diverges logarithmically at :math:`T_c`
    (``inf`` exactly there).

    Args:
      T: temperatures > 0, any shape (``inf`` allowed).

    Returns:
      Array like ``T`` (float dtype preserved).

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> [round(x, 4) for x in js.exact.onsager_specific_heat(jnp.array([1.0, 2.0, 3.0])).tolist()]
      [0.0234, 0.7249, 0.4014]
    """
    return _onsager_c(_check_temperature(T))


@jax.jit
def _onsager_c(T):
    b, t, sech2, M, S, kp, bracket = _onsager_parts(T)
    K = (jnp.pi / 2) / M
    k_minus_e = jnp.where(kp == 0, jnp.inf, K * S)
    braces = k_minus_e - sech2 * (jnp.pi / 2) * bracket
    prefactor = jnp.where(t == 0, 0.5, b / jnp.where(t == 0, 1, t)) ** 2
    c = jnp.where(t == 0, 0.0, (4 / jnp.pi) * prefactor * braces)
    return jnp.maximum(c, 0).astype(T.dtype)
