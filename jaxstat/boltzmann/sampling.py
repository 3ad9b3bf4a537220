r"""Sampling an RBM's layers: the conditionals, one block-Gibbs sweep, and chains of them.

:func:`sample_hidden` and :func:`sample_visible` draw one layer given the
other; :func:`gibbs_step` is one block-Gibbs sweep of a batch under one key;
:func:`gibbs_chain` is a thin wrapper that runs the
:func:`~jaxstat.boltzmann.block_gibbs` sampler with :func:`jaxstat.mcmc.run`,
one independent chain per row. All of them go through the one sweep of
:mod:`jaxstat.boltzmann._core`, as do the sampler and the trainer.

Inside ``jit``/``vmap`` values cannot be checked: Bernoulli visible states
other than 0 and 1 (a state of 2s, NaN) give NaN in every output instead of
plausible samples.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax

from jaxstat import mcmc
from jaxstat._validate import check_key, check_positive_int
from jaxstat.boltzmann import _core
from jaxstat.boltzmann.gibbs import block_gibbs
from jaxstat.boltzmann.rbm import RBM, check_hidden, check_params, check_visible

__all__ = ["GibbsSample", "gibbs_chain", "gibbs_step", "sample_hidden", "sample_visible"]


class GibbsSample(NamedTuple):
    """What :func:`gibbs_step` and :func:`gibbs_chain` return; unpacks as ``v, h``.

    Attributes:
      v: the new visible states, shaped like the input.
      h: the hidden states drawn in the (last) sweep, ``(..., n_hidden)``.
    """

    v: jax.Array
    h: jax.Array


def sample_hidden(key, params: RBM, v) -> jax.Array:
    """Draw ``h ~ p(h | v)`` (independent Bernoulli units), shape ``(..., n_hidden)``, in {0, 1}.

    ``v`` may be mean-field probabilities in [0, 1] (Bernoulli units).

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import RBM
    >>> p = RBM(W=jnp.zeros((2, 1)), a=jnp.zeros(2), b=jnp.array([50.0]))
    >>> sample_hidden(jax.random.key(0), p, jnp.zeros((3, 2))).tolist()   # p(h = 1) = sigmoid(50)
    [[1.0], [1.0], [1.0]]
    """
    key = check_key(key)
    params = check_params(params)
    v = check_visible(params, v, mean_field=True)
    u_h, _ = _core.sweep_noise(key, params, v.shape[:-1])
    return _core.sample_hidden(params, v, u_h)


def sample_visible(key, params: RBM, h) -> jax.Array:
    """Draw ``v ~ p(v | h)``: Bernoulli units in {0, 1}, or Gaussian ``N(a + σ W h, σ²)``.

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import RBM
    >>> p = RBM(W=jnp.zeros((2, 1)), a=jnp.array([-50.0, 50.0]), b=jnp.zeros(1))
    >>> sample_visible(jax.random.key(0), p, jnp.ones(1)).tolist()
    [0.0, 1.0]
    """
    key = check_key(key)
    params = check_params(params)
    h = check_hidden(params, h, mean_field=True)
    _, z_v = _core.sweep_noise(key, params, h.shape[:-1])
    return _core.sample_visible(params, h, z_v)


def gibbs_step(key, params: RBM, v) -> GibbsSample:
    """One block-Gibbs sweep: ``h ~ p(h | v)``, then ``v' ~ p(v | h)``; returns :class:`GibbsSample` ``(v', h)``.

    If ``v`` is distributed as the model's ``p(v)``, the pair ``(v', h)`` is
    distributed as the joint ``p(v, h)``. One key draws the whole batch.

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import rbm
    >>> p = rbm(jax.random.key(0), 4, 2)
    >>> v, h = gibbs_step(jax.random.key(1), p, jnp.zeros((3, 4)))
    >>> v.shape, h.shape
    ((3, 4), (3, 2))
    """
    key = check_key(key)
    params = check_params(params)
    v = _core.nan_unless_binary(params, check_visible(params, v))
    u_h, z_v = _core.sweep_noise(key, params, v.shape[:-1])
    return GibbsSample(*_core.gibbs_sweep(params, v, u_h, z_v))


def _final(state):  # module level: mcmc.run's compile cache sees one observe function
    return state.energy


@functools.partial(jax.jit, static_argnames="n_steps")
def _chains(keys, params, v0, n_steps):
    sampler = block_gibbs(params)

    def one(key, v):
        state, _ = mcmc.run(key, sampler, v, 1.0, n_steps, thin=n_steps, observe=_final)
        return state.spins, state.hidden

    return jax.vmap(one)(keys, v0)


def gibbs_chain(key, params: RBM, v0, n_steps: int) -> GibbsSample:
    """Run ``n_steps`` block-Gibbs sweeps from ``v0``: :func:`~jaxstat.boltzmann.block_gibbs` under :func:`jaxstat.mcmc.run`.

    ``v0`` is one visible state ``(n_visible,)`` or many ``(..., n_visible)``;
    each row is an independent chain (``jax.vmap`` of ``mcmc.run``, one key
    per chain split from ``key``). The number of steps sets the length of
    the scan, so each new ``n_steps`` compiles once.

    Returns:
      :class:`GibbsSample` ``(v, h)``: the final visible states (shaped like
      ``v0``) and the hidden states sampled in the last sweep.

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import rbm
    >>> p = rbm(jax.random.key(0), 4, 2)
    >>> v, h = gibbs_chain(jax.random.key(1), p, jnp.zeros((5, 4)), n_steps=10)
    >>> v.shape, h.shape
    ((5, 4), (5, 2))
    """
    key = check_key(key)
    params = check_params(params)
    v0 = check_visible(params, v0, "v0")
    n_steps = check_positive_int(n_steps, "n_steps")
    flat = v0.reshape(-1, v0.shape[-1])
    v, h = _chains(jax.random.split(key, flat.shape[0]), params, flat, n_steps=n_steps)
    return GibbsSample(v.reshape(v0.shape), h.reshape(v0.shape[:-1] + (params.n_hidden,)))
