r"""What a Hopfield network ended in: a stored pattern, a 3-pattern mixture, or something spurious.

Besides the stored patterns (and their reversals), Hebb's rule creates
*mixture states*; the best known are the symmetric odd mixtures of three
patterns,

.. math::  s = \operatorname{sign}(\epsilon_1 \xi^{\mu} + \epsilon_2 \xi^{\nu} + \epsilon_3 \xi^{\rho}),
           \qquad \epsilon_k = \pm 1 ,

which have overlap 1/2 with each of the three for random patterns and are
stable at low load and low temperature (Amit, Gutfreund and Sompolinsky
1985). Everything else a network falls into (higher mixtures, spin-glass
states) is lumped here as *spurious*.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat.hopfield._checks import check_patterns, check_states, check_threshold

__all__ = ["MIXTURE", "RETRIEVAL", "SPURIOUS", "StateKind", "classify", "mixture"]

RETRIEVAL, MIXTURE, SPURIOUS = 0, 1, 2


def mixture(patterns, indices=(0, 1, 2), signs=(1, 1, 1)):
    r"""The odd mixture :math:`\operatorname{sign}(\sum_k \epsilon_k \xi^{\mu_k})` of an odd number of patterns.

    Args:
      patterns: ``(P, N)`` array of ±1.
      indices: an odd number of distinct pattern indices (default the first three).
      signs: one ±1 per index.

    Returns:
      ``(N,)`` array of ±1 (odd sums of ±1 are never zero).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> xi = jnp.array([[1., 1., 1., -1.], [1., -1., 1., 1.], [-1., 1., 1., 1.]])
      >>> hopfield.mixture(xi)
      Array([1., 1., 1., 1.], dtype=float32)
    """
    xi = check_patterns(patterns)
    idx = tuple(int(i) for i in indices)
    if len(idx) % 2 == 0 or len(set(idx)) != len(idx) or not all(0 <= i < xi.shape[0] for i in idx):
        raise ValueError(
            f"indices must be an odd number of distinct pattern indices in [0, P) = [0, {xi.shape[0]}); got {indices!r}"
        )
    eps = tuple(signs)
    if len(eps) != len(idx) or any(e not in (-1, 1) for e in eps):
        raise ValueError(f"signs must hold one ±1 per index ({len(idx)}); got {signs!r}")
    return jnp.sign(jnp.asarray(eps, xi.dtype) @ xi[jnp.asarray(idx)])


class StateKind(NamedTuple):
    """Output of :func:`classify`; leading axes are the states' batch axes.

    Attributes:
      kind: int32, :data:`RETRIEVAL` (0), :data:`MIXTURE` (1) or :data:`SPURIOUS` (2).
      patterns: ``(..., 3)`` int32, the patterns with the largest ``|m|`` in
        decreasing order (for a retrieval state, entry 0 is the pattern).
      signs: ``(..., 3)`` the signs of those overlaps (-1: a reversed pattern).
      overlap: ``(...)`` overlap with the pattern (retrieval), with the
        3-mixture built from ``patterns`` and ``signs`` (otherwise).
    """

    kind: jax.Array
    patterns: jax.Array
    signs: jax.Array
    overlap: jax.Array


def classify(patterns, states, threshold: float = 0.95) -> StateKind:
    r"""Sort states into retrieved patterns, 3-pattern mixtures and spurious states.

    A state is a *retrieval* state when :math:`\max_\mu |m_\mu| >` ``threshold``
    (a reversed pattern :math:`-\xi^\mu` counts, with sign -1). Otherwise the
    three patterns with the largest :math:`|m_\mu|` and the signs of their
    overlaps define the mixture :func:`mixture`; the state is a *mixture*
    when its overlap with that mixture exceeds ``threshold``, and *spurious*
    otherwise. Needs P >= 3 patterns.

    Args:
      patterns: ``(P, N)`` array of ±1, P >= 3.
      states: ``(..., N)`` array of ±1.
      threshold: overlap needed to match, in (0, 1].

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> xi = jax.random.rademacher(jax.random.key(0), (5, 400), dtype=jnp.float32)
      >>> states = jnp.stack([-xi[2], hopfield.mixture(xi, (0, 3, 4), (1, -1, 1)), xi[0] * xi[1]])
      >>> c = hopfield.classify(xi, states)
      >>> c.kind.tolist(), c.patterns[0, 0].item(), c.signs[0, 0].item()
      ([0, 1, 2], 2, -1)
      >>> sorted(c.patterns[1].tolist()), c.signs[1, c.patterns[1] == 3].item()
      ([0, 3, 4], -1)
    """
    xi = check_patterns(patterns)
    p, n = xi.shape
    if p < 3:
        raise ValueError(f"patterns must hold at least 3 patterns to detect 3-mixtures; got P = {p}")
    s = check_states(states, n, "states", f"patterns of shape {tuple(xi.shape)}").astype(xi.dtype)
    threshold = check_threshold(threshold, upper_inclusive=True)
    m = s @ xi.T / n                                      # (..., P)
    _, top = jax.lax.top_k(jnp.abs(m), 3)                 # (..., 3)
    signs = jnp.where(jnp.take_along_axis(m, top, -1) < 0, -1, 1).astype(jnp.int32)
    best = jnp.abs(jnp.take_along_axis(m, top[..., :1], -1))[..., 0]
    mix = jnp.sign(jnp.einsum("...k,...kn->...n", signs.astype(xi.dtype), xi[top]))
    m_mix = jnp.sum(mix * s, -1) / n
    retrieved = best > threshold
    kind = jnp.where(retrieved, RETRIEVAL, jnp.where(m_mix > threshold, MIXTURE, SPURIOUS)).astype(jnp.int32)
    return StateKind(kind, top.astype(jnp.int32), signs, jnp.where(retrieved, best, m_mix))
