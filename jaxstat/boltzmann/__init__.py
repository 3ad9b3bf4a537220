r"""Boltzmann machines: restricted Boltzmann machines, their partition functions and metrics.

- :mod:`~jaxstat.boltzmann.rbm`: the :class:`RBM` parameters (Bernoulli–
  Bernoulli, or Gaussian–Bernoulli when ``sigma`` is set), :func:`rbm`,
  :func:`base_rate_bias`, :func:`energy`, :func:`free_energy`, the
  conditionals :func:`hidden_probs`, :func:`visible_probs`,
  :func:`visible_mean`;
  :mod:`~jaxstat.boltzmann.sampling`: block Gibbs sampling (:func:`sample_hidden`,
  :func:`sample_visible`, :func:`gibbs_step`, :func:`gibbs_chain`).
- :mod:`~jaxstat.boltzmann.gibbs`: :func:`block_gibbs`, the RBM's block
  Gibbs dynamics as a :mod:`jaxstat.mcmc` sampler (``mcmc.run`` and
  parallel tempering apply to it).
- :mod:`~jaxstat.boltzmann.partition`: :func:`exact_log_z` (enumerating
  the smaller layer), :func:`ais_log_z` (annealed importance sampling with
  an error bar), :func:`log_likelihood`.
- :mod:`~jaxstat.boltzmann.metrics`: :func:`pseudo_log_likelihood`,
  :func:`reconstruction_error`.
- :mod:`~jaxstat.boltzmann.train`: :func:`fit`, CD-k and persistent CD
  training with optax, whole epochs in one compiled scan;
  :mod:`~jaxstat.boltzmann.contrastive`: the CD gradient.
- :mod:`~jaxstat.boltzmann.machine`: the fully connected machine
  (:func:`bm`, :func:`bm_energy`, :func:`unit_probs`, :func:`to_ising`,
  :func:`ahs_gradient`); :mod:`~jaxstat.boltzmann.machine_exact`:
  :func:`exact_statistics` by enumeration;
  :mod:`~jaxstat.boltzmann.machine_gibbs`: :func:`bm_gibbs`, its Gibbs
  sampling as a :mod:`jaxstat.mcmc` sampler;
  :mod:`~jaxstat.boltzmann.learning`: :func:`sampled_statistics` and the
  Ackley–Hinton–Sejnowski rule :func:`learn`, a trainer of the same shape as
  :func:`fit` (optax optimizer, ``key``, optional ``batch_size``, result
  ``(params, chains, opt_state, history)``).

>>> import jax, jaxstat as js
>>> params = js.boltzmann.rbm(jax.random.key(0), 8, 6, scale=0.5)
>>> log_z = js.boltzmann.exact_log_z(params)
>>> estimate, stderr = js.boltzmann.ais_log_z(jax.random.key(1), params, n_runs=200, n_betas=300)
>>> bool(abs(estimate - log_z) < 4 * stderr)
True
"""

from jaxstat.boltzmann.contrastive import CDGradient, cd_gradient, contrastive_loss
from jaxstat.boltzmann.gibbs import BlockGibbs, GibbsState, block_gibbs
from jaxstat.boltzmann.learning import (
    LearnResult,
    SampledStatistics,
    learn,
    sampled_statistics,
)
from jaxstat.boltzmann.machine import (
    BoltzmannMachine,
    ahs_gradient,
    bm,
    bm_energy,
    bm_from_weights,
    conditional,
    to_ising,
    unit_probs,
)
from jaxstat.boltzmann.machine_exact import ExactStatistics, exact_statistics
from jaxstat.boltzmann.machine_gibbs import BMGibbs, BMGibbsState, bm_gibbs
from jaxstat.boltzmann.metrics import pseudo_log_likelihood, reconstruction_error
from jaxstat.boltzmann.partition import (
    MAX_EXACT_UNITS,
    AISResult,
    AISWeights,
    ais_log_weights,
    ais_log_z,
    exact_log_z,
    log_likelihood,
)
from jaxstat.boltzmann.rbm import (
    RBM,
    base_rate_bias,
    energy,
    free_energy,
    hidden_probs,
    rbm,
    visible_mean,
    visible_probs,
)
from jaxstat.boltzmann.sampling import (
    GibbsSample,
    gibbs_chain,
    gibbs_step,
    sample_hidden,
    sample_visible,
)
from jaxstat.boltzmann.train import FitResult, default_optimizer, fit

__all__ = [
    "MAX_EXACT_UNITS",
    "RBM",
    "AISResult",
    "AISWeights",
    "BMGibbs",
    "BMGibbsState",
    "BlockGibbs",
    "BoltzmannMachine",
    "CDGradient",
    "ExactStatistics",
    "FitResult",
    "GibbsSample",
    "GibbsState",
    "LearnResult",
    "SampledStatistics",
    "ahs_gradient",
    "ais_log_weights",
    "ais_log_z",
    "base_rate_bias",
    "block_gibbs",
    "bm",
    "bm_energy",
    "bm_from_weights",
    "bm_gibbs",
    "cd_gradient",
    "conditional",
    "contrastive_loss",
    "default_optimizer",
    "energy",
    "exact_log_z",
    "exact_statistics",
    "fit",
    "free_energy",
    "gibbs_chain",
    "gibbs_step",
    "hidden_probs",
    "learn",
    "log_likelihood",
    "pseudo_log_likelihood",
    "rbm",
    "reconstruction_error",
    "sample_hidden",
    "sample_visible",
    "sampled_statistics",
    "to_ising",
    "unit_probs",
    "visible_mean",
    "visible_probs",
]
