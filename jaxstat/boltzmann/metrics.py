r"""Cheap training metrics for RBMs that need no partition function.

- :func:`pseudo_log_likelihood`: ``Σ_i log p(v_i | v_{-i})``, exactly or by
  scikit-learn's one-random-bit estimate.
- :func:`reconstruction_error`: squared error of a mean-field reconstruction.

Neither is a likelihood: for that use
:func:`~jaxstat.boltzmann.log_likelihood` with an exact or AIS ``log Z``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxstat._validate import check_key
from jaxstat.boltzmann import _core
from jaxstat.boltzmann.rbm import RBM, check_params, check_visible

__all__ = ["pseudo_log_likelihood", "reconstruction_error"]


def _pll_exact_one(params: RBM, v):
    r"""``Σ_i log sigmoid(F(v^{(i)}) - F(v))`` for one sample, without building the N flipped copies.

    Flipping bit i changes ``v.a`` by ``d_i a_i`` and the hidden inputs by
    ``d_i W_i`` with ``d_i = 1 - 2 v_i``, so all N free energies come from one
    ``(N, n_hidden)`` array rather than N full products.
    """
    d = 1 - 2 * v
    x = _core.hidden_input(params, v)
    sp = jnp.sum(jax.nn.softplus(x))
    sp_flipped = jnp.sum(jax.nn.softplus(x + d[:, None] * params.W), axis=-1)
    # F(v^(i)) - F(v) = -d_i a_i - (sp_flipped_i - sp)
    delta = -d * params.a - (sp_flipped - sp)
    return jnp.sum(jax.nn.log_sigmoid(delta))


def pseudo_log_likelihood(params: RBM, v, key=None, per_sample: bool = False) -> jax.Array:
    r"""Pseudo-log-likelihood of binary data, ``PL(v) = Σ_i log p(v_i | v_{-i})``.

    Each conditional compares ``v`` with ``v^{(i)}``, ``v`` with bit ``i``
    flipped: ``p(v_i | v_{-i}) = sigmoid(F(v^{(i)}) - F(v))``.

    - ``key=None`` (exact): the sum over all ``N = n_visible`` bits, one
      ``O(N · n_hidden)`` pass per sample.
    - ``key`` given (scikit-learn's ``BernoulliRBM.score_samples``): one
      bit ``i`` chosen uniformly per sample, ``N · log sigmoid(F(v^{(i)}) - F(v))``,
      an unbiased one-term estimate of the exact value (noisy per sample;
      fine averaged over a data set). Use it to compare with scikit-learn.

    Args:
      params: a Bernoulli RBM.
      v: binary data ``(..., n_visible)``.
      key: PRNG key for the random-bit estimate, or None for the exact sum.
      per_sample: return one value per sample (``v.shape[:-1]``) instead of the mean.

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.zeros((3, 2)), a=jnp.zeros(3), b=jnp.zeros(2))
    >>> round(float(pseudo_log_likelihood(p, jnp.array([[0, 1, 1]]))), 4)   # 3 log(1/2)
    -2.0794
    """
    params = check_params(params)
    if params.sigma is not None:
        raise ValueError(
            "pseudo_log_likelihood flips binary visible units; params is Gaussian-Bernoulli (sigma is set)"
        )
    v = check_visible(params, v)
    batch = v.shape[:-1]
    flat = v.reshape(-1, v.shape[-1])
    if key is None:
        # lax.map in blocks: (block, N, n_hidden) at a time, not (n_samples, N, n_hidden)
        pl = jax.lax.map(lambda x: _pll_exact_one(params, x), flat, batch_size=256)
    else:
        key = check_key(key)
        n = flat.shape[-1]
        i = jax.random.randint(key, flat.shape[:1], 0, n)
        flipped = flat.at[jnp.arange(flat.shape[0]), i].set(1 - flat[jnp.arange(flat.shape[0]), i])
        pl = n * jax.nn.log_sigmoid(_core.free_energy(params, flipped) - _core.free_energy(params, flat))
    pl = pl.reshape(batch)
    return pl if per_sample else jnp.mean(pl)


def reconstruction_error(params: RBM, v) -> jax.Array:
    r"""Mean squared error of a one-step mean-field reconstruction.

    ``v̂ = E[v | h = p(h = 1 | v)]``: the hidden probabilities are fed back as
    mean-field activities, ``v̂ = sigmoid(a + W p_h)`` for Bernoulli units
    (``a + σ W p_h`` for Gaussian ones); the result is ``mean((v - v̂)²)``
    over samples and units. It tracks training progress cheaply but is not
    a likelihood (a model can reconstruct well and sample badly).

    Args:
      params: an RBM.
      v: data ``(..., n_visible)`` (binary, or real for Gaussian units).

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.zeros((2, 1)), a=jnp.zeros(2), b=jnp.zeros(1))
    >>> float(reconstruction_error(p, jnp.array([[1, 0]])))   # v̂ = (1/2, 1/2)
    0.25
    """
    params = check_params(params)
    v = check_visible(params, v)
    v_hat = _core.visible_mean(params, _core.hidden_probs(params, v))
    return jnp.mean((v - v_hat) ** 2)
