"""jaxstat: statistical mechanics of neural networks in JAX.

Submodules load on first use, so ``import jaxstat`` stays light (it never
imports matplotlib)::

    import jaxstat as js
    m = js.ising.lattice((32, 32))
    sampler = js.mcmc.checkerboard(m)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("ising", "mcmc", "exact", "stats", "hopfield", "perceptron", "boltzmann", "datasets", "nets", "landscape", "plot", "cli", "tour", "parallel")
# Functions exported at the top level, loaded from their module on first use.
_FUNCTIONS = {"sweep": "jaxstat.sweeps"}

__all__ = list(_SUBMODULES) + list(_FUNCTIONS) + ["__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"jaxstat.{name}")
        globals()[name] = module
        return module
    if name in _FUNCTIONS:
        value = getattr(importlib.import_module(_FUNCTIONS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jaxstat' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_FUNCTIONS))
