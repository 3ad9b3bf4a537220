"""The storage rules on validated patterns: the kernels behind :mod:`jaxstat.hopfield.rules`,
shared with the capacity experiments (which call them on padded, masked patterns)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def zero_diagonal(W):
    return W * (1 - jnp.eye(W.shape[0], dtype=W.dtype))


def hebbian_weights(xi):
    """``xi^T xi / N`` with a zero diagonal (a zero row, a masked pattern, adds nothing)."""
    return zero_diagonal(xi.T @ xi / xi.shape[1])


def projector(xi):
    """Orthogonal projector onto the row span of xi, diagonal kept (zero rows are harmless)."""
    _, s, vt = jnp.linalg.svd(xi, full_matrices=False)
    tol = s[0] * max(xi.shape) * jnp.finfo(xi.dtype).eps
    v = vt.T * (s > tol)
    return v @ v.T


def storkey_weights(xi):
    """Storkey's rule as one ``lax.scan``; a zero row (a masked pattern) leaves W unchanged."""
    n = xi.shape[1]

    def learn(W, x):
        h = W @ x                          # W_ii = 0, so k != i already
        H = h[:, None] - W * x[None, :]    # h_ij: drop k = j
        dW = (jnp.outer(x, x) - x[:, None] * H.T - H * x[None, :]) / n
        return zero_diagonal(W + dW), None

    W, _ = jax.lax.scan(learn, jnp.zeros((n, n), xi.dtype), xi)
    return W


def weights(xi, rule):
    """The weights of ``rule`` ("hebbian", "pseudo_inverse" or "storkey") for patterns ``xi``."""
    if rule == "hebbian":
        return hebbian_weights(xi)
    if rule == "pseudo_inverse":
        return zero_diagonal(projector(xi))
    return storkey_weights(xi)
