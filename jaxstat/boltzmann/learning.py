r"""Learning a fully connected Boltzmann machine: Monte Carlo statistics and the AHS rule.

The machine, its exact statistics and the gradient
:func:`~jaxstat.boltzmann.machine.ahs_gradient` are in
:mod:`jaxstat.boltzmann.machine`; this module estimates the two phases with
the foundation's samplers (:func:`sampled_statistics`) and runs the
Ackley–Hinton–Sejnowski rule with an exact or a sampled model term
(:func:`learn`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat import ising, mcmc
from jaxstat._validate import as_float_array, check_key, check_positive_int, is_concrete
from jaxstat.boltzmann.machine import (
    BoltzmannMachine,
    _check_data,
    _check_exact_size,
    _clamped_exact,
    _exact_impl,
    _model_phase_exact,
    ahs_gradient,
    check_params,
)

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
    """Result of :func:`learn`."""

    params: BoltzmannMachine  #: the trained machine
    log_likelihood: jax.Array | None  #: exact average log-likelihood after 0..n_steps updates, or ``None``


# --------------------------------------------------------------------------- #
# Monte Carlo statistics with the foundation's samplers
# --------------------------------------------------------------------------- #
def _spins(state):  # module-level so mcmc.run's compile cache sees one observe function
    return state.spins


def _chains(key, model, spins0, n_sweeps, burn_in):
    """Glauber chains at beta = 1 (vmapped over rows of spins0): final spins and per-chain <ss^T>."""
    sampler = mcmc.glauber(model)

    def one(k, s0):
        state, trace = mcmc.run(k, sampler, s0, 1.0, n_sweeps, burn_in=burn_in, observe=_spins)
        n = (trace + 1) / 2
        return state.spins, n.T @ n / n_sweeps

    return jax.vmap(one)(jax.random.split(key, spins0.shape[0]), spins0)


def _clamped_chains(key, params, data, hidden0, n_sweeps, burn_in):
    """Gibbs on the hidden units with v clamped: the Ising model of p(h | v), one chain per row."""
    nv = params.n_visible
    W = params.W

    def one(k, v, h0):
        model, _ = ising.from_neurons(W[nv:, nv:], -(W[nv:, :nv] @ v + params.b))
        h_spins, hh = _chains(k, model, h0[None], n_sweeps, burn_in)
        eh = jnp.diagonal(hh[0])
        return h_spins[0], jnp.block([[jnp.outer(v, v), jnp.outer(v, eh)], [jnp.outer(eh, v), hh[0]]])

    if params.n_hidden == 0:  # nothing to sample: the clamped phase is the data itself
        return hidden0, jax.vmap(jnp.outer)(data, data)
    return jax.vmap(one)(jax.random.split(key, data.shape[0]), data, hidden0)


def _random_spins(key, shape, dtype):
    return jax.random.rademacher(key, shape, dtype=dtype)


def _sampled_impl(key, params, data, n_chains, n_sweeps, burn_in):
    k_init, k_model, k_hinit, k_clamp = jax.random.split(key, 4)
    dt = params.W.dtype
    model, _ = ising.from_neurons(params.W, -params.bias)
    spins, per_chain = _chains(k_model, model, _random_spins(k_init, (n_chains, params.n_units), dt), n_sweeps, burn_in)
    corr, err = jnp.mean(per_chain, 0), jnp.std(per_chain, 0, ddof=1) / math.sqrt(n_chains)
    if data is None:
        return SampledStatistics(corr, err, None, None, (spins + 1) / 2)
    hidden0 = _random_spins(k_hinit, (data.shape[0], params.n_hidden), dt)
    _, per_row = _clamped_chains(k_clamp, params, data, hidden0, n_sweeps, burn_in)
    d = data.shape[0]
    d_err = jnp.std(per_row, 0, ddof=1) / math.sqrt(d) if d > 1 else jnp.full_like(corr, jnp.inf)
    return SampledStatistics(corr, err, jnp.mean(per_row, 0), d_err, (spins + 1) / 2)


_sampled_jit = jax.jit(_sampled_impl, static_argnames=("n_chains", "n_sweeps", "burn_in"))


def sampled_statistics(key, params: BoltzmannMachine, data=None, *, n_chains: int = 256,
                       n_sweeps: int = 100, burn_in: int = 100) -> SampledStatistics:
    r"""Model (and clamped) correlations from Glauber chains of :func:`jaxstat.mcmc.glauber`.

    Model phase: ``n_chains`` independent chains on :func:`to_ising` ``(params)``
    at ``beta = 1`` from random states, run by :func:`jaxstat.mcmc.run`
    (vmapped), ``burn_in`` sweeps discarded, then :math:`ss^\top` averaged over
    ``n_sweeps`` sweeps per chain; the error bar is the spread of the
    independent chain means. Clamped phase: one chain per data row on the
    hidden units alone (the Ising form of :math:`p(h \mid v)`). Its
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
    data = None if data is None else _check_data(params, data)
    return _sampled_jit(key, params, data, n_chains=n_chains, n_sweeps=n_sweeps, burn_in=burn_in)


# --------------------------------------------------------------------------- #
# learning
# --------------------------------------------------------------------------- #
def _update(params, data_corr, model_corr, lr):
    g = ahs_gradient(data_corr, model_corr, params.n_visible)
    return jax.tree.map(lambda p, d: p + lr * d, params, g)


def _log_likelihood(params, data):
    log_z, _ = _model_phase_exact(params)
    return jnp.mean(_clamped_exact(params, data)[0]) - log_z


def _learn_impl(key, params, data, lr, n_steps, method, n_chains, n_sweeps, burn_in, track):
    if method == "exact":
        def step(p, _):
            s = _exact_impl(p, data)
            return _update(p, s.data_correlation, s.correlation, lr), s.log_likelihood

        params, hist = jax.lax.scan(step, params, None, length=n_steps)
        return LearnResult(params, jnp.append(hist, _log_likelihood(params, data)))

    # Persistent chains (Younes 1989; Tieleman's PCD for the RBM): each step
    # continues the previous step's model and clamped chains, which track the
    # slowly changing distribution instead of re-equilibrating from scratch.
    # Burn-in runs as ceil(burn_in / n_sweeps) warm-up steps with lr = 0, so
    # the sampler is traced (and compiled) once per phase, not twice.
    n_warm = -(-burn_in // n_sweeps)
    k_spins, k_hidden, key = jax.random.split(key, 3)
    dt = params.W.dtype
    spins = _random_spins(k_spins, (n_chains, params.n_units), dt)
    hidden = _random_spins(k_hidden, (data.shape[0], params.n_hidden), dt)

    def step(carry, t):
        p, spins, hidden = carry
        k_model, k_clamp = jax.random.split(jax.random.fold_in(key, t))
        model, _ = ising.from_neurons(p.W, -p.bias)
        spins, model_c = _chains(k_model, model, spins, n_sweeps, 0)
        hidden, data_c = _clamped_chains(k_clamp, p, data, hidden, n_sweeps, 0)
        ll = _log_likelihood(p, data) if track else jnp.zeros((), dt)
        rate = jnp.where(t < n_warm, jnp.zeros_like(lr), lr)
        return (_update(p, jnp.mean(data_c, 0), jnp.mean(model_c, 0), rate), spins, hidden), ll

    (params, _, _), hist = jax.lax.scan(step, (params, spins, hidden), jnp.arange(n_warm + n_steps))
    return LearnResult(params, jnp.append(hist[n_warm:], _log_likelihood(params, data)) if track else None)


_learn_jit = jax.jit(_learn_impl, static_argnames=("n_steps", "method", "n_chains", "n_sweeps", "burn_in", "track"))


def learn(key, params: BoltzmannMachine, data, n_steps: int, lr=0.1, method: str = "exact", *,
          n_chains: int = 100, n_sweeps: int = 10, burn_in: int = 100,
          track_likelihood: bool | None = None) -> LearnResult:
    r"""Full-batch gradient ascent on the average log-likelihood with the AHS rule.

    Each step sets :math:`W \leftarrow W + \mathrm{lr}\,\Delta W`, :math:`c \leftarrow c + \mathrm{lr}\,\Delta c`
    with :func:`ahs_gradient` of the data and model correlations, which are
    exact (``method="exact"``, :func:`exact_statistics`) or sampled
    (``method="sampled"``): ``n_chains`` persistent Glauber chains for the
    model phase and one persistent hidden-unit chain per data row for the
    clamped phase, ``n_sweeps`` sweeps each per step, after ``burn_in`` sweeps
    at the start (rounded up to a multiple of ``n_sweeps``). The whole run is one compiled ``lax.scan``; ``lr`` is traced.

    Args:
      key: a PRNG key (unused by ``"exact"``, which is deterministic).
      params: the initial :class:`BoltzmannMachine`.
      data: visible vectors ``(n_samples, n_visible)`` in {0, 1}.
      n_steps: number of updates.
      lr: learning rate > 0.
      method: ``"exact"`` (``N <= MAX_EXACT_UNITS``) or ``"sampled"``.
      track_likelihood: record the exact log-likelihood each step (default:
        for ``"exact"``, and for ``"sampled"`` when ``N <= 12``).

    Returns:
      :class:`LearnResult`; ``log_likelihood[k]`` is the exact average
      log-likelihood after ``k`` updates, ``k = 0..n_steps``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat.boltzmann import bm, learn
      >>> data = jnp.repeat(jnp.array([[1., 1., 0.], [0., 0., 1.]]), 100, axis=0)
      >>> r = learn(jax.random.key(0), bm(jax.random.key(1), 3, 1), data, n_steps=300, lr=0.5,
      ...           method="sampled", n_chains=100, n_sweeps=5)
      >>> ll = r.log_likelihood  # exact, after 0..300 updates
      >>> ll.shape, round(float(ll[0]), 2), bool(ll[-1] > -0.8)  # from log 1/8 towards the bound log 1/2
      ((301,), -2.08, True)
    """
    check_key(key)
    check_params(params)
    data = _check_data(params, data)
    n_steps = check_positive_int(n_steps, "n_steps", minimum=1)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    lr_arr = as_float_array(lr, "lr", params.W.dtype)
    if lr_arr.ndim != 0 or (is_concrete(lr_arr) and not (math.isfinite(float(lr_arr)) and float(lr_arr) > 0)):
        raise ValueError(f"lr must be a finite scalar > 0; got {lr!r}")
    if track_likelihood is None:
        track_likelihood = method == "exact" or params.n_units <= 12
    if method == "exact" or track_likelihood:
        _check_exact_size(params, f"learn(method={method!r}, track_likelihood=True)")
    return _learn_jit(
        key, params, data, lr_arr, n_steps=n_steps, method=method, n_chains=check_positive_int(n_chains, "n_chains"),
        n_sweeps=check_positive_int(n_sweeps, "n_sweeps"), burn_in=check_positive_int(burn_in, "burn_in", minimum=0),
        track=bool(track_likelihood),
    )
