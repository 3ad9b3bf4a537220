"""Masked kernels of the continuous (softmax) modern Hopfield network, shared by
:mod:`~jaxstat.hopfield.softmax` (one state, all patterns) and the capacity runs of
:mod:`~jaxstat.hopfield.dense` (padded patterns, masked rows)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def softmax_logits(xi, mask, x, sharpness):
    return jnp.where(mask, sharpness * (x @ xi.T), -jnp.inf)   # masked patterns get weight exp(-inf) = 0


def softmax_update_masked(xi, mask, x, sharpness):
    """``xi^T softmax(sharpness xi x)`` over the rows where ``mask`` is True."""
    return jax.nn.softmax(softmax_logits(xi, mask, x, sharpness), axis=-1) @ xi


def softmax_energy_masked(xi, mask, x, sharpness):
    """Ramsauer et al.'s energy over the rows where ``mask`` is True."""
    p = jnp.sum(mask).astype(xi.dtype)
    m2 = jnp.max(jnp.where(mask, jnp.sum(xi * xi, axis=-1), 0))
    lse = jax.nn.logsumexp(softmax_logits(xi, mask, x, sharpness), axis=-1)
    return -lse / sharpness + 0.5 * jnp.sum(x * x, axis=-1) + jnp.log(p) / sharpness + 0.5 * m2


def cosine(xi, x):
    """Cosine similarities of ``x`` (..., N) with every row of ``xi``; 0 for a zero vector."""
    dots = x @ xi.T
    norms = jnp.linalg.norm(x, axis=-1, keepdims=True) * jnp.linalg.norm(xi, axis=-1)
    return jnp.where(norms > 0, dots / jnp.where(norms > 0, norms, 1), 0)
