r"""Storage rules: Hebb, projection (pseudo-inverse) and Storkey.

Each rule maps ``(P, N)`` patterns of ±1 to ``(N, N)`` weights with a zero
diagonal that :func:`jaxstat.ising.dense` accepts.
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np

from jaxstat._validate import is_concrete
from jaxstat.hopfield._checks import check_patterns
from jaxstat.hopfield._storage import (
    hebbian_weights,
    projector,
    storkey_weights,
    zero_diagonal,
)

__all__ = ["hebbian", "pseudo_inverse", "storkey"]


# --------------------------------------------------------------------------- #
# storage rules
# --------------------------------------------------------------------------- #
def hebbian(patterns):
    r"""Hebb's rule :math:`W_{ij} = \frac1N \sum_\mu \xi^\mu_i \xi^\mu_j` for :math:`i \ne j`, :math:`W_{ii} = 0`.

    Random patterns are stable fixed points of zero-temperature dynamics up
    to the load :math:`\alpha_c \approx 0.138` (Amit, Gutfreund, Sompolinsky).

    Args:
      patterns: ``(P, N)`` array of ±1.

    Returns:
      Symmetric ``(N, N)`` weights with a zero diagonal, in the patterns'
      float dtype.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> hopfield.hebbian(jnp.array([[1, -1, 1, 1]]))
      Array([[ 0.  , -0.25,  0.25,  0.25],
             [-0.25,  0.  , -0.25, -0.25],
             [ 0.25, -0.25,  0.  ,  0.25],
             [ 0.25, -0.25,  0.25,  0.  ]], dtype=float32)
    """
    return hebbian_weights(check_patterns(patterns))


def pseudo_inverse(patterns):
    r"""Projection (pseudo-inverse) rule of Personnaz, Guyon and Dreyfus.

    .. math::  W = \tfrac1N\, \xi^T C^{-1} \xi ,\qquad C = \tfrac1N\, \xi \xi^T ,

    the orthogonal projector onto the span of the patterns, computed as
    :math:`V_r V_r^T` from the SVD :math:`\xi = U S V^T` truncated at the
    numerical rank r (no matrix inverse, so no NaN). With the diagonal kept,
    :math:`W \xi^\mu = \xi^\mu` exactly for every pattern, however
    correlated. **The diagonal is then set to zero** (the jaxstat model
    convention, and no self-coupling in the dynamics); pattern :math:`\mu`
    then gets the field :math:`(1 - W_{ii}) \xi^\mu_i`, still aligned with
    the pattern because a projector has :math:`0 \le W_{ii} \le 1` and
    :math:`W_{ii} < 1` unless the unit vector :math:`e_i` lies in the span.
    So every stored pattern remains an exact fixed point.

    Linearly dependent patterns (rank r < P) give the projector onto their
    r-dimensional span: a ``UserWarning`` names the rank, and every pattern
    is still stored. Patterns that span all of :math:`\mathbb R^N` (r = N,
    possible only for P >= N) make W the identity, zero after removing the
    diagonal: this raises a ``ValueError``. If some :math:`W_{ii} = 1` a
    warning says that those units get no field. Checks need concrete
    patterns; under ``jit`` the rule is computed without them.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> xi = jnp.array([[1., 1., 1., 1., -1.], [1., 1., 1., -1., 1.]])  # correlated
      >>> W = hopfield.pseudo_inverse(xi)
      >>> bool((jnp.sign(xi @ W.T) == xi).all())
      True
    """
    xi = check_patterns(patterns)
    p, n = xi.shape
    if is_concrete(xi):
        rank = int(np.linalg.matrix_rank(np.asarray(xi, np.float64)))
        if rank == n:
            raise ValueError(
                f"patterns span all of R^N (rank {rank} = N, with P = {p}): the projection rule gives the "
                "identity, which is zero once the diagonal is removed; store fewer than N independent patterns"
            )
        if rank < p:
            warnings.warn(
                f"patterns are linearly dependent (rank {rank} < P = {p}); the projection rule stores "
                f"their {rank}-dimensional span (pseudo-inverse of C)",
                UserWarning,
                stacklevel=2,
            )
    W = projector(xi)
    if is_concrete(W):
        d = float(jnp.max(jnp.diagonal(W)))
        if d > 1 - 1e-4:
            warnings.warn(
                f"projection has a diagonal entry W_ii = {d:.6f} ~ 1: a unit vector lies in the span of the "
                "patterns, so that unit gets no field once the diagonal is removed",
                UserWarning,
                stacklevel=2,
            )
    return zero_diagonal(W)


def storkey(patterns):
    r"""Storkey's (1997) incremental learning rule; the result depends on pattern order.

    Starting from :math:`W^0 = 0`, pattern :math:`\nu = 1 \dots P` updates

    .. math::  W^\nu_{ij} = W^{\nu-1}_{ij} + \tfrac1N \left( \xi_i \xi_j
               - \xi_i h_{ji} - h_{ij} \xi_j \right),\qquad
               h_{ij} = \sum_{k \ne i, j} W^{\nu-1}_{ik} \xi_k ,

    with :math:`\xi = \xi^\nu`, for :math:`i \ne j`; the diagonal stays zero.
    The rule is local and incremental like Hebb's, keeps W symmetric, and
    has a larger absolute capacity, :math:`N/\sqrt{2 \ln N}` against Hebb's
    :math:`N/(2 \ln N)`. Implemented as one
    ``lax.scan`` over the patterns.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> xi = jnp.array([[1., 1., -1., -1.]])
      >>> bool((hopfield.storkey(xi) == hopfield.hebbian(xi)).all())  # one pattern: Hebb
      True
    """
    return storkey_weights(check_patterns(patterns))


