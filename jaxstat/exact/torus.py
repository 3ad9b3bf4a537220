r"""Exact partition function of the 2D Ising model on a finite L x M torus (Kaufman).

Kaufman (Phys. Rev. 76, 1232, 1949) in the form of Ferdinand & Fisher
(Phys. Rev. 185, 832, 1969, eqs. 2.1-2.4): for the zero-field ferromagnet
with uniform coupling :math:`J > 0` on an :math:`n \times m` torus,
:math:`K = \beta J`,

.. math::
   Z = \tfrac12 (2\sinh 2K)^{mn/2} (Z_1 + Z_2 + Z_3 + Z_4), \qquad
   Z_{1,2} = \prod_{r=0}^{n-1} 2\,{\cosh \atop \sinh}\big(\tfrac m2 \gamma_{2r+1}\big), \quad
   Z_{3,4} = \prod_{r=0}^{n-1} 2\,{\cosh \atop \sinh}\big(\tfrac m2 \gamma_{2r}\big),

.. math::
   \cosh\gamma_l = \cosh 2K \coth 2K - \cos(\pi l / n) \ (l \ge 1), \qquad
   \gamma_0 = 2K + \ln\tanh K ,

with :math:`\gamma_l > 0` for :math:`l \ge 1`; :math:`\gamma_0` changes sign
at :math:`K_c = \tfrac12\ln(1+\sqrt2)`, so :math:`Z_4 < 0` above :math:`T_c`.
:math:`Z` is symmetric in the two sides; here ``n = min(L, M)``, ``m = max(L, M)``.
The formula holds for every :math:`n, m \ge 2`, odd or even, in jaxstat's
torus convention (:func:`jaxstat.ising.lattice` with ``periodic=True``: a
side of length 2 couples its pair of sites twice); the tests check this
against enumeration and an independent transfer matrix.

Numerics, in log space so that :math:`L, M \sim 10^3` (:math:`\log Z \sim 10^6`)
neither overflow nor lose the relative weights of the four terms:

- with :math:`s = \sinh 2K` and the duality variable :math:`x = \min(s, 1/s)`,
  :math:`\cosh\gamma_l = 1 + \epsilon_l`, :math:`\epsilon_l = (1-x)^2/x + 2\sin^2(\pi l/2n)`
  and :math:`\gamma_l = \operatorname{log1p}(\epsilon_l + \sqrt{\epsilon_l(\epsilon_l+2)})`
  (no cancellation near :math:`K_c`, where :math:`\epsilon_l \to 0`);
- the prefactor is shared out as :math:`(2s)^{m/2}` per factor, and
  :math:`\tfrac m2(\ln 2s + \gamma_l) = \tfrac m2[\ln 2 + \ln B_l + 2\ln s\,[s>1]]`,
  :math:`B_l = A_l + x + \sqrt{A_l(A_l+2x)}`, :math:`A_l = (1-x)^2 + 2x\sin^2(\pi l/2n)`,
  a sum of positive terms, finite and smooth as :math:`K \to 0` or :math:`\infty`;
- the :math:`l = 0` factors are :math:`e^{m a} \pm e^{m b}` with
  :math:`a = 2K + \ln(1-e^{-2K})`, :math:`b = \ln(1+e^{-2K})`, :math:`a - b = \gamma_0`;
- :math:`Z = \tfrac12 (2s)^{mn/2} Z_1 [1 + Z_2/Z_1 + (Z_3/Z_1)(1 + Z_4/Z_3)]`, a
  signed logsumexp whose log-ratios are summed mode by mode (never as
  differences of two :math:`O(LM)` sums), and whose sign term
  :math:`1 + Z_4/Z_3 = 2\sigma(m\gamma_0)\,e^{\rho} - \operatorname{expm1}(\rho)`,
  :math:`\rho = \sum_{r \ge 1}\ln\tanh(\tfrac m2\gamma_{2r})`, is a sum of two
  positive terms, smooth through :math:`K_c` (where :math:`Z_4 = 0`).

:math:`\langle E\rangle = -\partial_\beta \log Z` and
:math:`\operatorname{Var}E = \partial_\beta^2 \log Z` come from forward-mode
autodiff (``jax.jvp`` twice), with every primitive chosen so that its JAX
derivative keeps relative accuracy (see the comments). The mode arrays are
padded to a power of 2 >= 32 and beta to one >= 8, so all lattices with
``min(L, M)`` in one such bucket share one compilation per dtype.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, is_concrete


class KaufmanResult(NamedTuple):
    r"""Exact zero-field torus statistics (from :func:`kaufman`); every field has beta's shape."""

    log_z: jax.Array  #: :math:`\log Z`, total
    mean_energy: jax.Array  #: :math:`\langle E\rangle = -\partial_\beta \log Z`, total
    energy_variance: jax.Array  #: :math:`\operatorname{Var}E = \partial^2_\beta \log Z`, total
    beta: jax.Array  #: the inverse temperatures
    n_spins: jax.Array  #: :math:`N = LM` (an array, so the result is a pytree of like arrays)

    @property
    def energy_per_spin(self):
        r""":math:`\langle E\rangle / N`."""
        return self.mean_energy / self.n_spins

    @property
    def specific_heat(self):
        r"""Per spin: :math:`c = \beta^2 \operatorname{Var}(E) / N` (as ``ExactResult.specific_heat``)."""
        return self.beta**2 * self.energy_variance / self.n_spins


def _log1mexp(z):
    """log(1 - e^{-z}) for z > 0, value and derivatives accurate at both ends (the
    derivative of expm1 is formed as expm1 + 1, which loses e^{-z} for large z)."""
    small = z < math.log(2)
    return jnp.where(small, jnp.log(-jnp.expm1(-jnp.where(small, z, 1))), jnp.log1p(-jnp.exp(-z)))


def _bucket(k: int, minimum: int) -> int:
    """Arrays are padded to a power of 2 >= minimum, so sizes share compilations."""
    return max(minimum, 1 << (k - 1).bit_length())


@functools.cache
def _modes(n: int):
    """sin^2(pi l / 2n) for the pairs (l, l + 1) = (2r + 1, 2r + 2), r < n, and their
    weights (0 pads; l = 2n is l = 0, done in closed form)."""
    r = np.arange(_bucket(n, 32))
    w = np.stack([r < n, r < n - 1])
    sig = np.where(w, np.sin(np.pi * np.stack([2 * r + 1, 2 * r + 2]) / (2 * n)) ** 2, 0.5)
    return sig, w.astype(float)


def _log_z(K, sig, w, m):
    """log Z of the n x m torus at couplings K > 0 (finite), elementwise in K; n is in sig, w."""
    K = K[..., None, None]
    # s = sinh 2K enters through x = min(s, 1/s) and ln s, neither of which
    # overflows; x is formed directly (not as exp(ln x)) so its derivatives
    # carry no 1/K cancellations at high T. One condition picks every branch.
    ls = 2 * K + _log1mexp(4 * K) - math.log(2)
    hi = ls > 0
    x = jnp.where(hi, 2 * jnp.exp(-2 * K) / (1 - jnp.exp(-4 * K)), jnp.sinh(2 * K))  # 4K > 1.7 if hi
    ln_x, omx = jnp.where(hi, -ls, ls), 1 - x  # (1 - x)^2 only needs absolute accuracy
    A = omx**2 + 2 * sig * x
    ln_b = jnp.log(A + x + jnp.sqrt(A * (A + 2 * x)))
    dressed = (m / 2) * (math.log(2) + ln_b + jnp.where(hi, 2 * ls, 0))  # (m/2)(ln 2s + gamma_l)
    # gamma_l = arccosh(1 + eps) = ln(B / x): log1p form where it is small (x ~ 1),
    # ln B - ln x where x is small; the guard keeps the unused branch finite.
    near = x > 0.3
    eps = omx**2 / jnp.where(near, x, 1) + 2 * sig
    gamma = jnp.where(near, jnp.log1p(eps + jnp.sqrt(eps * (eps + 2))), ln_b - ln_x)
    # m gamma_l >= m arccosh(1 + 2 sin^2(pi / 2n)) > 2.6 for n = min side <= m, so
    # log1p(-2q / (1 + q)) = ln tanh(m gamma / 2) is accurate, derivatives too.
    q = jnp.exp(-m * gamma)
    log_tanh = jnp.log1p(-2 * q / (1 + q))
    log_cosh = dressed + jnp.log1p(q)  # ln[(2s)^{m/2} 2 cosh(m g/2)]
    # l = 0: (2s)^{m/2} 2cosh(m g0/2) = e^{ma} + e^{mb}, and g0 = a - b.
    K = K[..., 0, 0]
    a, b = 2 * K + _log1mexp(2 * K), jnp.log1p(jnp.exp(-2 * K))
    y = m * (a - b) / 2  # m gamma_0 / 2: Z4 has the sign of y
    # logaddexp(ma, mb) by hand: jnp.logaddexp's second derivative cancels
    # (u' - out' with one term dominant) and loses Var E at low T.
    log_c0 = jnp.where(y > 0, m * a, m * b) + jnp.log1p(jnp.exp(-2 * jnp.where(y > 0, y, -y)))
    # log Z1 and the log-ratios Z2/Z1, Z3/Z1, |Z4|/Z3 (without the l = 0 tanh),
    # summed pair by pair so no O(nm) numbers are subtracted.
    c, t = w * log_cosh, w * log_tanh
    terms = [c[..., 0, :], t[..., 0, :], c[..., 1, :] - c[..., 0, :], t[..., 1, :]]
    log_z1, r21, r31, r43 = jnp.sum(jnp.stack(terms), axis=-1)
    r31 = r31 + log_c0
    ref = jax.lax.stop_gradient(jnp.maximum(r31, 0))  # Z1 >= Z2 and Z3 >= |Z4|
    # (Z3 + Z4) / Z3 = 1 + tanh(y) e^{r43} = 2 sigmoid(2y) e^{r43} - expm1(r43): a sum
    # of two terms >= 0 for either sign of y, smooth through K_c, and free of
    # the derivative 1 - tanh^2, which cancels when tanh -> -1 (high T).
    z34 = 2 * jax.nn.sigmoid(2 * y) * jnp.exp(r43) - jnp.expm1(r43)
    total = jnp.exp(-ref) * (1 + jnp.exp(r21)) + jnp.exp(r31 - ref) * z34
    return log_z1 + ref + jnp.log(total) - math.log(2)


@jax.jit
def _kaufman(beta, J, sides, sig, w):
    ok = (beta >= 0) & (beta < jnp.inf) & (J > 0) & (J < jnp.inf)
    # K = 0 is a log singularity of the formula (its 1/K^2 terms overflow float32
    # below K ~ 1e-19). Below K = eps^2 the high-T series N ln 2 + sum ln cosh
    # is exact to rounding, and is used instead.
    hot = beta * J < jnp.finfo(beta.dtype).eps ** 2
    b = jnp.where(ok & ~hot, beta, 1)
    f = lambda b: _log_z(b * J, sig, w, jnp.max(sides))  # n = min side is in sig, w
    f1 = lambda b: jax.jvp(f, (b,), (jnp.ones_like(b),))
    (log_z, d1), (_, d2) = jax.jvp(f1, (b,), (jnp.ones_like(b),))
    # High T: Var E -> sum over distinct pairs of (coupling)^2, where a side of
    # length 2 couples each of its N/2 pairs with 2J.
    n_spins = sides[0] * sides[1]
    var0 = J**2 * n_spins * jnp.sum(1 + (sides == 2))
    log_z = jnp.where(hot, n_spins * math.log(2) + var0 * beta**2 / 2, log_z)
    mean_e = jnp.where(hot, 0 - var0 * beta, -d1)  # 0 - : +0.0 at beta = 0
    var_e = jnp.where(hot, var0, jnp.maximum(d2, 0))  # rounding can dip below 0 at low T
    nan = lambda v: jnp.where(ok, v, jnp.nan).astype(beta.dtype)
    n_spins = jnp.full(beta.shape, n_spins, beta.dtype)
    return KaufmanResult(nan(log_z), nan(mean_e), nan(var_e), beta, n_spins)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_torus_shape(shape) -> tuple:
    try:
        sides = tuple(shape)
    except TypeError:
        sides = ()
    if len(sides) != 2 or not all(_is_int(v) and v >= 2 for v in sides):
        raise ValueError(f"shape must be two side lengths (L, M), integers >= 2; got {shape!r}")
    return tuple(int(v) for v in sides)


def _check_values(arr, name: str, expect: str, bad_of):
    """Elementwise check of a concrete array (tracers pass: they give NaN instead)."""
    if is_concrete(arr) and arr.size:
        vals = np.asarray(arr)
        bad = bad_of(vals)
        if bad.any():
            raise ValueError(f"{name} must be {expect}; got {int(bad.sum())} bad value(s), e.g. {vals[bad][0]!r}")


def kaufman(shape, beta, J=1.0) -> KaufmanResult:
    r"""Exact :math:`\log Z`, :math:`\langle E\rangle` and :math:`\operatorname{Var}E` of the
    zero-field 2D Ising ferromagnet on an L x M torus (Kaufman 1949; Ferdinand & Fisher 1969).

    The model is ``jaxstat.ising.lattice((L, M), J=J, periodic=True)``,
    :math:`E(s) = -J\sum_{\langle xy\rangle} s_x s_y`; the formula and its
    numerics are in the module docstring. Cost :math:`O(\min(L, M))` per beta,
    so any lattice size is cheap.

    Accuracy: float32 by default, float64 under x64 (beta's float dtype is
    kept). In float64, a few ulp in :math:`\log Z`, :math:`\langle E\rangle`
    and :math:`\operatorname{Var}E` (against 60-digit arithmetic) for
    :math:`0.01 \le \beta J \le 1`. At :math:`T_c`, float32 agrees with float64
    to 6e-7 in energy per spin and 1e-5 relative in specific heat for
    :math:`L = M` from 16 to 1024. Everywhere the absolute error per spin is
    ~eps; relative accuracy is lost only where a quantity is itself tiny: the
    energy at :math:`\beta J \lesssim 10^{-4}` and :math:`\operatorname{Var}E
    \propto e^{-8\beta J}` at low T, whose relative error grows like
    :math:`\epsilon\, e^{6\beta J}` (float32: ~1e-3 at :math:`\beta J = 2`).

    ``beta`` is traced, so new temperatures do not recompile; ``shape`` is
    static. Elementwise in ``beta``; ``jax.jit`` and ``jax.vmap`` work.

    Args:
      shape: ``(L, M)``, Python ints >= 2 (odd sides and sides of 2 included).
      beta: inverse temperatures >= 0, finite, any shape. Checked when
        concrete; inside ``jit`` a negative, NaN or infinite beta gives NaN in
        every field. ``beta = inf`` is refused: :math:`\log Z` diverges (the
        limit is the ground state, :math:`E = -J \times` the number of bonds).
        ``beta = 0`` gives the exact limit :math:`\log Z = LM\ln 2`,
        :math:`\langle E\rangle = 0`, and :math:`\operatorname{Var}E` the sum of
        the squared couplings of distinct pairs.
      J: the uniform coupling, a finite scalar > 0 (ferromagnet); may be traced.

    Returns:
      A :class:`KaufmanResult`; every field has beta's shape and dtype.
      ``energy_per_spin`` and ``specific_heat`` (per spin) are properties.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> r = js.exact.kaufman((4, 4), jnp.array([0.3, 0.7]))
      >>> e = js.exact.enumerate(js.ising.lattice((4, 4)), 0.7)
      >>> bool(jnp.allclose(r.log_z[1], e.log_z)), bool(jnp.allclose(r.mean_energy[1], e.mean_energy))
      (True, True)
      >>> beta_c = 0.5 * jnp.log(1 + jnp.sqrt(2.0))
      >>> r = js.exact.kaufman((32, 32), beta_c)
      >>> round(float(r.energy_per_spin), 4), round(float(r.specific_heat), 3)
      (-1.4337, 1.847)
    """
    shape = _check_torus_shape(shape)
    if isinstance(beta, (bool, np.bool_)):
        raise ValueError(f"beta must be inverse temperatures >= 0; got a boolean {beta!r}")
    beta = as_float_array(beta, "beta")
    beta = beta.astype(beta.dtype)  # strong dtype: one compilation for Python floats and arrays
    _check_values(beta, "beta", "finite inverse temperatures >= 0 (not NaN)", lambda v: ~(v >= 0))
    _check_values(
        beta, "beta", "finite: log Z diverges at beta = inf (the limit is the ground state, "
        "E = -J x the number of bonds)", np.isinf,
    )
    if isinstance(J, (bool, np.bool_)) or np.ndim(J) != 0:
        raise ValueError(f"J must be a scalar coupling > 0; got {J!r:.60}")
    J = as_float_array(J, "J")
    _check_values(J, "J", "a finite coupling > 0 (ferromagnet)", lambda v: ~((v > 0) & np.isfinite(v)))
    dt, flat = beta.dtype, beta.reshape(-1)
    padded = jnp.pad(flat, (0, _bucket(flat.size, 8) - flat.size))
    sig, w = _modes(min(shape))
    r = _kaufman(padded, J.astype(dt), jnp.asarray(shape, dt), jnp.asarray(sig, dt), jnp.asarray(w, dt))
    return KaufmanResult(*(x[: flat.size].reshape(beta.shape) for x in r))._replace(beta=beta)
