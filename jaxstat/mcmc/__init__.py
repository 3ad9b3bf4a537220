"""Monte Carlo samplers as ``Sampler(init, step)`` pairs, and the run driver.

``step(key, state, beta) -> (state, info)`` performs one sweep; ``beta`` is
traced (no recompilation for a new temperature) and one chain is the unit
(``jax.vmap`` for many).
"""

from jaxstat.mcmc.base import Sampler, SpinState, SweepInfo, glauber_update, metropolis_update
from jaxstat.mcmc.two_colour import checkerboard
from jaxstat.mcmc.driver import default_observe, run
from jaxstat.mcmc.single_site import glauber, metropolis, single_spin

__all__ = [
    "Sampler",
    "SpinState",
    "SweepInfo",
    "metropolis",
    "glauber",
    "single_spin",
    "checkerboard",
    "run",
    "default_observe",
    "metropolis_update",
    "glauber_update",
]
