r"""Exact statistics of a fully connected Boltzmann machine, by enumerating its states.

:func:`exact_statistics` sums the model phase over all :math:`2^N` states of
the machine's Ising form (:func:`jaxstat.exact.enumerate`, in the one state
numbering of :mod:`jaxstat._states`) and the clamped phase, for each data
vector, over the :math:`2^{n_h}` hidden states. The machine itself is in
:mod:`jaxstat.boltzmann.machine`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat import exact, ising
from jaxstat._states import all_binary_states, binary_states, map_chunks
from jaxstat.boltzmann.machine import (
    BoltzmannMachine,
    check_data,
    check_exact_size,
    check_params,
)

__all__ = ["ExactStatistics", "exact_impl", "exact_statistics"]


class ExactStatistics(NamedTuple):
    """Exact averages of a machine (from :func:`exact_statistics`); ``data_*`` are ``None`` without data."""

    log_z: jax.Array  #: :math:`\log Z = \log \sum_s e^{-E(s)}`
    correlation: jax.Array  #: :math:`\langle s_i s_j \rangle_{\rm model}`, ``(N, N)``
    data_correlation: jax.Array | None  #: :math:`\langle s_i s_j \rangle_{\rm data}`, ``(N, N)``
    log_likelihood: jax.Array | None  #: :math:`\frac1D \sum_d \log p(v_d)`

    @property
    def mean(self):
        """:math:`\\langle s_i \\rangle_{\\rm model}` (the diagonal of ``correlation``)."""
        return jnp.diagonal(self.correlation, axis1=-2, axis2=-1)

    @property
    def data_mean(self):
        return None if self.data_correlation is None else jnp.diagonal(self.data_correlation, axis1=-2, axis2=-1)


# --------------------------------------------------------------------------- #
# exact statistics by enumeration
# --------------------------------------------------------------------------- #
def _model_phase_exact(params):
    model, const = ising.from_neurons(params.W, -params.bias)
    r = exact.enumerate(model, 1.0)  # probabilities in the one state numbering of jaxstat._states
    n = params.n_units
    chunk = min(2**n, 2**12)

    def moments(idx):  # chunked so memory stays O(2**N), never 2**N x N
        s = binary_states(idx, n, r.probabilities.dtype)
        return s.T @ (r.probabilities[idx][:, None] * s)

    corr = jnp.sum(map_chunks(moments, n, chunk), axis=0)
    return r.log_z - const, corr


def _clamped_exact(params, data):
    """Per data row: log sum_h e^{-E(v,h)}, E[h|v], E[h h^T|v]; hidden summed exactly."""
    nv, nh = params.n_visible, params.n_hidden
    W, dt = params.W, params.W.dtype
    H = all_binary_states(nh, dt)
    quad = 0.5 * jnp.sum(H * (H @ W[nv:, nv:]), axis=-1)

    def row(v):
        logits = quad + H @ (W[nv:, :nv] @ v + params.b)
        lse = jax.nn.logsumexp(logits)
        q = jnp.exp(logits - lse)
        return 0.5 * v @ W[:nv, :nv] @ v + params.a @ v + lse, q @ H, H.T @ (q[:, None] * H)

    # lax.map in batches bounds memory at batch * 2**n_hidden numbers
    return jax.lax.map(row, data, batch_size=max(1, 2**16 // 2**nh))


def _assemble(v, eh, ehh):
    """Average [v; h][v; h]^T over rows given E[h|v] and E[hh^T|v]."""
    d = v.shape[0]
    vh = v.T @ eh / d
    return jnp.block([[v.T @ v / d, vh], [vh.T, jnp.mean(ehh, axis=0)]])


@jax.jit
def exact_impl(params, data):
    log_z, corr = _model_phase_exact(params)
    if data is None:
        return ExactStatistics(log_z, corr, None, None)
    log_unnorm, eh, ehh = _clamped_exact(params, data)
    return ExactStatistics(log_z, corr, _assemble(data, eh, ehh), jnp.mean(log_unnorm) - log_z)


def exact_statistics(params: BoltzmannMachine, data=None) -> ExactStatistics:
    r"""Exact :math:`\log Z`, model and (given data) clamped correlations and log-likelihood.

    The model phase sums over all :math:`2^N` states of :func:`to_ising`
    ``(params)`` with :func:`jaxstat.exact.enumerate`; the clamped phase sums,
    for each data vector, over the :math:`2^{n_h}` hidden states with
    :math:`p(h \mid v) \propto e^{-E(v, h)}`. Memory: a few :math:`2^N` vectors
    plus ``data.shape[0]`` hidden moment matrices. Compiled once per shape.

    Args:
      params: a :class:`BoltzmannMachine` with ``N <= MAX_EXACT_UNITS``.
      data: optional visible vectors, ``(n_samples, n_visible)`` in {0, 1}.

    Returns:
      :class:`ExactStatistics`; ``log_likelihood`` is
      :math:`\frac1D\sum_d \log \sum_h p(v_d, h)`.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat.boltzmann import bm, exact_statistics
      >>> r = exact_statistics(bm(jax.random.key(0), 3, 1, scale=0.0), jnp.array([[1., 0., 1.]]))
      >>> round(float(r.log_z), 5), r.mean.tolist(), round(float(r.log_likelihood), 5)  # 16 equal states
      (2.77259, [0.5, 0.5, 0.5, 0.5], -2.07944)
    """
    check_params(params)
    check_exact_size(params, "exact_statistics")
    data = None if data is None else check_data(params, data)
    return exact_impl(params, data)
