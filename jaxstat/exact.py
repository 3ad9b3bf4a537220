r"""Exact references: enumeration of small models and Onsager's 2D solution.

Enumeration
-----------
:func:`enumerate` sums the Boltzmann weights :math:`e^{-\beta E(s)}` over all
:math:`2^N` configurations of a model (:math:`N \le` ``MAX_ENUMERATE_SPINS``),
in log space and in chunks of states, so memory grows like :math:`2^N`
numbers, never :math:`2^N \times N` spins.

States are numbered by one fixed bijection between :math:`\{-1,+1\}^N` and
the integers :math:`0 \ldots 2^N - 1` (used by :func:`state_index`,
:func:`states` and ``ExactResult.probabilities``): the configuration is
flattened in C order (lattice models), spin :math:`i` maps to the bit
:math:`b_i = (s_i + 1)/2`, and spin 0 is the **most significant** bit,

.. math:: \mathrm{index}(s) = \sum_{i=0}^{N-1} b_i\, 2^{N-1-i}, \qquad s_i = 2 b_i - 1 .

So index 0 is all spins down, index :math:`2^N - 1` all up, and the order is
that of ``itertools.product([-1, 1], repeat=N)``.

Onsager
-------
The square-lattice ferromagnet with :math:`J = 1`, :math:`k_B = 1`, no field,
in the thermodynamic limit: critical temperature, spontaneous magnetization,
energy and specific heat per spin (for other :math:`J` use :math:`T/J` and
scale energies by :math:`J`). The complete elliptic integrals they need are
computed by the arithmetic-geometric mean in ``jax.numpy``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import ising
from jaxstat._validate import as_float_array, check_beta, check_positive_int, check_spins, is_concrete

__all__ = [
    "MAX_ENUMERATE_SPINS",
    "ExactResult",
    "GroundStates",
    "state_index",
    "states",
    "enumerate",
    "ground_states",
    "elliptic_k",
    "elliptic_e",
    "onsager_tc",
    "onsager_magnetization",
    "onsager_energy",
    "onsager_specific_heat",
]

MAX_ENUMERATE_SPINS = 24
"""Largest N that :func:`enumerate` accepts (2**24 ≈ 1.7e7 states)."""

_MAX_INDEX_SPINS = 31  # state indices are int32
_DEFAULT_CHUNK = 2**14


# --------------------------------------------------------------------------- #
# state numbering
# --------------------------------------------------------------------------- #
def _site_shape_of(model_or_shape):
    if model_or_shape is None:
        return None
    if isinstance(model_or_shape, (ising.LatticeIsing, ising.DenseIsing)):
        return ising.site_shape(model_or_shape)
    if isinstance(model_or_shape, (int, np.integer)):
        return (int(model_or_shape),)
    return tuple(int(x) for x in model_or_shape)


def _check_index_size(n: int):
    if n > _MAX_INDEX_SPINS:
        raise ValueError(
            f"state indices are int32, which numbers at most 2**{_MAX_INDEX_SPINS} states; got N = {n} spins"
        )


def state_index(spins, model=None):
    r"""The integer :math:`\sum_i b_i 2^{N-1-i}`, :math:`b_i = (s_i+1)/2`, of configurations.

    Spin 0 (first in C order) is the most significant bit; see the module
    docstring. This indexes ``enumerate(...).probabilities``, e.g. to
    histogram sampled states.

    Args:
      spins: ±1 configurations with leading batch axes allowed.
      model: a jaxstat model or a site shape. The trailing axes of that shape
        are the sites; without it, the last axis is (flattened configurations).

    Returns:
      int32 array of the leading batch shape, values in ``[0, 2**N)``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> js.exact.state_index(jnp.array([[-1., -1., 1.], [1., 1., 1.]]))
      Array([1, 7], dtype=int32)
      >>> js.exact.state_index(jnp.ones((2, 2, 2)), js.ising.lattice((2, 2)))
      Array([15, 15], dtype=int32)
    """
    shape = _site_shape_of(model)
    arr = jnp.asarray(spins)
    if shape is None:
        if arr.ndim == 0:
            raise ValueError("spins must have at least one (site) axis; got a scalar")
        shape = arr.shape[-1:]
    s = check_spins(arr, shape, "spins")
    _check_index_size(math.prod(shape))
    return _state_index(s, n_site_axes=len(shape))


@functools.partial(jax.jit, static_argnames=("n_site_axes",))
def _state_index(s, n_site_axes: int):
    n = math.prod(s.shape[s.ndim - n_site_axes :])
    s = s.reshape(s.shape[: s.ndim - n_site_axes] + (n,))
    bits = (s > 0).astype(jnp.int32)
    weights = jnp.left_shift(jnp.int32(1), jnp.arange(n - 1, -1, -1, dtype=jnp.int32))
    return jnp.sum(bits * weights, axis=-1, dtype=jnp.int32)


def _index_to_spins(idx, n: int, dtype):
    """(..., n) spins of int32 indices (inverse of state_index); traceable."""
    shifts = jnp.arange(n - 1, -1, -1, dtype=jnp.int32)
    bits = jnp.right_shift(idx[..., None], shifts) & 1
    return (2 * bits - 1).astype(dtype)


@functools.partial(jax.jit, static_argnames=("count", "shape", "dtype"))
def _state_range(start, count: int, shape: tuple, dtype):
    idx = start + jnp.arange(count, dtype=jnp.int32)
    return _index_to_spins(idx, math.prod(shape), dtype).reshape((count,) + shape)


def states(n, start: int = 0, count: int | None = None, dtype=None):
    r"""Configurations number ``start, ..., start + count - 1`` (inverse of :func:`state_index`).

    :math:`s_i = 2 b_i - 1` with :math:`b_i` bit :math:`N-1-i` of the index.

    Args:
      n: the number of spins N, or a jaxstat model (configurations then have
        the model's site shape, e.g. ``(L, L)``, and its dtype).
      start: first index (>= 0).
      count: how many (default: all the rest, ``2**N - start``).
      dtype: float dtype (default the model's, else float32 / float64 under x64).

    Returns:
      Array of shape ``(count, N)`` or ``(count, *model.shape)``. Memory is
      ``count * N`` numbers: use ``start``/``count`` to walk large N in chunks.

    Example:
      >>> import jaxstat as js
      >>> js.exact.states(2)
      Array([[-1., -1.],
             [-1.,  1.],
             [ 1., -1.],
             [ 1.,  1.]], dtype=float32)
      >>> js.exact.states(js.ising.lattice((2, 2)), start=5, count=1).shape
      (1, 2, 2)
    """
    if isinstance(n, (ising.LatticeIsing, ising.DenseIsing)):
        shape, n_spins, default_dtype = ising.site_shape(n), n.n, n.dtype
    else:
        n_spins = check_positive_int(n, "n")
        shape, default_dtype = (n_spins,), jnp.result_type(float)
    _check_index_size(n_spins)
    total = 2**n_spins
    if isinstance(start, (bool, np.bool_)) or not isinstance(start, (int, np.integer)) or not 0 <= start < total:
        raise ValueError(f"start must be an integer in [0, 2**{n_spins}); got {start!r}")
    count = total - int(start) if count is None else check_positive_int(count, "count", minimum=0)
    if start + count > total:
        raise ValueError(f"start + count must be <= 2**N = {total}; got {start} + {count}")
    return _state_range(jnp.int32(start), count, shape, jnp.dtype(dtype or default_dtype))


# --------------------------------------------------------------------------- #
# exact enumeration
# --------------------------------------------------------------------------- #
class ExactResult(NamedTuple):
    r"""Exact Boltzmann averages at one :math:`\beta` (from :func:`enumerate`).

    Magnetizations are per spin, :math:`m = \frac1N\sum_i s_i`. Arrays of
    length :math:`2^N` are indexed by :func:`state_index`. Under ``jax.vmap``
    every field gains the batch axis.
    """

    log_z: jax.Array  #: :math:`\log Z = \log \sum_s e^{-\beta E(s)}`
    mean_energy: jax.Array  #: :math:`\langle E \rangle`
    energy_variance: jax.Array  #: :math:`\langle E^2\rangle - \langle E\rangle^2`
    mean_magnetization: jax.Array  #: :math:`\langle m \rangle`
    mean_abs_magnetization: jax.Array  #: :math:`\langle |m| \rangle`
    mean_magnetization_sq: jax.Array  #: :math:`\langle m^2 \rangle`
    mean_magnetization_4: jax.Array  #: :math:`\langle m^4 \rangle`
    probabilities: jax.Array  #: :math:`p(s) = e^{-\beta E(s)}/Z`, shape ``(2**N,)``
    energies: jax.Array  #: :math:`E(s)`, shape ``(2**N,)``
    beta: jax.Array  #: the inverse temperature

    @property
    def n_spins(self) -> int:
        """N, from the length 2**N of ``energies``."""
        return int(self.energies.shape[-1]).bit_length() - 1

    @property
    def specific_heat(self):
        r"""Per spin: :math:`c = \beta^2 \operatorname{Var}(E) / N`."""
        return self.beta**2 * self.energy_variance / self.n_spins

    @property
    def binder_cumulant(self):
        r""":math:`U_4 = 1 - \langle m^4\rangle / (3 \langle m^2\rangle^2)`."""
        return 1 - self.mean_magnetization_4 / (3 * self.mean_magnetization_sq**2)


def _chunk_energies(model, n: int, chunk: int):
    """Energies of all 2**n states, computed chunk by chunk, shape (2**n,)."""
    shape = ising.site_shape(model)

    def one_chunk(c):
        idx = c * chunk + jnp.arange(chunk, dtype=jnp.int32)
        s = _index_to_spins(idx, n, model.dtype).reshape((chunk,) + shape)
        return ising._energy(model, s)

    n_chunks = 2**n // chunk
    return jax.lax.map(one_chunk, jnp.arange(n_chunks, dtype=jnp.int32)).reshape(-1)


def _sum(x):
    """Sum of a length-2**n vector as a two-level reduction (bounded float32 error)."""
    n = x.shape[0].bit_length() - 1
    return jnp.sum(jnp.sum(x.reshape(2 ** (n // 2), -1), axis=1), axis=0)


def _enumerate_impl(model, beta, chunk):
    n = model.n
    energies = _chunk_energies(model, n, chunk)
    log_w = -beta * energies
    log_w_max = jnp.max(log_w)
    log_z = log_w_max + jnp.log(_sum(jnp.exp(log_w - log_w_max)))
    p = jnp.exp(log_w - log_z)
    mean_e = _sum(p * energies)
    var_e = _sum(p * (energies - mean_e) ** 2)
    ups = jax.lax.population_count(jnp.arange(2**n, dtype=jnp.int32))
    m = (2 * ups - n).astype(energies.dtype) / n
    return ExactResult(
        log_z=log_z,
        mean_energy=mean_e,
        energy_variance=var_e,
        mean_magnetization=_sum(p * m),
        mean_abs_magnetization=_sum(p * jnp.abs(m)),
        mean_magnetization_sq=_sum(p * m**2),
        mean_magnetization_4=_sum(p * m**4),
        probabilities=p,
        energies=energies,
        beta=beta,
    )


_enumerate_jit = jax.jit(_enumerate_impl, static_argnames=("chunk",))


def _check_enumerable(model, what: str):
    ising._check_model(model)
    ising.require_symmetric(model, what)
    n = model.n
    if n > MAX_ENUMERATE_SPINS:
        raise ValueError(
            f"{what} sums over 2**N configurations; this model has N = {n} spins "
            f"(shape {tuple(model.shape)}), more than MAX_ENUMERATE_SPINS = {MAX_ENUMERATE_SPINS}. "
            "Use a Monte Carlo sampler (jaxstat.mcmc) for larger systems."
        )
    return n


def _check_chunk(chunk_size, n: int) -> int:
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    return 1 << (min(chunk_size, 2**n).bit_length() - 1)


def enumerate(model, beta, chunk_size: int = _DEFAULT_CHUNK) -> ExactResult:
    r"""Exact Boltzmann statistics by summing over all :math:`2^N` states.

    .. math::
       \log Z = \operatorname{logsumexp}_s\,[-\beta E(s)], \qquad
       p(s) = e^{-\beta E(s) - \log Z}, \qquad
       \langle f \rangle = \sum_s p(s) f(s).

    Energies are computed ``chunk_size`` states at a time (``lax.map``), so
    memory is a few length-:math:`2^N` vectors. The computation is compiled
    once per model structure and ``chunk_size``; ``beta`` is traced, so new
    temperatures do not recompile and ``jax.vmap`` over betas (or over
    disorder) works; a vmap over B betas returns ``(B, 2**N)`` per-state
    arrays, so mind memory near the size limit.

    Args:
      model: a :class:`~jaxstat.ising.LatticeIsing` or symmetric
        :class:`~jaxstat.ising.DenseIsing` with N <= ``MAX_ENUMERATE_SPINS``.
      beta: finite inverse temperature >= 0, a scalar (checked when concrete;
        a traced ``inf`` gives NaN).
      chunk_size: states per chunk, rounded down to a power of two.

    Returns:
      An :class:`ExactResult` in the model's dtype (per-state arrays indexed
      by :func:`state_index`; ``specific_heat`` and ``binder_cumulant`` are
      derived properties).

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((4,), periodic=False)
      >>> r = js.exact.enumerate(m, 1.0)  # Z = 2 (2 cosh 1)^3
      >>> round(float(r.log_z), 5), round(float(jnp.log(2 * (2 * jnp.cosh(1.0)) ** 3)), 5)
      (4.07393, 4.07393)
      >>> r.probabilities.shape
      (16,)
      >>> u = jax.vmap(lambda b: js.exact.enumerate(m, b).mean_energy)(jnp.array([0.0, 1.0]))
      >>> [round(x, 4) for x in u.tolist()]  # -3 tanh(beta)
      [0.0, -2.2848]
    """
    n = _check_enumerable(model, "exact enumeration")
    check_beta(beta)
    if is_concrete(beta) and math.isinf(float(np.asarray(beta))):
        raise ValueError(
            "exact enumeration needs a finite beta (at beta = inf the Boltzmann distribution is "
            "uniform over the ground states); got beta = inf. Use jaxstat.exact.ground_states(model) "
            "for the zero-temperature limit."
        )
    chunk = _check_chunk(chunk_size, n)
    beta = jnp.asarray(beta).astype(model.dtype)  # strong dtype: one compilation
    return _enumerate_jit(model, beta, chunk=chunk)


class GroundStates(NamedTuple):
    """Minimum-energy configurations of a model (from :func:`ground_states`)."""

    energy: jax.Array  #: the ground-state energy
    indices: np.ndarray  #: their :func:`state_index`, ascending
    states: jax.Array  #: configurations, shape ``(len(indices), *model.shape)``


_energies_jit = jax.jit(lambda model, chunk: _chunk_energies(model, model.n, chunk), static_argnames=("chunk",))


def ground_states(model, atol=None, chunk_size: int = _DEFAULT_CHUNK) -> GroundStates:
    r"""All configurations minimizing :math:`E(s)` (the :math:`\beta \to \infty` limit), by enumeration.

    Not jit-compatible (the number of ground states is data-dependent).

    Args:
      model: as for :func:`enumerate`.
      atol: energies within ``atol`` of the minimum count as degenerate
        (default: ``64 * eps * max(1, |E_min|)`` of the model's dtype, to
        absorb rounding in the energy sums).
      chunk_size: as for :func:`enumerate`.

    Example:
      >>> import jaxstat as js
      >>> g = js.exact.ground_states(js.ising.lattice((2, 2)))
      >>> float(g.energy), g.indices.tolist()
      (-8.0, [0, 15])
    """
    n = _check_enumerable(model, "ground-state enumeration")
    energies = np.asarray(_energies_jit(model, chunk=_check_chunk(chunk_size, n)))
    e_min = energies.min()
    if atol is None:
        atol = 64 * np.finfo(energies.dtype).eps * max(1.0, abs(float(e_min)))
    indices = np.flatnonzero(energies <= e_min + atol)
    spins = 2 * ((indices[:, None] >> np.arange(n - 1, -1, -1)) & 1) - 1
    return GroundStates(
        energy=jnp.asarray(e_min, model.dtype),
        indices=indices,
        states=jnp.asarray(spins.reshape((len(indices),) + ising.site_shape(model)), model.dtype),
    )


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
