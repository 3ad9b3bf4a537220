r"""The RBM formulas every module of :mod:`jaxstat.boltzmann` shares, unvalidated (internal).

One implementation of each: the inputs each layer receives, the free
energy, the joint energy, the conditionals at inverse temperature ``beta``
and the block-Gibbs sweep. The public functions of :mod:`~jaxstat.boltzmann.rbm`,
the sampler of :mod:`~jaxstat.boltzmann.gibbs`, the trainer and the
partition functions validate their arguments at the boundary and then call
these. Shapes follow :mod:`jaxstat.boltzmann.rbm`: ``v`` is ``(..., n_visible)``,
``h`` is ``(..., n_hidden)``.

Randomness comes in as arrays (``u_h`` uniforms on (0, 1) for the hidden
layer; ``z_v`` uniforms for Bernoulli or standard normals for Gaussian
visible units, see :func:`sweep_noise`), so a training epoch draws all its
numbers before its scan and a sampler draws them per step, through one sweep.

NaN propagates: a NaN unit input gives NaN units out (never a plausible 0),
so an invalid traced state stays visibly invalid through every sweep.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxstat.mcmc.base import uniform_open

__all__ = [
    "bernoulli",
    "free_energy",
    "gibbs_sweep",
    "hidden_input",
    "hidden_probs",
    "joint_energy",
    "nan_unless_binary",
    "sample_hidden",
    "sample_visible",
    "scaled",
    "sweep_noise",
    "visible_input",
    "visible_mean",
    "visible_quadratic",
]


def scaled(params, v):
    """The visible vector as the weights see it: ``v`` (Bernoulli) or ``v / σ`` (Gaussian)."""
    return v if params.sigma is None else v / params.sigma


def hidden_input(params, v):
    """``b + (v/σ)^T W``: the hidden units' total input, ``(..., n_hidden)``."""
    return params.b + scaled(params, v) @ params.W


def visible_input(params, h):
    """``a + W h``: the Bernoulli visible units' total input, ``(..., n_visible)``."""
    return params.a + h @ params.W.T


def visible_quadratic(params, v):
    """The visible self-energy: ``-v.a`` (Bernoulli) or ``Σ (v-a)²/2σ²`` (Gaussian)."""
    if params.sigma is None:
        return -(v @ params.a)
    return 0.5 * jnp.sum(((v - params.a) / params.sigma) ** 2, axis=-1)


@jax.custom_jvp
def softplus(x):
    """``log(1 + e^x)``, evaluated stably, with the derivative rule ``sigmoid``."""
    return jax.nn.softplus(x)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    # softplus' = sigmoid. jax.nn.softplus differentiates through logaddexp,
    # whose derivative compiled to twice the rest of a training step on CPU;
    # this sigmoid is also the one hidden_probs computes, so XLA shares it.
    (x,), (dx,) = primals, tangents
    return softplus(x), jax.nn.sigmoid(x) * dx


def free_energy(params, v):
    r"""``F(v) = visible_quadratic(v) - Σ_j softplus(b_j + ((v/σ)^T W)_j)``: ``p(v) ∝ e^{-F(v)}``."""
    return visible_quadratic(params, v) - jnp.sum(softplus(hidden_input(params, v)), axis=-1)


def joint_energy(params, v, h):
    """``E(v, h) = visible_quadratic(v) - h.b - (v/σ)^T W h``, batched over leading axes."""
    return visible_quadratic(params, v) - h @ params.b - jnp.sum((scaled(params, v) @ params.W) * h, axis=-1)


def hidden_probs(params, v, beta=1.0):
    """``p_β(h_j = 1 | v) = sigmoid(β (b_j + ((v/σ)^T W)_j))``."""
    return jax.nn.sigmoid(beta * hidden_input(params, v))


def visible_mean(params, h, beta=1.0):
    """``E_β[v | h]``: ``sigmoid(β (a + W h))`` (Bernoulli) or ``a + σ W h`` (Gaussian, any β)."""
    if params.sigma is None:
        return jax.nn.sigmoid(beta * visible_input(params, h))
    return params.a + params.sigma * (h @ params.W.T)


def bernoulli(u, p):
    """Units ``u < p`` (1.0 or 0.0) from uniforms ``u``; NaN where ``p`` is NaN."""
    # u in (0, 1): p = 0 never fires, p = 1 always does; a NaN probability gives NaN, not 0.
    return jnp.where(jnp.isnan(p), jnp.nan, (u < p).astype(p.dtype)).astype(p.dtype)


def sample_hidden(params, v, u_h, beta=1.0):
    """``h ~ p_β(h | v)`` from uniforms ``u_h`` shaped like ``h``."""
    return bernoulli(u_h, hidden_probs(params, v, beta))


def sample_visible(params, h, z_v, beta=1.0):
    """``v ~ p_β(v | h)`` from noise ``z_v``: uniforms (Bernoulli) or standard normals (Gaussian, variance σ²/β)."""
    mean = visible_mean(params, h, beta)
    if params.sigma is None:
        return bernoulli(z_v, mean)
    return mean + params.sigma / jnp.sqrt(beta) * z_v


def gibbs_sweep(params, v, u_h, z_v, beta=1.0):
    """One block-Gibbs sweep at ``beta``: ``h ~ p_β(h | v)``, then ``v' ~ p_β(v | h)``; returns ``(v', h)``."""
    h = sample_hidden(params, v, u_h, beta)
    return sample_visible(params, h, z_v, beta), h


def sweep_noise(key, params, shape):
    """The noise of ``gibbs_sweep`` for states of batch shape ``shape``: ``(u_h, z_v)``."""
    # The fusible Threefry of jaxstat.mcmc: half the cost of jax.random.uniform
    # here. Comparing logit(u) < x instead of u < p was slower (two logs per
    # variate cost more than the sigmoid they save).
    k_h, k_v = jax.random.split(key)
    dtype = params.W.dtype
    n_v, n_h = params.W.shape
    u_h = uniform_open(k_h, (*shape, n_h), dtype)
    if params.sigma is None:
        return u_h, uniform_open(k_v, (*shape, n_v), dtype)
    return u_h, jax.random.normal(k_v, (*shape, n_v), dtype)


def nan_unless_binary(params, v):
    """Bernoulli units: entries other than 0 and 1 (a traced value that could not be checked) become NaN."""
    if params.sigma is not None:
        return v
    return jnp.where((v == 0) | (v == 1), v, jnp.nan)
