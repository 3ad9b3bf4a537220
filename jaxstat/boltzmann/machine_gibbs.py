r"""Gibbs sampling of a fully connected Boltzmann machine as a :mod:`jaxstat.mcmc` sampler.

One ``step(key, state, beta)`` is one sweep of heat-bath updates, unit
``0, 1, ..., N-1`` in turn,

.. math:: p_\beta(s_i = 1 \mid s_{-i}) = \sigma\bigl(\beta (\textstyle\sum_j W_{ij} s_j + c_i)\bigr),

which leaves :math:`p_\beta(s) \propto e^{-\beta E(s)}` invariant. The
machine *is* the Ising model of :func:`~jaxstat.boltzmann.to_ising` (the
spin local field is half the membrane potential), so the sweep is the
library's one dense Glauber sweep (:func:`jaxstat.mcmc.glauber`) on that
model: the same zero-temperature tie rule, the same speed. The state speaks
the machine's language: ``spins`` are the units in {0, 1} and ``energy`` is
:func:`~jaxstat.boltzmann.bm_energy`.

The sampler is a pytree whose leaves are the machine's arrays, so
:func:`jaxstat.mcmc.run` compiled for one machine runs every other one of
the same shapes, and :func:`jaxstat.mcmc.parallel_tempering` tempers it.

Inside ``jit``/``vmap`` values cannot be checked: units other than 0 and 1
(±1 spins, 2s, NaN) and a negative or NaN ``beta`` give NaN in every
floating output of ``init`` and ``step`` (and so of ``mcmc.run``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat import ising
from jaxstat._validate import as_float_array, check_binary
from jaxstat.boltzmann.machine import BoltzmannMachine, check_params
from jaxstat.mcmc.base import Sampler, SpinState, as_beta, register_sampler
from jaxstat.mcmc.single_site import SingleSpin

__all__ = ["BMGibbs", "BMGibbsState", "bm_gibbs"]


class BMGibbsState(NamedTuple):
    """State of :class:`BMGibbs`.

    Attributes:
      spins: the units, ``(N,)`` in {0, 1} (visible first).
      field: cached Ising local fields of the spins ``2 s - 1``: half the
        membrane potentials ``(W s + c) / 2``, ``(N,)``.
      energy: the machine's energy :math:`E(s) = -\\tfrac12 s^\\top W s - c \\cdot s`.
    """

    spins: jax.Array
    field: jax.Array
    energy: jax.Array


@register_sampler
class BMGibbs(Sampler):
    """Gibbs sampler of a :class:`~jaxstat.boltzmann.BoltzmannMachine` (a pytree: the
    parameters are leaves). Built and validated by :func:`bm_gibbs`."""

    params: BoltzmannMachine

    @property
    def site_shape(self) -> tuple:
        return (self.params.n_units,)

    def _glauber(self):
        """The machine's Ising form and the dense Glauber sampler on it; ``E_BM = E_Ising + const``."""
        model, const = ising.from_neurons(self.params.W, -self.params.bias)
        return SingleSpin(model=model, rule="glauber"), const

    def init(self, spins) -> BMGibbsState:
        s = as_float_array(spins, "spins").astype(self.params.W.dtype)
        if s.shape != self.site_shape:
            raise ValueError(
                f"spins must be one configuration of the machine's units, shape {self.site_shape} "
                f"(vmap init over chains); got shape {tuple(s.shape)}"
            )
        s = check_binary(s, "spins", "only 0 and 1 (the machine's units, not ±1 spins)")
        glauber, const = self._glauber()
        inner = glauber.init(2 * s - 1)
        return BMGibbsState(spins=s, field=inner.field, energy=inner.energy + const)

    def step(self, key, state: BMGibbsState, beta):
        if not isinstance(state, BMGibbsState) or tuple(state.spins.shape) != self.site_shape:
            raise ValueError(
                f"state must be a BMGibbsState from this sampler's init (spins of shape {self.site_shape}); "
                f"got {type(state).__name__}"
            )
        beta = as_beta(beta, self.params.W.dtype)
        glauber, const = self._glauber()
        inner = SpinState(spins=2 * state.spins - 1, field=state.field, energy=state.energy - const)
        inner, info = glauber.step(key, inner, beta)
        # The heat bath would turn a NaN unit into a valid one, and a negative beta
        # into plausible units: such a step's every floating output is NaN instead.
        ok = jnp.all(jnp.isfinite(state.spins)) & (beta >= 0)
        nan_unless = lambda x: jnp.where(ok, x, jnp.nan)
        new = BMGibbsState(spins=(inner.spins + 1) / 2, field=inner.field, energy=inner.energy + const)
        return jax.tree.map(nan_unless, new), jax.tree.map(nan_unless, info)

    def observe(self, state: BMGibbsState) -> dict:
        """The default record: the energy and the mean activity of the units."""
        return {"energy": state.energy, "activity": jnp.mean(state.spins)}


def bm_gibbs(params: BoltzmannMachine) -> BMGibbs:
    r"""Gibbs sampler of a fully connected Boltzmann machine, in the :mod:`jaxstat.mcmc` protocol.

    ``step(key, state, beta)`` is one sequential sweep of heat-bath updates
    of all ``N`` units at inverse temperature ``beta`` (``beta = 1`` samples
    the machine's own distribution). Run it with :func:`jaxstat.mcmc.run`,
    temper it with :func:`jaxstat.mcmc.parallel_tempering`; vmap for many chains.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.boltzmann.bm(jax.random.key(0), 3, 2, scale=1.0)
      >>> sampler = js.boltzmann.bm_gibbs(m)
      >>> state, trace = js.mcmc.run(jax.random.key(1), sampler, jnp.zeros(5), 1.0, 100)
      >>> state.spins.shape, trace["energy"].shape, set(state.spins.tolist()) <= {0.0, 1.0}
      ((5,), (100,), True)
      >>> bool(jnp.allclose(state.energy, js.boltzmann.bm_energy(m, state.spins), atol=1e-5))
      True
    """
    return BMGibbs(params=check_params(params))
