r"""Observables and Monte Carlo error analysis.

Every function reads a *trace*: an array whose axis 0 is Monte Carlo time
(``n_samples``) and whose trailing axes are kept, so a trace of shape
``(n_samples, n_temperatures)`` gives one result per temperature. The
functions are pure ``jax.numpy`` code and also work under ``jax.vmap`` and
``jax.jit`` (then only shapes are validated, not values). Float dtypes are
preserved: float32 in, float32 out; float64 under ``jax_enable_x64``.

Autocorrelation convention (Sokal)
----------------------------------
For a stationary series with normalized autocorrelation :math:`\rho(t)`,

.. math:: \tau_{\rm int} = \tfrac12 + \sum_{t \ge 1} \rho(t),
          \qquad \mathrm{Var}(\bar x) \simeq \frac{2 \tau_{\rm int}\, \sigma^2}{n},
          \qquad n_{\rm eff} = \frac{n}{2 \tau_{\rm int}} .

Uncorrelated data have :math:`\tau_{\rm int} = 1/2` and :math:`n_{\rm eff} = n`;
an AR(1) process with coefficient :math:`\phi` has
:math:`\tau_{\rm int} = (1+\phi) / (2(1-\phi))`. (emcee and ArviZ report
:math:`1 + 2\sum_{t\ge1}\rho(t) = 2\tau_{\rm int}` instead; the effective
sample size is the same in both conventions.)
"""

from jaxstat.stats.errors import (
    autocorrelation,
    binning_error,
    blocking_error,
    blocking_levels,
    effective_sample_size,
    integrated_autocorrelation_time,
    mean_and_error,
)
from jaxstat.stats.free_energy import SteppingStone, stepping_stone
from jaxstat.stats.observables import binder_cumulant, specific_heat, susceptibility
from jaxstat.stats.streaming import Histogram, Streaming, StreamingSummary, merge, summarize

__all__ = [
    "susceptibility",
    "specific_heat",
    "binder_cumulant",
    "autocorrelation",
    "integrated_autocorrelation_time",
    "effective_sample_size",
    "binning_error",
    "blocking_levels",
    "blocking_error",
    "mean_and_error",
    "SteppingStone",
    "stepping_stone",
    "Streaming",
    "StreamingSummary",
    "Histogram",
    "summarize",
    "merge",
]
