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
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxstat._validate import check_key, check_positive_int
from jaxstat.boltzmann import _core
from jaxstat.boltzmann.rbm import RBM, check_params, check_visible

__all__ = ["CDGradient", "cd_gradient", "contrastive_loss"]


class CDGradient(NamedTuple):
    """What :func:`cd_gradient` returns; unpacks as ``grads, v_model``.

    Attributes:
      grads: an :class:`~jaxstat.boltzmann.RBM` of gradients of :func:`contrastive_loss`.
      v_model: ``(C, n_visible)`` the negative samples they used.
    """

    grads: RBM
    v_model: jax.Array


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
    params = check_params(params)
    v_data, v_model = check_visible(params, v_data, "v_data"), check_visible(params, v_model, "v_model")
    v_model = jax.lax.stop_gradient(v_model)
    return jnp.mean(_core.free_energy(params, v_data)) - jnp.mean(_core.free_energy(params, v_model))


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
    grads = jax.grad(lambda p: _core.free_energy(p, both) @ weights)(params)
    return grads, _core.hidden_probs(params, both)[n:]


def update_step(optimizer, k, params, opt_state, h, v_data, u_h, z_v):
    """One minibatch update; ``h`` is the chains' hidden layer; noise is ``(k, C, .)``."""
    for i in range(k):  # k is small and static: unrolled sweeps h -> v -> h
        v_model = _core.sample_visible(params, h, z_v[i])
        if i < k - 1:
            h = _core.sample_hidden(params, v_model, u_h[i])
    grads, p_h = stacked_gradient(params, v_data, v_model)
    # Sampled with the parameters the gradient saw: p(h | v_model) is a
    # product the gradient computed anyway.
    h = _core.bernoulli(u_h[k - 1], p_h)
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
      :class:`CDGradient` ``(grads, v_model)``: an ``RBM`` of gradients and
      the ``(C, n_visible)`` negative samples they used.

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
    return CDGradient(*_cd_gradient(key, params, v, start, k))


@functools.partial(jax.jit, static_argnames="k")
def _cd_gradient(key, params, v, start, k):
    u_h, z_v = _core.sweep_noise(key, params, (k, start.shape[0]))
    v_model = start
    for i in range(k):
        v_model, _ = _core.gibbs_sweep(params, v_model, u_h[i], z_v[i])
    return stacked_gradient(params, v, v_model)[0], v_model
