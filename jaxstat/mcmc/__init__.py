"""Monte Carlo samplers as pytrees with ``init`` and ``step``, and the run driver.

``step(key, state, beta) -> (state, info)`` performs one step (a sweep, a
cluster, an exchange round); ``beta`` is traced (no recompilation for a new
temperature), the model's arrays are leaves of the sampler (no
recompilation for new couplings), and one chain is the unit (``jax.vmap``
for many).
"""

from jaxstat.mcmc.base import (
    Sampler,
    SpinState,
    SweepInfo,
    default_observe,
    register_sampler,
    static_field,
)
from jaxstat.mcmc.batched import Chains, chains
from jaxstat.mcmc.cluster import SwendsenWang, SwendsenWangInfo, Wolff, WolffInfo, swendsen_wang, wolff
from jaxstat.mcmc.domain import DecomposedCheckerboard, lattice_sharded
from jaxstat.mcmc.driver import run
from jaxstat.mcmc.kawasaki import Kawasaki, kawasaki
from jaxstat.mcmc.tempering import ParallelTempering, TemperingInfo, TemperingState, parallel_tempering
from jaxstat.mcmc.packed import PackedCheckerboard, PackedState, pack_spins, unpack_spins
from jaxstat.mcmc.ladder import LadderTuning, equal_rejection_ladder, tune_ladder
from jaxstat.mcmc.single_site import SingleSpin, glauber, metropolis, single_spin
from jaxstat.mcmc.two_colour import Checkerboard, checkerboard

__all__ = [
    "Sampler",
    "SpinState",
    "SweepInfo",
    "register_sampler",
    "static_field",
    "SingleSpin",
    "Checkerboard",
    "metropolis",
    "glauber",
    "single_spin",
    "checkerboard",
    "DecomposedCheckerboard",
    "PackedCheckerboard",
    "PackedState",
    "pack_spins",
    "unpack_spins",
    "lattice_sharded",
    "SwendsenWang",
    "SwendsenWangInfo",
    "Wolff",
    "WolffInfo",
    "swendsen_wang",
    "wolff",
    "Kawasaki",
    "kawasaki",
    "ParallelTempering",
    "TemperingInfo",
    "TemperingState",
    "parallel_tempering",
    "LadderTuning",
    "tune_ladder",
    "equal_rejection_ladder",
    "Chains",
    "chains",
    "run",
    "default_observe",
]
