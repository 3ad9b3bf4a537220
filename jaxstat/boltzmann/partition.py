r"""Partition functions of RBMs: exact enumeration and annealed importance sampling.

:func:`exact_log_z` enumerates the *smaller* layer and sums the other one
analytically; :func:`ais_log_z` estimates ``log Z`` of models too large for
that, with an error bar; :func:`log_likelihood` turns either into the
average log-probability of data, ``log p(v) = -F(v) - log Z``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._states import binary_states, map_chunks
from jaxstat._validate import as_float_array, check_key, check_positive_int, is_concrete
from jaxstat.boltzmann import _core
from jaxstat.boltzmann.rbm import RBM, check_params, check_visible

__all__ = ["MAX_EXACT_UNITS", "AISResult", "AISWeights", "ais_log_weights", "ais_log_z", "exact_log_z", "log_likelihood"]

# 2^25 = 3.4e7 states of the smaller layer: seconds on a CPU for small other
# layers; beyond that enumeration stops being a reference and AIS takes over.
MAX_EXACT_UNITS = 25


# --------------------------------------------------------------------------- #
# exact enumeration
# --------------------------------------------------------------------------- #
def _log_weight_hidden(params: RBM, h):
    r"""``log Σ_v e^{-E(v, h)}`` (or the Gaussian integral), up to a constant, for states ``h``.

    Bernoulli: ``h.b + Σ_i softplus(a_i + (W h)_i)``. Gaussian: with
    ``c = W h``, completing the square in each ``v_i`` gives
    ``∫ dv_i e^{-(v_i-a_i)²/2σ_i² + v_i c_i/σ_i} = √(2π) σ_i e^{c_i²/2 + a_i c_i/σ_i}``,
    so the term is ``h.b + Σ_i (c_i²/2 + a_i c_i/σ_i)`` and the constant
    ``Σ_i log(√(2π) σ_i)`` is added once, outside.
    """
    c = h @ params.W.T
    if params.sigma is None:
        return h @ params.b + jnp.sum(jax.nn.softplus(params.a + c), axis=-1)
    return h @ params.b + jnp.sum(0.5 * c * c + params.a * c / params.sigma, axis=-1)


@functools.partial(jax.jit, static_argnames=("enumerate_visible", "chunk_size"))
def _exact_log_z(params: RBM, enumerate_visible: bool, chunk_size: int):
    n = params.W.shape[0] if enumerate_visible else params.W.shape[1]
    dtype = params.W.dtype
    n_states = 2**n

    def chunk_lse(idx):
        states = binary_states(idx, n, dtype)  # the one state numbering (jaxstat._states)
        terms = -_core.free_energy(params, states) if enumerate_visible else _log_weight_hidden(params, states)
        # the last chunk may run past 2^n: those indices are no states
        terms = jnp.where(idx < n_states, terms, -jnp.inf)
        return jax.nn.logsumexp(terms)

    # one logsumexp per chunk, then one across chunks: memory stays at one chunk
    log_z = jax.nn.logsumexp(map_chunks(chunk_lse, n, min(chunk_size, n_states)))
    if params.sigma is not None:
        log_z = log_z + jnp.sum(jnp.log(params.sigma)) + 0.5 * params.W.shape[0] * math.log(2 * math.pi)
    return log_z


def exact_log_z(params: RBM, chunk_size: int = 8192) -> jax.Array:
    r"""Exact ``log Z = log Σ_{v,h} e^{-E(v,h)}`` by enumerating the smaller layer.

    For a Bernoulli RBM with ``n_hidden <= n_visible`` the hidden states are
    enumerated and the visible units summed analytically,

    .. math:: \log Z = \log \sum_h \exp\Big(h \cdot b + \sum_i \operatorname{softplus}(a_i + (W h)_i)\Big),

    otherwise the visible states, ``log Z = log Σ_v e^{-F(v)}``. For a
    Gaussian–Bernoulli RBM the hidden layer is enumerated and the visible
    integral is Gaussian (see :func:`_log_weight_hidden`). The ``2^n``
    states go in chunks of ``chunk_size`` through ``lax.map``; each chunk is
    reduced by ``logsumexp`` and the chunks by another, so memory stays at
    one chunk and nothing overflows. Cost ``O(2^n · n_visible · n_hidden)``.

    Works under ``jit``/``vmap`` (then only shapes are validated) and in the
    parameters' dtype, float32 or float64.

    Args:
      params: an :class:`~jaxstat.boltzmann.RBM` whose enumerated layer (the
        smaller one; the hidden one for Gaussian RBMs) has at most
        ``MAX_EXACT_UNITS = 25`` units.
      chunk_size: states per chunk (static).

    Returns:
      a scalar in the dtype of ``params``.

    >>> import jax, jax.numpy as jnp
    >>> p = RBM(W=jnp.zeros((3, 2)), a=jnp.zeros(3), b=jnp.zeros(2))
    >>> round(float(exact_log_z(p)), 4), round(5 * math.log(2), 4)   # 2^5 states, all E = 0
    (3.4657, 3.4657)
    """
    params = check_params(params)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    n_v, n_h = params.W.shape
    if params.sigma is None:
        enumerate_visible = n_v < n_h
        n, layer = (n_v, "visible") if enumerate_visible else (n_h, "hidden")
    else:
        enumerate_visible, n, layer = False, n_h, "hidden (Gaussian visible units are integrated analytically)"
    if n > MAX_EXACT_UNITS:
        raise ValueError(
            f"exact_log_z enumerates 2^n states of the smaller layer, at most n = {MAX_EXACT_UNITS}; "
            f"the {layer} layer of params has n = {n} units (W shape {(n_v, n_h)}), which is too large: "
            "use ais_log_z(key, params) for an estimate with an error bar"
        )
    return _exact_log_z(params, enumerate_visible=enumerate_visible, chunk_size=chunk_size)


def log_likelihood(params: RBM, v, log_z=None, per_sample: bool = False) -> jax.Array:
    """Average log-probability of data, ``mean log p(v) = mean(-F(v)) - log Z``.

    Args:
      params: an RBM.
      v: data ``(..., n_visible)``, binary for Bernoulli units.
      log_z: ``log Z`` if known (from :func:`ais_log_z` for large models);
        default: :func:`exact_log_z`.
      per_sample: return ``log p(v)`` for each sample, shape ``v.shape[:-1]``,
        instead of the mean.

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.zeros((3, 2)), a=jnp.zeros(3), b=jnp.zeros(2))
    >>> round(float(log_likelihood(p, jnp.array([[0, 1, 0], [1, 1, 1]]))), 4)   # uniform: -3 log 2
    -2.0794
    """
    params = check_params(params)
    v = check_visible(params, v)
    if log_z is None:
        log_z = exact_log_z(params)
    else:
        log_z = as_float_array(log_z, "log_z").astype(params.W.dtype)
        if log_z.ndim != 0:
            raise ValueError(f"log_z must be a scalar; got shape {tuple(log_z.shape)}")
        if is_concrete(log_z) and not math.isfinite(float(log_z)):
            raise ValueError(f"log_z must be finite; got {float(log_z)} (an AIS run that failed?)")
    log_p = -_core.free_energy(params, v) - log_z
    return log_p if per_sample else jnp.mean(log_p)


# --------------------------------------------------------------------------- #
# annealed importance sampling
# --------------------------------------------------------------------------- #
class AISResult(NamedTuple):
    """What :func:`ais_log_z` returns; unpacks as ``log_z, stderr``.

    Attributes:
      log_z: the estimate ``log Z_base + log mean_r w_r``.
      stderr: standard error of ``log mean_r w_r`` by the delta method,
        ``std(w) / (sqrt(n_runs) mean(w))``.
    """

    log_z: jax.Array
    stderr: jax.Array


class AISWeights(NamedTuple):
    """What :func:`ais_log_weights` returns; unpacks as ``log_w, log_z_base``.

    Attributes:
      log_w: ``(n_runs,)`` the log importance weights of the runs.
      log_z_base: ``log Z`` of the base model: ``log Z ≈ log_z_base + logmeanexp(log_w)``.
    """

    log_w: jax.Array
    log_z_base: jax.Array


def _log_pstar_terms(params, base, v):
    """The pieces of the annealed log-density that depend on ``v``: ``v.(a - base)`` and ``b + vW``."""
    return v @ (params.a - base), params.b + v @ params.W


def _ais_impl(key, params: RBM, base, betas, n_runs: int):
    """Log importance weights of ``n_runs`` AIS runs (all in parallel), ``(n_runs,)``.

    The k-th distribution is ``p_k(v) ∝ exp((1-β_k) v.base + β_k v.a) Π_j (1 + e^{β_k (b + vW)_j})``,
    the visible marginal of ``exp(-β_k E(v, h) - (1-β_k) E_base(v))``. Each
    run starts from an exact sample of ``p_0`` and, for k = 1..K, adds
    ``log p_k*(v) - log p_{k-1}*(v)`` to its log weight, then moves ``v`` by
    one block-Gibbs sweep that leaves ``p_k`` invariant: ``h ~ sigmoid(β_k (b + vW))``,
    ``v ~ sigmoid((1-β_k) base + β_k (a + W h))``.
    """
    dtype = params.W.dtype
    k0, k_steps = jax.random.split(key)
    v = (jax.random.uniform(k0, (n_runs, base.shape[0]), dtype) < jax.nn.sigmoid(base)).astype(dtype)

    def step(carry, inputs):
        v, log_w = carry
        beta_prev, beta, k = inputs
        lin, x = _log_pstar_terms(params, base, v)
        log_w = log_w + (beta - beta_prev) * lin + jnp.sum(
            jax.nn.softplus(beta * x) - jax.nn.softplus(beta_prev * x), axis=-1)
        # one draw per step for both layers: fewer random ops to compile
        u = jax.random.uniform(k, (n_runs, x.shape[-1] + v.shape[-1]), dtype)
        # p_k is the visible marginal of the RBM (beta W, (1-beta) base + beta a, beta b):
        # one block-Gibbs sweep of that RBM, the library's one sweep, leaves it invariant
        annealed = RBM(beta * params.W, (1 - beta) * base + beta * params.a, beta * params.b)
        v, _ = _core.gibbs_sweep(annealed, v, u[:, : x.shape[-1]], u[:, x.shape[-1]:])
        return (v, log_w), None

    keys = jax.random.split(k_steps, betas.shape[0] - 1)
    (_, log_w), _ = jax.lax.scan(step, (v, jnp.zeros((n_runs,), dtype)), (betas[:-1], betas[1:], keys))
    return log_w


_ais_jit = jax.jit(_ais_impl, static_argnames=("n_runs",))


def _check_betas(betas, n_betas, dtype):
    if betas is None:
        n_betas = check_positive_int(n_betas, "n_betas", minimum=2)
        return jnp.linspace(0.0, 1.0, n_betas, dtype=dtype)
    betas = as_float_array(betas, "betas").astype(dtype)
    if betas.ndim != 1 or betas.shape[0] < 2:
        raise ValueError(f"betas must be a 1-D schedule of at least 2 values; got shape {tuple(betas.shape)}")
    if is_concrete(betas):
        b = np.asarray(betas)
        if not (b[0] == 0 and b[-1] == 1 and np.all(np.diff(b) >= 0)):
            raise ValueError(
                f"betas must increase from 0 to 1 (first 0, last 1, non-decreasing); got first {b[0]}, "
                f"last {b[-1]}, min step {np.diff(b).min():.3g}"
            )
    return betas


def _check_base(params: RBM, base):
    if base is None:
        return params.a
    base = as_float_array(base, "base").astype(params.W.dtype)
    if base.shape != params.a.shape:
        raise ValueError(f"base must have shape (n_visible,) = {tuple(params.a.shape)}; got shape {tuple(base.shape)}")
    if is_concrete(base) and not np.all(np.isfinite(np.asarray(base))):
        raise ValueError("base must be finite; got NaN or inf entries (clip the data marginals, see base_rate_bias)")
    return base


def ais_log_weights(key, params: RBM, n_runs: int = 100, n_betas: int = 1000, base=None, betas=None) -> AISWeights:
    """The AIS log importance weights and ``log Z_base``: :class:`AISWeights` ``(log_w, log_z_base)``.

    ``log Z ≈ log_z_base + logmeanexp(log_w)``; see :func:`ais_log_z`. The
    weights themselves show whether the estimate can be trusted: a few runs
    carrying most of the weight (small effective sample size
    ``(Σw)² / Σw²``) mean more betas are needed.

    Example (a small RBM, where the exact ``log Z`` is at hand):
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> params = js.boltzmann.rbm(jax.random.key(0), 6, 4)
      >>> log_w, log_z_base = js.boltzmann.ais_log_weights(jax.random.key(1), params, n_runs=64, n_betas=200)
      >>> w = jnp.exp(log_w - log_w.max())
      >>> ess = float(w.sum() ** 2 / (w**2).sum())           # effective sample size, at most 64
      >>> estimate = log_z_base + jax.scipy.special.logsumexp(log_w) - jnp.log(64)
      >>> ess > 32, abs(float(estimate - js.boltzmann.exact_log_z(params))) < 0.05
      (True, True)
    """
    key = check_key(key)
    params = check_params(params)
    if params.sigma is not None:
        raise ValueError(
            "ais_log_z supports Bernoulli-Bernoulli RBMs; params is Gaussian-Bernoulli (sigma is set): "
            "use exact_log_z, which enumerates its hidden layer (up to 25 hidden units)"
        )
    n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
    base = _check_base(params, base)
    betas = _check_betas(betas, n_betas, params.W.dtype)
    log_w = _ais_jit(key, params, base, betas, n_runs=n_runs)
    # p_0 keeps the hidden units, uncoupled and unbiased: each contributes log 2
    return AISWeights(log_w, jnp.sum(jax.nn.softplus(base)) + params.W.shape[1] * math.log(2.0))


def ais_log_z(key, params: RBM, n_runs: int = 100, n_betas: int = 1000, base=None, betas=None) -> AISResult:
    r"""Estimate ``log Z`` of a Bernoulli RBM by annealed importance sampling.

    Salakhutdinov & Murray (2008), "On the quantitative analysis of deep
    belief networks". The base model has visible biases ``base`` and no
    couplings: its hidden units are free, with zero bias, so
    ``Z_base = 2^{n_hidden} Π_i (1 + e^{base_i})`` and its visible marginal
    is sampled exactly. The path is geometric on the visible marginals,

    .. math:: \log p_k^*(v) = (1-\beta_k)\, v \cdot \mathrm{base} + \beta_k\, v \cdot a
              + \sum_j \operatorname{softplus}\big(\beta_k (b + v^\top W)_j\big),

    the visible marginal of ``exp(-β_k E(v, h) - (1-β_k) E_base(v))``,
    and each run moves by one block-Gibbs sweep at ``β_k`` per step. A run's
    log weight is ``Σ_k [log p_k*(v_{k-1}) - log p_{k-1}*(v_{k-1})]``; the weights
    are unbiased for ``Z / Z_base``, so

    .. math:: \widehat{\log Z} = \log Z_\mathrm{base} + \log \frac1R \sum_r w_r .

    All runs go in parallel as one batch; the betas are one ``lax.scan``
    (a traced array: a new schedule of the same length does not recompile).

    **The error bar.** ``stderr`` is the standard error of ``log mean_r w_r``
    by the delta method, ``sd(w) / (sqrt(R) · mean(w))``, computed in log
    space. It is honest when the weights have a finite, well-estimated
    variance, i.e. when the runs are not dominated by a few (enough betas);
    ``log`` of the mean is biased low by about ``stderr² / 2`` (Jensen), small
    next to ``stderr`` itself. A too-short schedule gives heavy-tailed weights
    whose sample variance *underestimates* the error: check the effective
    sample size with :func:`ais_log_weights`.

    Args:
      key: PRNG key.
      params: a Bernoulli RBM (Gaussian–Bernoulli: use :func:`exact_log_z`).
      n_runs: independent AIS runs ``R`` (>= 2).
      n_betas: length of the default linear schedule ``β = linspace(0, 1, n_betas)``.
      base: visible biases of the base model, ``(n_visible,)``; default
        ``params.a``. The closer ``p_base`` is to the model, the smaller the
        error: for a trained model pass ``base_rate_bias(training_data)``.
      betas: an explicit schedule (1-D, from 0 to 1, non-decreasing) instead
        of ``n_betas``, e.g. denser near 1.

    Returns:
      :class:`AISResult` ``(log_z, stderr)``.

    >>> import jax
    >>> from jaxstat.boltzmann.rbm import rbm
    >>> p = rbm(jax.random.key(0), 8, 6, scale=0.5)
    >>> log_z, stderr = ais_log_z(jax.random.key(1), p, n_runs=200, n_betas=300)
    >>> bool(abs(log_z - exact_log_z(p)) < 4 * stderr)
    True
    """
    log_w, log_z_base = ais_log_weights(key, params, n_runs=n_runs, n_betas=n_betas, base=base, betas=betas)
    n = log_w.shape[0]
    log_mean = jax.nn.logsumexp(log_w) - math.log(n)
    r = jnp.exp(log_w - log_mean)  # weights over their mean: mean(r) = 1
    stderr = jnp.std(r, ddof=1) / math.sqrt(n)
    return AISResult(log_z_base + log_mean, stderr)
