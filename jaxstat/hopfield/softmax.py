r"""The continuous modern Hopfield network (Ramsauer et al. 2020): softmax retrieval.

A state :math:`x \in \mathbb R^N` is updated to

.. math::  x \leftarrow \xi^T \operatorname{softmax}(\lambda\, \xi x),

the attention rule with the stored patterns as keys and values. It lowers
the energy

.. math::  E(x) = -\tfrac1\lambda \log \sum_\mu e^{\lambda\, \xi_\mu \cdot x}
           + \tfrac12 x \cdot x + \tfrac1\lambda \log P + \tfrac12 M^2,
           \qquad M = \max_\mu |\xi_\mu| ,

and, with :math:`\lambda` large enough, retrieves a pattern in one step with a
capacity exponential in N.

**The sharpness** :math:`\lambda` (``sharpness``) is what Ramsauer et al.
write :math:`\beta` and call an inverse temperature: it sets how sharply the
softmax singles out the pattern closest to the state. It is not the inverse
temperature of a Boltzmann distribution of the network's states (the update
is deterministic), and in jaxstat ``beta`` means only that, so here it is
called ``sharpness``, as in the exponential dense memory of
:mod:`jaxstat.hopfield.dense`, where it plays the same role.

Under ``jit``/``vmap`` a traced sharpness that is not finite and > 0 makes
every output NaN (it cannot raise there).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat._validate import as_float_array, check_finite, check_positive_int
from jaxstat.hopfield._attention import (
    cosine,
    softmax_energy_masked,
    softmax_update_masked,
)
from jaxstat.hopfield._checks import check_sharpness, nan_unless_sharp

__all__ = ["SoftmaxResult", "softmax_energy", "softmax_retrieve", "softmax_update"]


def _softmax_args(patterns, state, name, sharpness):
    xi = as_float_array(patterns, "patterns")
    if xi.ndim != 2 or xi.shape[0] == 0 or xi.shape[1] == 0:
        raise ValueError(f"patterns must have shape (P, N) with P, N >= 1; got shape {tuple(xi.shape)}")
    check_finite(xi, "patterns")
    x = as_float_array(state, name)
    if x.ndim == 0 or x.shape[-1] != xi.shape[1]:
        raise ValueError(f"{name} must have last dimension N = {xi.shape[1]} to match patterns; "
                         f"got shape {tuple(x.shape)}")
    check_finite(x, name)
    return xi, x.astype(xi.dtype), jnp.asarray(check_sharpness(sharpness), xi.dtype)


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


def softmax_update(patterns, state, sharpness=1.0):
    r"""One update of the continuous modern Hopfield network, :math:`x \leftarrow \xi^T \mathrm{softmax}(\lambda\xi x)`.

    This is attention with the patterns as keys and values and the state as
    query. Patterns may be any real ``(P, N)`` array (±1 or continuous).

    Args:
      patterns: ``(P, N)`` real array.
      state: ``(..., N)`` real array, any leading batch axes.
      sharpness: finite sharpness > 0 of the softmax (may be traced).

    Returns:
      ``(..., N)`` states, convex combinations of the patterns.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.hopfield import softmax_update
      >>> xi = jnp.array([[1., 1., 1., 1.], [1., -1., 1., -1.]])
      >>> softmax_update(xi, jnp.array([1., 1., 1., 0.]), sharpness=10.0).round(3)   # closer to xi[0]
      Array([1., 1., 1., 1.], dtype=float32)
    """
    xi, x, sharpness = _softmax_args(patterns, state, "state", sharpness)
    return nan_unless_sharp(softmax_update_masked(xi, jnp.ones((xi.shape[0],), bool), x, sharpness), sharpness)


def softmax_energy(patterns, state, sharpness=1.0):
    r"""Energy of the continuous modern Hopfield network (Ramsauer et al. 2020, eq. 2).

    .. math::  E(x) = -\tfrac1\lambda \log \sum_\mu e^{\lambda \xi_\mu \cdot x} + \tfrac12 x \cdot x
               + \tfrac1\lambda \log P + \tfrac12 M^2 ,\qquad M = \max_\mu |\xi_\mu| .

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
    xi, x, sharpness = _softmax_args(patterns, state, "state", sharpness)
    return nan_unless_sharp(softmax_energy_masked(xi, jnp.ones((xi.shape[0],), bool), x, sharpness), sharpness)


def softmax_retrieve(patterns, probe, sharpness=1.0, n_steps: int = 1) -> SoftmaxResult:
    r"""Iterate :func:`softmax_update` ``n_steps`` times from ``probe``; record overlaps and energies.

    With well-separated patterns and :math:`\lambda` large enough one step
    lands next to the closest pattern (Ramsauer et al.'s exponentially small
    retrieval error); small :math:`\lambda` gives metastable averages of several
    patterns. ``sharpness`` is traced; ``n_steps`` is static.

    ``patterns``, ``sharpness`` as in :func:`softmax_update`; ``probe`` ``(..., N)``
    real initial states; ``n_steps >= 1``. Returns a :class:`SoftmaxResult`
    (``overlaps`` are cosine similarities).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> from jaxstat.hopfield import softmax_retrieve
      >>> xi = jax.random.rademacher(jax.random.key(0), (500, 100), dtype=jnp.float32)  # alpha = 5
      >>> probe = hopfield.corrupt(jax.random.key(1), xi[0], 0.2)
      >>> r = softmax_retrieve(xi, probe, sharpness=1.0)
      >>> r.overlaps.shape, round(float(r.overlaps[0, 0]), 3), round(float(r.overlaps[-1, 0]), 3)
      ((2, 500), 0.6, 1.0)
    """
    xi, x0, sharpness = _softmax_args(patterns, probe, "probe", sharpness)
    n_steps = check_positive_int(n_steps, "n_steps")
    return _softmax_retrieve(xi, x0, sharpness, n_steps=n_steps)


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _softmax_retrieve(xi, x0, sharpness, *, n_steps):
    mask = jnp.ones((xi.shape[0],), bool)

    def observe(x):
        return cosine(xi, x), softmax_energy_masked(xi, mask, x, sharpness)

    def step(x, _):
        x = softmax_update_masked(xi, mask, x, sharpness)
        return x, observe(x)

    x, (m, e) = jax.lax.scan(step, x0, None, length=n_steps)
    m0, e0 = observe(x0)
    # scan stacks steps on axis 0; move them behind the probe's batch axes
    m = jnp.moveaxis(jnp.concatenate([m0[None], m]), 0, -2)
    e = jnp.moveaxis(jnp.concatenate([e0[None], e]), 0, -1)
    # a traced sharpness <= 0 cannot raise: NaN, never a plausible state
    return SoftmaxResult(*(nan_unless_sharp(a, sharpness) for a in (x, m, e)))


