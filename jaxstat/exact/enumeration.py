"""Exact enumeration of small models; see :mod:`jaxstat.exact` for the state numbering."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import ising
from jaxstat._kernels import check_model, energy_unchecked
from jaxstat._states import MAX_INDEX_UNITS, spin_states
from jaxstat._states import state_index as _index_of
from jaxstat._validate import check_beta, check_positive_int, check_spins, is_concrete

MAX_ENUMERATE_SPINS = 24
"""Largest N that :func:`enumerate` accepts (2**24 ≈ 1.7e7 states)."""

_MAX_INDEX_SPINS = MAX_INDEX_UNITS  # state indices are int32 (jaxstat._states numbers all states)
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
    return _index_of(s)


def _index_to_spins(idx, n: int, dtype):
    """(..., n) spins of int32 indices (inverse of state_index); traceable. The one bit order: jaxstat._states."""
    return spin_states(idx, n, dtype)


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
        return energy_unchecked(model, s)

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
    result = ExactResult(
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
    # A traced beta cannot raise: negative, NaN or infinite beta gives NaN
    # results instead of plausible numbers.
    ok = (beta >= 0) & (beta < jnp.inf)
    return result._replace(**{
        f: jnp.where(ok, getattr(result, f), jnp.nan) for f in result._fields if f not in ("energies", "beta")
    })


_enumerate_jit = jax.jit(_enumerate_impl, static_argnames=("chunk",))


def _check_enumerable(model, what: str):
    check_model(model)
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
    elif not (np.ndim(atol) == 0 and float(atol) >= 0):  # also refuses NaN
        raise ValueError(f"atol must be a number >= 0 (energies within atol of the minimum); got {atol!r}")
    indices = np.flatnonzero(energies <= e_min + atol)
    spins = np.asarray(spin_states(indices.astype(np.int32), n, np.int32))
    return GroundStates(
        energy=jnp.asarray(e_min, model.dtype),
        indices=indices,
        states=jnp.asarray(spins.reshape((len(indices),) + ising.site_shape(model)), model.dtype),
    )
