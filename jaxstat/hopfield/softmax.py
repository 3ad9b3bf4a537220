r"""The continuous modern Hopfield network (Ramsauer et al. 2020): softmax retrieval.

A state :math:`x \in \mathbb R^N` is updated to

.. math::  x \leftarrow \xi^T \operatorname{softmax}(\beta\, \xi x),

the attention rule with the stored patterns as keys and values. It lowers
the energy

.. math::  E(x) = -\tfrac1\beta \log \sum_\mu e^{\beta\, \xi_\mu \cdot x}
           + \tfrac12 x \cdot x + \tfrac1\beta \log P + \tfrac12 M^2,
           \qquad M = \max_\mu |\xi_\mu| ,

and, with :math:`\beta` large enough, retrieves a pattern in one step with a
capacity exponential in N.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat._validate import as_float_array, check_beta, check_finite, check_positive_int, is_concrete

__all__ = ["SoftmaxResult", "softmax_energy", "softmax_retrieve", "softmax_update"]


def _check_inverse_temperature(beta):
    """beta > 0 and finite: F = exp(beta x)/beta and the softmax energy divide by beta."""
    check_beta(beta)
    if is_concrete(beta) and not 0.0 < float(beta) < math.inf:
        raise ValueError(f"beta must be finite and > 0 for the dense and softmax memories; got {float(beta)}")
    return beta


def _softmax_args(patterns, state, name, beta):
    xi = as_float_array(patterns, "patterns")
    if xi.ndim != 2 or xi.shape[0] == 0 or xi.shape[1] == 0:
        raise ValueError(f"patterns must have shape (P, N) with P, N >= 1; got shape {tuple(xi.shape)}")
    check_finite(xi, "patterns")
    x = as_float_array(state, name)
    if x.ndim == 0 or x.shape[-1] != xi.shape[1]:
        raise ValueError(f"{name} must have last dimension N = {xi.shape[1]} to match patterns; "
                         f"got shape {tuple(x.shape)}")
    check_finite(x, name)
    return xi, x.astype(xi.dtype), jnp.asarray(_check_inverse_temperature(beta), xi.dtype)


# --------------------------------------------------------------------------- #
# continuous modern Hopfield network (Ramsauer et al. 2020)
# --------------------------------------------------------------------------- #
class SoftmaxResult(NamedTuple):
    r"""Output of :func:`softmax_retrieve`; leading axes are the probe's batch axes.

    Attributes:
      states: final states, shaped like the probe.
      overlaps: ``(..., n_steps + 1, P)`` cosine similarities
        :math:`\xi_\mu \cdot x / (|\xi_\mu| |x|)` before the first and after
        every step (0 for a zero vector); for ±1 patterns and a ±1 state this
        is the usual overlap :math:`\xi_\mu \cdot s / N`.
      energies: ``(..., n_steps + 1)`` :func:`softmax_energy` along the way.
    """

    states: jax.Array
    overlaps: jax.Array
    energies: jax.Array


def _softmax_logits(xi, mask, x, beta):
    return jnp.where(mask, beta * (x @ xi.T), -jnp.inf)   # masked patterns get weight exp(-inf) = 0


def _softmax_update(xi, mask, x, beta):
    return jax.nn.softmax(_softmax_logits(xi, mask, x, beta), axis=-1) @ xi


def _softmax_energy(xi, mask, x, beta):
    p = jnp.sum(mask).astype(xi.dtype)
    m2 = jnp.max(jnp.where(mask, jnp.sum(xi * xi, axis=-1), 0))
    lse = jax.nn.logsumexp(_softmax_logits(xi, mask, x, beta), axis=-1)
    return -lse / beta + 0.5 * jnp.sum(x * x, axis=-1) + jnp.log(p) / beta + 0.5 * m2


def _cosine(xi, x):
    dots = x @ xi.T
    norms = jnp.linalg.norm(x, axis=-1, keepdims=True) * jnp.linalg.norm(xi, axis=-1)
    return jnp.where(norms > 0, dots / jnp.where(norms > 0, norms, 1), 0)


def softmax_update(patterns, state, beta=1.0):
    r"""One update of the continuous modern Hopfield network, :math:`x \leftarrow \xi^T \mathrm{softmax}(\beta \xi x)`.

    This is attention with the patterns as keys and values and the state as
    query. Patterns may be any real ``(P, N)`` array (±1 or continuous).

    Args:
      patterns: ``(P, N)`` real array.
      state: ``(..., N)`` real array, any leading batch axes.
      beta: finite inverse temperature > 0 (may be traced).

    Returns:
      ``(..., N)`` states, convex combinations of the patterns.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.hopfield import softmax_update
      >>> xi = jnp.array([[1., 1., 1., 1.], [1., -1., 1., -1.]])
      >>> softmax_update(xi, jnp.array([1., 1., 1., 0.]), beta=10.0).round(3)   # closer to xi[0]
      Array([1., 1., 1., 1.], dtype=float32)
    """
    xi, x, beta = _softmax_args(patterns, state, "state", beta)
    return _softmax_update(xi, jnp.ones((xi.shape[0],), bool), x, beta)


def softmax_energy(patterns, state, beta=1.0):
    r"""Energy of the continuous modern Hopfield network (Ramsauer et al. 2020, eq. 2).

    .. math::  E(x) = -\tfrac1\beta \log \sum_\mu e^{\beta \xi_\mu \cdot x} + \tfrac12 x \cdot x
               + \tfrac1\beta \log P + \tfrac12 M^2 ,\qquad M = \max_\mu |\xi_\mu| .

    The constants make :math:`0 \le E \le 2 M^2` on the convex hull of the
    patterns (the paper's Lemma A1), where every update lands; by the
    concave-convex procedure (CCCP) :func:`softmax_update` never increases E.

    Args and batching as in :func:`softmax_update`; returns ``(...)`` energies.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.hopfield import softmax_energy
      >>> xi = jnp.array([[1., 1.], [1., -1.]])
      >>> softmax_energy(xi, jnp.zeros(2))   # -log 2 + 0 + log 2 + |xi|^2 / 2
      Array(1., dtype=float32)
    """
    xi, x, beta = _softmax_args(patterns, state, "state", beta)
    return _softmax_energy(xi, jnp.ones((xi.shape[0],), bool), x, beta)


def softmax_retrieve(patterns, probe, beta=1.0, n_steps: int = 1) -> SoftmaxResult:
    r"""Iterate :func:`softmax_update` ``n_steps`` times from ``probe``; record overlaps and energies.

    With well-separated patterns and :math:`\beta` large enough one step
    lands next to the closest pattern (Ramsauer et al.'s exponentially small
    retrieval error); small :math:`\beta` gives metastable averages of several
    patterns. ``beta`` is traced; ``n_steps`` is static.

    ``patterns``, ``beta`` as in :func:`softmax_update`; ``probe`` ``(..., N)``
    real initial states; ``n_steps >= 1``. Returns a :class:`SoftmaxResult`
    (``overlaps`` are cosine similarities).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> from jaxstat.hopfield import softmax_retrieve
      >>> xi = jax.random.rademacher(jax.random.key(0), (500, 100), dtype=jnp.float32)  # alpha = 5
      >>> probe = hopfield.corrupt(jax.random.key(1), xi[0], 0.2)
      >>> r = softmax_retrieve(xi, probe, beta=1.0)
      >>> r.overlaps.shape, round(float(r.overlaps[0, 0]), 3), round(float(r.overlaps[-1, 0]), 3)
      ((2, 500), 0.6, 1.0)
    """
    xi, x0, beta = _softmax_args(patterns, probe, "probe", beta)
    n_steps = check_positive_int(n_steps, "n_steps")
    return _softmax_retrieve(xi, x0, beta, n_steps=n_steps)


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _softmax_retrieve(xi, x0, beta, *, n_steps):
    mask = jnp.ones((xi.shape[0],), bool)

    def observe(x):
        return _cosine(xi, x), _softmax_energy(xi, mask, x, beta)

    def step(x, _):
        x = _softmax_update(xi, mask, x, beta)
        return x, observe(x)

    x, (m, e) = jax.lax.scan(step, x0, None, length=n_steps)
    m0, e0 = observe(x0)
    # scan stacks steps on axis 0; move them behind the probe's batch axes
    m = jnp.moveaxis(jnp.concatenate([m0[None], m]), 0, -2)
    e = jnp.moveaxis(jnp.concatenate([e0[None], e]), 0, -1)
    return SoftmaxResult(x, m, e)


