r"""RBM block Gibbs sampling as a :mod:`jaxstat.mcmc` sampler.

At inverse temperature :math:`\beta` an RBM samples
:math:`p_\beta(v, h) \propto e^{-\beta E(v, h)}`. Given the visible layer the
hidden units are independent, and vice versa, so one step draws the whole
hidden layer, then the whole visible layer:

.. math:: h_j \sim \mathrm{Bernoulli}\bigl(\sigma(\beta(b_j + ((v/\sigma)^\top W)_j))\bigr),
          \qquad v_i \sim \mathrm{Bernoulli}\bigl(\sigma(\beta(a_i + (W h)_i))\bigr)

(Gaussian visible units: :math:`v_i \sim N(a_i + \sigma_i (W h)_i, \sigma_i^2/\beta)`,
improper at :math:`\beta = 0`, where the sampler returns NaN). Because the
sampler follows the protocol of :mod:`jaxstat.mcmc` (a pytree whose leaves
are the RBM's parameters; ``step(key, state, beta)``), ``mcmc.run`` drives
it and :func:`jaxstat.mcmc.parallel_tempering` tempers it: exchanges use the
joint energy :math:`E(v, h)`, which is exactly what the joint distribution
at each rung needs.

The state's ``spins`` are the visible units (0/1 for Bernoulli units, real
for Gaussian ones), ``hidden`` the hidden units last drawn, and ``energy``
:math:`E(v, h)`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat._validate import invalid_beta_to_nan
from jaxstat.boltzmann.rbm import (
    RBM,
    _free_energy,
    _hidden_input,
    _scaled,
    _visible_input,
    _visible_quadratic,
    check_params,
    check_visible,
)
from jaxstat.mcmc.base import Sampler, SweepInfo, as_beta, register_sampler

__all__ = ["BlockGibbs", "GibbsState", "block_gibbs"]


class GibbsState(NamedTuple):
    """State of :class:`BlockGibbs`.

    Attributes:
      spins: the visible units, ``(n_visible,)``.
      hidden: the hidden units last drawn, ``(n_hidden,)`` (zeros after ``init``).
      energy: the joint energy :math:`E(v, h)`.
    """

    spins: jax.Array
    hidden: jax.Array
    energy: jax.Array


def _joint_energy(params: RBM, v, h):
    return _visible_quadratic(params, v) - h @ params.b - (_scaled(params, v) @ params.W) @ h


@register_sampler
class BlockGibbs(Sampler):
    """Block Gibbs sampler of an RBM (a pytree: the parameters are leaves).
    Built and validated by :func:`block_gibbs`."""

    params: RBM

    @property
    def site_shape(self) -> tuple:
        return (self.params.n_visible,)

    def init(self, spins) -> GibbsState:
        v = check_visible(self.params, spins, "spins")
        if v.shape != self.site_shape:
            raise ValueError(
                f"spins must be one visible configuration of shape {self.site_shape} (vmap init over chains); "
                f"got shape {tuple(v.shape)}"
            )
        h = jnp.zeros((self.params.n_hidden,), v.dtype)
        return GibbsState(spins=v, hidden=h, energy=_joint_energy(self.params, v, h))

    def step(self, key, state: GibbsState, beta):
        params = self.params
        dtype = params.W.dtype
        if not isinstance(state, GibbsState) or state.spins.shape != self.site_shape:
            raise ValueError(
                f"state must be a GibbsState of this RBM's init (spins of shape {self.site_shape}); "
                f"got {type(state).__name__}"
            )
        beta = as_beta(beta, dtype)
        k_h, k_v = jax.random.split(key)
        v = state.spins
        h = (jax.random.uniform(k_h, (params.n_hidden,), dtype) < jax.nn.sigmoid(beta * _hidden_input(params, v)))
        h = h.astype(dtype)
        if params.sigma is None:
            p = jax.nn.sigmoid(beta * _visible_input(params, h))
            new_v = (jax.random.uniform(k_v, v.shape, dtype) < p).astype(dtype)
        else:
            mean = params.a + params.sigma * (params.W @ h)
            new_v = mean + params.sigma / jnp.sqrt(beta) * jax.random.normal(k_v, v.shape, dtype)
        energy = invalid_beta_to_nan(_joint_energy(params, new_v, h), beta)
        changed = jnp.mean((new_v != v).astype(dtype))
        return GibbsState(spins=new_v, hidden=h, energy=energy), SweepInfo(invalid_beta_to_nan(changed, beta))

    def observe(self, state: GibbsState) -> dict:
        """The default record: the joint energy, the free energy :math:`F(v)` at beta = 1
        and the mean visible activity."""
        return {"energy": state.energy, "free_energy": _free_energy(self.params, state.spins),
                "activity": jnp.mean(state.spins)}


def block_gibbs(params: RBM) -> BlockGibbs:
    r"""Block Gibbs sampler of an RBM, in the :mod:`jaxstat.mcmc` protocol.

    One ``step(key, state, beta)`` draws :math:`h \sim p_\beta(h|v)`, then
    :math:`v \sim p_\beta(v|h)`. Run it with :func:`jaxstat.mcmc.run`, temper
    it with :func:`jaxstat.mcmc.parallel_tempering`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> params = js.boltzmann.rbm(jax.random.key(0), 6, 4, scale=1.0)
      >>> pt = js.mcmc.parallel_tempering(js.boltzmann.block_gibbs(params), jnp.linspace(0.2, 1.0, 5))
      >>> state, trace = js.mcmc.run(jax.random.key(1), pt, jnp.zeros(6), None, 50)
      >>> state.spins.shape, trace["free_energy"].shape
      ((5, 6), (50, 5))
    """
    return BlockGibbs(params=check_params(params))
