r"""Learning a fully connected Boltzmann machine: Monte Carlo statistics and the AHS rule.

The machine, its exact statistics and the gradient
:func:`~jaxstat.boltzmann.machine.ahs_gradient` are in
:mod:`jaxstat.boltzmann.machine`; this module estimates the two phases with
the machine's Gibbs sampler (:func:`~jaxstat.boltzmann.bm_gibbs` under
:func:`jaxstat.mcmc.run`, :func:`sampled_statistics`) and trains it with the
Ackley–Hinton–Sejnowski rule, exact or sampled, through an optax optimizer
(:func:`learn`, the same trainer shape as the RBM's
:func:`~jaxstat.boltzmann.fit`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxstat import mcmc
from jaxstat._static import static  # re-created but equal callables share one compilation
from jaxstat._validate import check_key, check_positive_int
from jaxstat.boltzmann._training import (
    check_batch_size,
    check_observe,
    check_opt_state,
    check_optimizer,
    default_optimizer,
)
from jaxstat.boltzmann.machine import (
    BoltzmannMachine,
    ahs_gradient,
    check_data,
    check_exact_size,
    check_params,
    check_units,
)
from jaxstat.boltzmann.machine_exact import exact_impl
from jaxstat.boltzmann.machine_gibbs import BMGibbs

__all__ = ["LearnResult", "SampledStatistics", "learn", "sampled_statistics"]

METHODS = ("exact", "sampled")


class SampledStatistics(NamedTuple):
    """Monte Carlo averages (from :func:`sampled_statistics`), with standard errors over independent chains."""

    correlation: jax.Array  #: :math:`\langle s_i s_j \rangle_{\rm model}` estimate, ``(N, N)``
    correlation_stderr: jax.Array  #: its standard error (spread of the chain means / sqrt(n_chains))
    data_correlation: jax.Array | None  #: clamped-phase estimate of :math:`\langle s_i s_j \rangle_{\rm data}`
    data_correlation_stderr: jax.Array | None  #: spread over data rows / sqrt(n_data); see the function
    chains: jax.Array  #: final model-phase states, ``(n_chains, N)`` in {0, 1}

    @property
    def mean(self):
        return jnp.diagonal(self.correlation, axis1=-2, axis2=-1)


class LearnResult(NamedTuple):
    """What :func:`learn` returns (the same fields as :class:`~jaxstat.boltzmann.FitResult`).

    Attributes:
      params: the trained :class:`~jaxstat.boltzmann.BoltzmannMachine`.
      chains: ``(n_chains, N)`` the persistent model-phase chains in {0, 1}
        (``method="sampled"``; pass them back as ``chains=`` to continue),
        ``None`` for ``method="exact"``.
      opt_state: the optimizer state (pass back as ``opt_state=``).
      history: ``observe(params)`` after each step, stacked along a leading
        axis of length ``n_steps``; ``None`` without ``observe``.
    """

    params: BoltzmannMachine
    chains: jax.Array | None
    opt_state: Any
    history: Any


# --------------------------------------------------------------------------- #
# Monte Carlo statistics with the machine's Gibbs sampler
# --------------------------------------------------------------------------- #
def _units(state):  # module-level so mcmc.run's compile cache sees one observe function
    return state.spins


def _chains(key, params, units0, n_sweeps, burn_in):
    """Gibbs chains at beta = 1 (vmapped over rows of units0): final units and per-chain <ss^T>."""
    sampler = BMGibbs(params)  # validated by the caller; traced here

    def one(k, s0):
        state, trace = mcmc.run(k, sampler, s0, 1.0, n_sweeps, burn_in=burn_in, observe=_units)
        return state.spins, trace.T @ trace / n_sweeps

    return jax.vmap(one)(jax.random.split(key, units0.shape[0]), units0)


def _clamped_chains(key, params, data, hidden0, n_sweeps, burn_in):
    """Gibbs on the hidden units with v clamped (the machine of p(h | v)), one chain per row."""
    nv = params.n_visible
    W = params.W

    def one(k, v, h0):
        # p(h | v) is the machine on the hidden units alone, with biases b + W_hv v
        clamped = BoltzmannMachine(W[nv:, nv:], W[nv:, :nv] @ v + params.b, jnp.zeros((0,), W.dtype))
        h, hh = _chains(k, clamped, h0[None], n_sweeps, burn_in)
        eh = jnp.diagonal(hh[0])
        return h[0], jnp.block([[jnp.outer(v, v), jnp.outer(v, eh)], [jnp.outer(eh, v), hh[0]]])

    if params.n_hidden == 0:  # nothing to sample: the clamped phase is the data itself
        return hidden0, jax.vmap(jnp.outer)(data, data)
    return jax.vmap(one)(jax.random.split(key, data.shape[0]), data, hidden0)


def _random_units(key, shape, dtype):
    return jax.random.bernoulli(key, 0.5, shape).astype(dtype)


def _sampled_impl(key, params, data, n_chains, n_sweeps, burn_in):
    k_init, k_model, k_hinit, k_clamp = jax.random.split(key, 4)
    dt = params.W.dtype
    units, per_chain = _chains(k_model, params, _random_units(k_init, (n_chains, params.n_units), dt), n_sweeps,
                               burn_in)
    corr, err = jnp.mean(per_chain, 0), jnp.std(per_chain, 0, ddof=1) / math.sqrt(n_chains)
    if data is None:
        return SampledStatistics(corr, err, None, None, units)
    hidden0 = _random_units(k_hinit, (data.shape[0], params.n_hidden), dt)
    _, per_row = _clamped_chains(k_clamp, params, data, hidden0, n_sweeps, burn_in)
    d = data.shape[0]
    d_err = jnp.std(per_row, 0, ddof=1) / math.sqrt(d) if d > 1 else jnp.full_like(corr, jnp.inf)
    return SampledStatistics(corr, err, jnp.mean(per_row, 0), d_err, units)


_sampled_jit = jax.jit(_sampled_impl, static_argnames=("n_chains", "n_sweeps", "burn_in"))


def sampled_statistics(key, params: BoltzmannMachine, data=None, *, n_chains: int = 256,
                       n_sweeps: int = 100, burn_in: int = 100) -> SampledStatistics:
    r"""Model (and clamped) correlations from Gibbs chains of :func:`~jaxstat.boltzmann.bm_gibbs`.

    Model phase: ``n_chains`` independent chains of the machine at
    ``beta = 1`` from random states, run by :func:`jaxstat.mcmc.run`
    (vmapped), ``burn_in`` sweeps discarded, then :math:`ss^\top` averaged over
    ``n_sweeps`` sweeps per chain; the error bar is the spread of the
    independent chain means. Clamped phase: one chain per data row on the
    hidden units alone (the machine of :math:`p(h \mid v)`). Its
    ``data_correlation_stderr`` is the spread over rows / sqrt(rows): an upper
    bound on the Monte Carlo error (it includes the data's own variety), equal
    to it when the rows are identical.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat.boltzmann import bm, exact_statistics, sampled_statistics
      >>> m, data = bm(jax.random.key(0), 3, 1, scale=1.0), jnp.ones((300, 3))
      >>> r = sampled_statistics(jax.random.key(1), m, data, n_chains=400, n_sweeps=50, burn_in=50)
      >>> z = (r.correlation - exact_statistics(m).correlation) / r.correlation_stderr
      >>> r.correlation.shape, bool(abs(z).max() < 5)
      ((4, 4), True)
    """
    check_key(key)
    check_params(params)
    n_chains = check_positive_int(n_chains, "n_chains", minimum=2)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=1)
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    data = None if data is None else check_data(params, data)
    return _sampled_jit(key, params, data, n_chains=n_chains, n_sweeps=n_sweeps, burn_in=burn_in)


# --------------------------------------------------------------------------- #
# learning
# --------------------------------------------------------------------------- #
@functools.partial(jax.jit, static_argnames=("optimizer", "n_steps", "batch_size", "method", "n_sweeps", "n_warm",
                                             "observe"))
def _learn_impl(key, params, opt_state, data, units, *, optimizer, n_steps, batch_size, method, n_sweeps, n_warm,
                observe):
    k_hidden, k_batch, k_steps = jax.random.split(key, 3)
    n_data = data.shape[0]
    # one persistent hidden-unit chain per data row for the clamped phase
    hidden = _random_units(k_hidden, (n_data, params.n_hidden), params.W.dtype)

    def step(carry, t):
        p, opt_state, units, hidden = carry
        if batch_size == n_data:
            rows = jnp.arange(n_data)
        else:
            rows = jax.random.choice(jax.random.fold_in(k_batch, t), n_data, (batch_size,), replace=False)
        batch = data[rows]
        if method == "exact":
            s = exact_impl(p, batch)
            data_c, model_c = s.data_correlation, s.correlation
        else:
            # Persistent chains (Younes 1989; Tieleman's PCD for the RBM): each step
            # continues the previous step's model and clamped chains, which track the
            # slowly changing distribution instead of re-equilibrating from scratch.
            k_model, k_clamp = jax.random.split(jax.random.fold_in(k_steps, t))
            units, model_c = _chains(k_model, p, units, n_sweeps, 0)
            h_rows, data_c = _clamped_chains(k_clamp, p, batch, hidden[rows], n_sweeps, 0)
            hidden = hidden.at[rows].set(h_rows)
            data_c, model_c = jnp.mean(data_c, 0), jnp.mean(model_c, 0)
        # optax minimises: the gradient of -L is minus the AHS rule
        grads = jax.tree.map(jnp.negative, ahs_gradient(data_c, model_c, p.n_visible))
        updates, new_state = optimizer.update(grads, opt_state, p)
        new_p = optax.apply_updates(p, updates)
        if n_warm:  # burn-in steps move the chains only
            warm = t < n_warm
            new_p, new_state = jax.tree.map(lambda old, new: jnp.where(warm, old, new), (p, opt_state),
                                            (new_p, new_state))
        observed = None if observe is None else observe(new_p)
        return (new_p, new_state, units, hidden), observed

    (params, opt_state, units, _), history = jax.lax.scan(
        step, (params, opt_state, units, hidden), jnp.arange(n_warm + n_steps))
    if history is not None:
        history = jax.tree.map(lambda x: x[n_warm:], history)
    return params, opt_state, units, history


def learn(key, params: BoltzmannMachine, data, *, n_steps: int, optimizer: optax.GradientTransformation | None = None,
          batch_size: int | None = None, method: str = "exact", n_chains: int | None = None, n_sweeps: int = 10,
          burn_in: int = 100, chains=None, opt_state=None,
          observe: Callable[[BoltzmannMachine], Any] | None = None) -> LearnResult:
    r"""Train a Boltzmann machine on ``data`` with the AHS rule and an optax optimizer.

    Each step computes :func:`~jaxstat.boltzmann.ahs_gradient`, the gradient
    of the average log-likelihood, from the data (clamped) and model
    correlations, and hands minus it to ``optimizer`` (optax minimises).
    The correlations are exact (``method="exact"``,
    :func:`~jaxstat.boltzmann.exact_statistics`, ``N <= MAX_EXACT_UNITS``)
    or sampled (``method="sampled"``): ``n_chains`` persistent chains of
    :func:`~jaxstat.boltzmann.bm_gibbs` for the model phase and one
    persistent hidden-unit chain per data row for the clamped phase,
    ``n_sweeps`` sweeps each per step, after ``burn_in`` sweeps at the start
    (rounded up to a multiple of ``n_sweeps``) that move only the chains.
    The whole run is one compiled ``lax.scan``. The parameters and result
    have the names of the RBM trainer :func:`~jaxstat.boltzmann.fit`.

    Args:
      key: a PRNG key (minibatches; the chains of ``"sampled"``).
      params: the initial :class:`~jaxstat.boltzmann.BoltzmannMachine`.
      data: visible vectors ``(n_samples, n_visible)`` in {0, 1}.
      n_steps: number of updates (>= 1).
      optimizer: an optax ``GradientTransformation``; default
        :func:`~jaxstat.boltzmann.default_optimizer` (``optax.sgd(0.1)``).
      batch_size: rows per step, drawn without replacement; ``None``: all
        of ``data`` (full batch).
      method: ``"exact"`` or ``"sampled"``.
      n_chains: model-phase chains of ``"sampled"`` (default 100).
      n_sweeps: model-phase sweeps per step (``"sampled"``).
      burn_in: model-phase sweeps at the start (``"sampled"``).
      chains: ``(n_chains, N)`` model-phase chains to resume from (a
        previous ``LearnResult.chains``; ``"sampled"`` only).
      opt_state: optimizer state to resume from (a previous
        ``LearnResult.opt_state`` of the same optimizer).
      observe: optional ``observe(params) -> pytree``, evaluated (compiled)
        after each step, e.g. the exact log-likelihood
        ``lambda p: exact_statistics(p, data).log_likelihood``.

    Returns:
      :class:`LearnResult` ``(params, chains, opt_state, history)``.

    Example:
      >>> import jax, jax.numpy as jnp, optax
      >>> from jaxstat.boltzmann import bm, exact_statistics, learn
      >>> data = jnp.repeat(jnp.array([[1., 1., 0.], [0., 0., 1.]]), 100, axis=0)
      >>> log_lik = lambda p: exact_statistics(p, data).log_likelihood
      >>> r = learn(jax.random.key(0), bm(jax.random.key(1), 3, 1), data, n_steps=300, method="sampled",
      ...           optimizer=optax.sgd(0.5), n_chains=100, n_sweeps=5, observe=log_lik)
      >>> r.history.shape, r.chains.shape   # the exact log-likelihood after each update
      ((300,), (100, 4))
      >>> bool(r.history[-1] > -0.8)   # from log 1/8 = -2.08 towards the bound log 1/2
      True
    """
    key = check_key(key)
    params = check_params(params)
    data = check_data(params, data)
    n_steps = check_positive_int(n_steps, "n_steps", minimum=1)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    optimizer = check_optimizer(optimizer, default_optimizer())
    batch_size = check_batch_size(batch_size, data.shape[0])
    observe = check_observe(observe)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    k_init, key = jax.random.split(key)
    if method == "exact":
        check_exact_size(params, "learn(method='exact')")
        if chains is not None or n_chains is not None:
            raise ValueError("chains and n_chains are for method='sampled'; the exact method has no chains; got "
                             f"n_chains={n_chains!r}, chains of shape {jnp.shape(chains)}")
        units, n_warm = jnp.zeros((0, params.n_units), params.W.dtype), 0
    else:
        if chains is not None:
            if n_chains is not None:
                raise ValueError("pass n_chains or chains, not both; chains sets the number of chains")
            units = check_units(chains, params, params.n_units, "chains", min_ndim=2)
            if units.ndim != 2:
                raise ValueError(f"chains must have shape (n_chains, {params.n_units}); got shape {units.shape}")
        else:
            n_chains = 100 if n_chains is None else check_positive_int(n_chains, "n_chains")
            units = _random_units(k_init, (n_chains, params.n_units), params.W.dtype)
        # Burn-in runs as ceil(burn_in / n_sweeps) steps that move only the chains, so
        # the sampler is traced (and compiled) once per phase, not twice.
        n_warm = -(-burn_in // n_sweeps)
    opt_state = check_opt_state(opt_state, optimizer, params)
    params, opt_state, units, history = _learn_impl(
        key, params, opt_state, data, units, optimizer=static(optimizer), n_steps=n_steps, batch_size=batch_size,
        method=method, n_sweeps=n_sweeps, n_warm=n_warm, observe=static(observe))
    return LearnResult(params, units if method == "sampled" else None, opt_state, history)
