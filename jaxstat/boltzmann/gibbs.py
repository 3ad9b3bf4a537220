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
from jaxstat.boltzmann import _core
from jaxstat.boltzmann.rbm import RBM, check_params, check_visible
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


@register_sampler
class BlockGibbs(Sampler):
    """Block Gibbs sampler of an RBM (a pytree: the parameters are leaves).
    Built and validated by :func:`block_gibbs`."""

    params: RBM

    @property
    def site_shape(self) -> tuple:
        return (self.params.n_visible,)

    def init(self, spins) -> GibbsState:
        # Traced Bernoulli states other than 0/1 become NaN here (check_visible), and stay NaN.
        v = check_visible(self.params, spins, "spins")
        if v.shape != self.site_shape:
            raise ValueError(
                f"spins must be one visible configuration of shape {self.site_shape} (vmap init over chains); "
                f"got shape {tuple(v.shape)}"
            )
        h = jnp.zeros((self.params.n_hidden,), v.dtype)
        return GibbsState(spins=v, hidden=h, energy=_core.joint_energy(self.params, v, h))

    def step(self, key, state: GibbsState, beta):
        params = self.params
        dtype = params.W.dtype
        if not isinstance(state, GibbsState) or state.spins.shape != self.site_shape:
            raise ValueError(
                f"state must be a GibbsState of this RBM's init (spins of shape {self.site_shape}); "
                f"got {type(state).__name__}"
            )
        beta = as_beta(beta, dtype)
        v = state.spins
        u_h, z_v = _core.sweep_noise(key, params, ())
        new_v, h = _core.gibbs_sweep(params, v, u_h, z_v, beta)
        # A traced negative or NaN beta cannot raise: every floating output is NaN
        # (NaN visible units already propagate through the sweep).
        new_v, h = invalid_beta_to_nan(new_v, beta), invalid_beta_to_nan(h, beta)
        energy = _core.joint_energy(params, new_v, h)
        changed = invalid_beta_to_nan(jnp.mean((new_v != v).astype(dtype)), beta)
        changed = jnp.where(jnp.isnan(energy), jnp.nan, changed)
        return GibbsState(spins=new_v, hidden=h, energy=energy), SweepInfo(changed)

    def observe(self, state: GibbsState) -> dict:
        """The default record: the joint energy, the free energy :math:`F(v)` at beta = 1
        and the mean visible activity."""
        return {"energy": state.energy, "free_energy": _core.free_energy(self.params, state.spins),
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
