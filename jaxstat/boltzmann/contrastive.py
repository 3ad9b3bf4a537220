r"""The contrastive-divergence gradient of an RBM, and the block-Gibbs sweeps it needs.

The log-likelihood gradient of an RBM is a difference of two expectations of
the free-energy gradient,

.. math:: -\nabla_\theta \log p(v) = \nabla_\theta F(v)
          - \mathbb{E}_{v' \sim p}\left[\nabla_\theta F(v')\right],

so one minibatch step minimises the surrogate loss

.. math:: L(\theta) = \frac{1}{B}\sum_{b} F_\theta(v_b)
          - \frac{1}{C}\sum_{c} F_\theta(\operatorname{sg}(v'_c)),

with ``sg`` the stop-gradient and ``v'`` the negative ("model") samples of
``C`` Gibbs chains. ``jax.grad(L)`` is the update: for the weights it is
``-(<v p(h|v)>_data - <v p(h|v)>_model)``, the textbook
``<v h>_data - <v h>_model`` with each ``h`` replaced by its conditional
mean (a Rao–Blackwellised estimate, the same one scikit-learn uses);
``test_boltzmann_train.py`` checks the equality. No gradient is written by
hand, so Gaussian–Bernoulli RBMs (``sigma`` included) train with the same
code. :mod:`jaxstat.boltzmann.train` drives it over epochs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from jaxstat._validate import check_key, check_positive_int
from jaxstat.boltzmann.rbm import (  # _hidden_input, _visible_quadratic: the terms of free_energy
    RBM,
    _hidden_input,
    _visible_quadratic,
    check_params,
    check_visible,
    free_energy,
    hidden_probs,
    visible_probs,
)
from jaxstat.mcmc.base import uniform_open

__all__ = ["contrastive_loss", "cd_gradient"]


def contrastive_loss(params: RBM, v_data, v_model) -> jax.Array:
    r"""``mean F(v_data) - mean F(sg(v_model))``: ``jax.grad`` of it is the CD/PCD update.

    Its value is not a log-likelihood (the log Z terms are missing); only its
    gradient is meaningful.

    Args:
      params: an :class:`~jaxstat.boltzmann.RBM`.
      v_data: ``(B, n_visible)`` a data minibatch.
      v_model: ``(C, n_visible)`` negative samples (gradients are stopped).

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import rbm
    >>> p = rbm(jax.random.key(0), 3, 2)
    >>> float(contrastive_loss(p, jnp.ones((4, 3)), jnp.ones((2, 3))))
    0.0
    """
    v_model = jax.lax.stop_gradient(v_model)
    return jnp.mean(free_energy(params, v_data)) - jnp.mean(free_energy(params, v_model))


@jax.custom_jvp
def _softplus(x):
    return jax.nn.softplus(x)


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    # softplus' = sigmoid. jax.nn.softplus differentiates through logaddexp,
    # whose derivative compiled to twice the rest of a training step on CPU;
    # this sigmoid is also the one hidden_probs computes, so XLA shares it.
    (x,), (dx,) = primals, tangents
    return _softplus(x), jax.nn.sigmoid(x) * dx


def _free_energy(params: RBM, v):
    """:func:`~jaxstat.boltzmann.free_energy` (same formula, same values) with the cheap softplus rule."""
    return _visible_quadratic(params, v) - jnp.sum(_softplus(_hidden_input(params, v)), axis=-1)


def stacked_gradient(params: RBM, v_data, v_model):
    """``jax.grad(contrastive_loss)`` and ``p(h | v_model)``, in fewer products.

    Data and chains are stacked into one batch with weights ``1/B`` and
    ``-1/C``, so each layer costs one matrix product instead of two; the
    gradient is that of :func:`contrastive_loss` exactly, and
    ``p(h | v_model)`` is the same product as in the gradient's forward
    pass, which XLA computes once.
    """
    both = jnp.concatenate([v_data, jax.lax.stop_gradient(v_model)])
    n, c = v_data.shape[0], v_model.shape[0]
    weights = jnp.concatenate([jnp.full((n,), 1 / n, both.dtype), jnp.full((c,), -1 / c, both.dtype)])
    grads = jax.grad(lambda p: _free_energy(p, both) @ weights)(params)
    return grads, hidden_probs(params, both)[n:]


def sweep_noise(key, params: RBM, shape):
    """Per-sweep randomness: uniforms for binary units, normals for Gaussian visible ones."""
    # The fusible Threefry of jaxstat.mcmc: half the cost of jax.random.uniform
    # here. Comparing logit(u) < x instead of u < p was slower (two logs per
    # variate cost more than the sigmoid they save).
    k_h, k_v = jax.random.split(key)
    dtype = params.W.dtype
    u_h = uniform_open(k_h, (*shape, params.n_hidden), dtype)
    if params.sigma is None:
        return u_h, uniform_open(k_v, (*shape, params.n_visible), dtype)
    return u_h, jax.random.normal(k_v, (*shape, params.n_visible), dtype)


def hidden_from(params: RBM, v, u_h):
    return (u_h < hidden_probs(params, v)).astype(v.dtype)


def visible_from(params: RBM, h, z_v):
    mean = visible_probs(params, h)
    if params.sigma is None:
        return (z_v < mean).astype(h.dtype)
    return mean + params.sigma * z_v


def update_step(optimizer, k, params, opt_state, h, v_data, u_h, z_v):
    """One minibatch update; ``h`` is the chains' hidden layer; noise is ``(k, C, .)``."""
    for i in range(k):  # k is small and static: unrolled sweeps h -> v -> h
        v_model = visible_from(params, h, z_v[i])
        if i < k - 1:
            h = hidden_from(params, v_model, u_h[i])
    grads, p_h = stacked_gradient(params, v_data, v_model)
    # Sampled with the parameters the gradient saw: p(h | v_model) is a
    # product the gradient computed anyway.
    h = (u_h[k - 1] < p_h).astype(h.dtype)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, h, v_model


def cd_gradient(key, params: RBM, v, k: int = 1, chains=None):
    r"""The CD-k (or, given ``chains``, PCD) gradient for one minibatch, by autodiff.

    The negative samples ``v'`` come from ``k`` block-Gibbs sweeps starting at
    the data ``v`` (CD) or at ``chains`` (PCD); the gradient is
    ``jax.grad`` of :func:`contrastive_loss`, which equals

    .. math:: -\left(\langle v\, p(h|v)^\top \rangle_{\text{data}}
              - \langle v'\, p(h|v')^\top \rangle_{\text{model}}\right)

    for ``W`` (and the same with ``v`` or ``p(h|v)`` alone for ``a`` and ``b``):
    a descent direction for the negative log-likelihood.

    Args:
      key: PRNG key for the Gibbs sweeps.
      params: an :class:`~jaxstat.boltzmann.RBM`.
      v: ``(B, n_visible)`` data minibatch.
      k: Gibbs sweeps (>= 1).
      chains: ``(C, n_visible)`` starting points of persistent chains, or ``None``.

    Returns:
      ``(grads, v_model)``: an ``RBM`` of gradients and the ``(C, n_visible)``
      negative samples they used.

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import rbm
    >>> p = rbm(jax.random.key(0), 4, 3)
    >>> g, v_model = cd_gradient(jax.random.key(1), p, jnp.ones((5, 4)), k=2)
    >>> g.W.shape, v_model.shape
    ((4, 3), (5, 4))
    """
    key = check_key(key)
    params = check_params(params)
    v = check_visible(params, v, "v")
    k = check_positive_int(k, "k")
    start = v if chains is None else check_visible(params, chains, "chains")
    if v.ndim != 2 or start.ndim != 2:
        raise ValueError(f"v and chains must have shape (n, n_visible); got {tuple(v.shape)}, {tuple(start.shape)}")
    return _cd_gradient(key, params, v, start, k)


@functools.partial(jax.jit, static_argnames="k")
def _cd_gradient(key, params, v, start, k):
    u_h, z_v = sweep_noise(key, params, (k, start.shape[0]))
    v_model = start
    for i in range(k):
        v_model = visible_from(params, hidden_from(params, v_model, u_h[i]), z_v[i])
    return stacked_gradient(params, v, v_model)[0], v_model
