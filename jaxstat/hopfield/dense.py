r"""Dense ("modern") associative memories: polynomial, exponential and softmax.

**Binary dense memory** (Krotov & Hopfield 2016; Demircigil et al. 2017).
Patterns :math:`\xi` ``(P, N)`` of ±1, a state :math:`s \in \{\pm1\}^N`,
overlaps :math:`u_\mu = \xi_\mu \cdot s` and

.. math::  E(s) = -\sum_\mu F(u_\mu), \qquad
           F(x) = \frac{x^n}{n N^{n-1}} \ (\text{polynomial}) \quad\text{or}\quad
           F(x) = \frac{e^{\beta x}}{\beta} \ (\text{exponential}).

Degree ``n = 2`` is Hebb's network: :math:`E = E_\text{Hebb} - P/2`, with the
zero-diagonal weights of :func:`jaxstat.hopfield.hebbian`. Larger ``n`` stores
about :math:`N^{n-1} / (2 (2n-3)!! \ln N)` patterns; the exponential kind a
number exponential in N.

**Continuous modern Hopfield network** (Ramsauer et al. 2020): a state
:math:`x \in \mathbb R^N` is updated to :math:`\xi^T \mathrm{softmax}(\beta \xi x)`,
the attention rule; one update never increases the energy of
:func:`softmax_energy`.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    as_float_array,
    check_beta,
    check_float_dtype,
    check_key,
    check_positive_int,
    float_dtype,
    is_concrete,
)
from jaxstat.hopfield.capacity import CapacityResult, _check_fraction, _check_loads, _check_sizes, _patterns, _probe
from jaxstat.hopfield.dynamics import RetrievalResult, _check_states
from jaxstat.hopfield.rules import _check_patterns

__all__ = ["SoftmaxResult", "dense_capacity", "dense_energy", "dense_retrieve", "softmax_energy",
           "softmax_retrieve", "softmax_update"]

KINDS = ("polynomial", "exponential")


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
def _check_kind(kind, kinds=KINDS):
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}; got {kind!r}")


def _check_degree(degree, n, p, dtype):
    degree = check_positive_int(degree, "degree", minimum=2)
    # Fields are sums of P integers up to N^n (see _field): they must fit the dtype.
    if degree * math.log(n) + math.log(p) >= math.log(float(jnp.finfo(dtype).max)):
        raise ValueError(
            f"degree must keep the fields P N^degree below the largest {jnp.dtype(dtype).name}; got degree "
            f"{degree} with N = {n}, P = {p} (lower the degree, or enable float64 with jax_enable_x64)"
        )
    return degree


def _check_inverse_temperature(beta):
    """beta > 0 and finite: F = exp(beta x)/beta and the softmax energy divide by beta."""
    check_beta(beta)
    if is_concrete(beta) and not 0.0 < float(beta) < math.inf:
        raise ValueError(f"beta must be finite and > 0 for the dense and softmax memories; got {float(beta)}")
    return beta


def _check_real_patterns(patterns):
    xi = as_float_array(patterns, "patterns")
    if xi.ndim != 2 or xi.shape[0] == 0 or xi.shape[1] == 0:
        raise ValueError(f"patterns must have shape (P, N) with P, N >= 1; got shape {tuple(xi.shape)}")
    if is_concrete(xi) and not np.all(np.isfinite(np.asarray(xi))):
        raise ValueError("patterns must be finite; got NaN or inf entries")
    return xi


def _check_state(state, n, name):
    x = as_float_array(state, name)
    if x.ndim == 0 or x.shape[-1] != n:
        raise ValueError(f"{name} must have last dimension N = {n} to match patterns; got shape {tuple(x.shape)}")
    return x


# --------------------------------------------------------------------------- #
# binary dense memory: energy and single-site field
# --------------------------------------------------------------------------- #
def _energy(u, mask, n, kind, degree, beta):
    """Energy from the overlaps u = xi s (P,); masked rows (mask False) contribute nothing."""
    if kind == "polynomial":
        # (u/N)^n N / n = u^n / (n N^(n-1)), with |u/N| <= 1: no overflow at any degree
        return -(n / degree) * jnp.sum((u / n) ** degree, axis=-1)
    return -jax.nn.logsumexp(jnp.where(mask, beta * u, -jnp.inf), axis=-1) / beta


def _field(r, x, mask, kind, degree, beta):
    r"""A number with the sign of E(s_i = -1) - E(s_i = +1) (> 0: +1 is lower).

    r = u - x s_i are the overlaps without site i and x = xi[:, i]. With
    u^\pm = r \pm x and x = ±1,

      sum F(r + x) - F(r - x) = 2 x g(r) / (n N^(n-1)),  g(r) = sum_{k odd} C(n, k) r^(n-k)   (polynomial)
                             = 2 sinh(beta) x exp(beta r) / beta                             (exponential)

    g is an integer polynomial, so the polynomial field is an exact integer
    (ties h = 0 are exact) while below 2^24 in float32 (2^53 in float64).
    The exponential one is the sign of lse(beta u^+) - lse(beta u^-),
    computed shifted by max(beta r) so no exponential overflows; a masked
    row (x = 0) adds nothing either way.
    """
    if kind == "polynomial":
        g = sum(math.comb(degree, k) * r ** (degree - k) for k in range(1, degree + 1, 2))
        return x @ g
    z = jnp.where(mask, beta * r, -jnp.inf)
    return x @ jnp.exp(z - jnp.max(z))


def _sweep(key, s, u, xt, mask, *, kind, degree, beta):
    """One zero-temperature sweep over a random permutation of the sites, O(P) per site."""

    def visit(carry, i):
        s, u, changed = carry
        x = xt[i]
        h = _field(u - x * s[i], x, mask, kind, degree, beta)
        new = jnp.where(h > 0, 1, jnp.where(h < 0, -1, s[i])).astype(s.dtype)  # exact tie: keep s_i
        return (s.at[i].set(new), u + x * (new - s[i]), changed | (new != s[i])), None

    order = jax.random.permutation(key, s.shape[0])
    (s, u, changed), _ = jax.lax.scan(visit, (s, u, jnp.bool_(False)), order)
    return s, u, changed


def dense_energy(patterns, states, kind: str = "polynomial", degree: int = 3, beta=1.0):
    r"""Energy :math:`E(s) = -\sum_\mu F(\xi_\mu \cdot s)` of the binary dense associative memory.

    * ``kind="polynomial"``: :math:`F(x) = x^n / (n N^{n-1})`, ``n = degree``.
      At ``degree=2`` this is Hebb's network shifted by a constant,
      :math:`E = -\tfrac12 s^T W s - P/2` with ``W = hebbian(patterns)``.
    * ``kind="exponential"``: :math:`F(x) = e^{\beta x} / \beta`. **Returned in
      log form**, :math:`E_\text{lse}(s) = -\tfrac1\beta \log \sum_\mu e^{\beta u_\mu}
      = -\tfrac1\beta \log(-\beta E(s))` (a logsumexp): :math:`E` itself
      overflows float32 once :math:`\beta N > 88`, while :math:`E_\text{lse}` is a
      strictly increasing function of it, with the same minima and order of
      states (recover :math:`E = -e^{-\beta E_\text{lse}} / \beta` where it fits).

    Args:
      patterns: ``(P, N)`` array of ±1.
      states: ``(..., N)`` array of ±1, any leading batch axes.
      kind: ``"polynomial"`` or ``"exponential"``.
      degree: the polynomial degree n >= 2 (polynomial kind only).
      beta: finite inverse temperature > 0 of the exponential kind (may be traced).

    Returns:
      ``(...)`` energies in the patterns' float dtype.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.hopfield.dense import dense_energy
      >>> xi = jnp.array([[1., 1., 1., 1.], [1., -1., 1., -1.]])
      >>> dense_energy(xi, xi[0], degree=3)   # -(4^3 + 0^3) / (3 * 4^2)
      Array(-1.3333334, dtype=float32)
      >>> dense_energy(xi, xi[0], kind="exponential")   # -log(e^4 + e^0)
      Array(-4.01815, dtype=float32)
    """
    xi = _check_patterns(patterns)
    p, n = xi.shape
    s = _check_states(states, n, "states", f"patterns of shape {tuple(xi.shape)}").astype(xi.dtype)
    _check_kind(kind)
    degree = _check_degree(degree, n, p, xi.dtype) if kind == "polynomial" else None
    beta = jnp.asarray(_check_inverse_temperature(beta), xi.dtype)
    return _energy(s @ xi.T, jnp.ones((p,), bool), n, kind, degree, beta)


def dense_retrieve(key, patterns, probe, n_sweeps: int = 10, kind: str = "polynomial", degree: int = 3,
                   beta=1.0) -> RetrievalResult:
    r"""Zero-temperature asynchronous dynamics of the binary dense memory.

    Each sweep visits every site once, in a fresh random permutation, and
    sets :math:`s_i` to the sign with the lower :func:`dense_energy` (an
    exact tie keeps :math:`s_i`), the update rule of Krotov and Hopfield:

    .. math::  s_i \leftarrow \mathrm{sign} \sum_\mu \big[F(r_\mu + \xi_{\mu i}) - F(r_\mu - \xi_{\mu i})\big],
               \qquad r_\mu = \xi_\mu \cdot s - \xi_{\mu i} s_i .

    The overlaps :math:`u = \xi s` are kept up to date, so a site costs O(P)
    and a sweep O(N P). The energy never increases, and a sweep that changes
    nothing proves a fixed point (every site was visited). The exponential
    kind compares :math:`\mathrm{lse}(\beta u^+)` with :math:`\mathrm{lse}(\beta u^-)`
    without overflow. ``beta`` is traced; ``kind``, ``degree`` and
    ``n_sweeps`` are static.

    Args:
      key: a PRNG key.
      patterns: ``(P, N)`` array of ±1.
      probe: ``(..., N)`` initial states of ±1; each batch element gets its own key.
      n_sweeps: number of sweeps (>= 1).
      kind, degree, beta: as in :func:`dense_energy`.

    Returns:
      A :class:`jaxstat.hopfield.RetrievalResult`: ``states`` shaped like the
      probe, ``energies`` ``(..., n_sweeps + 1)`` (:func:`dense_energy`, log
      form for the exponential kind), ``overlaps`` ``(..., n_sweeps + 1, P)``
      (:math:`u / N`), ``converged`` (the last sweep changed nothing) and
      ``cycle2`` (always False: asynchronous dynamics with an energy cannot cycle).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> from jaxstat.hopfield.dense import dense_retrieve
      >>> xi = jax.random.rademacher(jax.random.key(0), (300, 100), dtype=jnp.float32)  # alpha = 3
      >>> probe = hopfield.corrupt(jax.random.key(1), xi[0], 0.2)
      >>> r = dense_retrieve(jax.random.key(2), xi, probe, n_sweeps=4, degree=4)
      >>> round(float(r.overlaps[0, 0]), 3), float(r.overlaps[-1, 0]), bool(r.converged)
      (0.6, 1.0, True)
    """
    check_key(key)
    xi = _check_patterns(patterns)
    p, n = xi.shape
    s0 = _check_states(probe, n, "probe", f"patterns of shape {tuple(xi.shape)}").astype(xi.dtype)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    _check_kind(kind)
    degree = _check_degree(degree, n, p, xi.dtype) if kind == "polynomial" else None
    beta = jnp.asarray(_check_inverse_temperature(beta), xi.dtype)
    batch = s0.shape[:-1]
    flat = s0.reshape((-1, n))
    keys = jax.random.split(key, flat.shape[0])
    out = _dense_retrieve_batch(keys, xi, flat, beta, kind=kind, degree=degree, n_sweeps=n_sweeps)
    return jax.tree_util.tree_map(lambda a: a.reshape(batch + a.shape[1:]), out)


@functools.partial(jax.jit, static_argnames=("kind", "degree", "n_sweeps"))
def _dense_retrieve_batch(keys, xi, probes, beta, *, kind, degree, n_sweeps):
    p, n = xi.shape
    xt, mask = xi.T, jnp.ones((p,), bool)   # (N, P): a site reads the contiguous row xi[:, i]

    def one(key, s0):
        def body(carry, k):
            s, u, changed = _sweep(k, *carry, xt, mask, kind=kind, degree=degree, beta=beta)
            u = xi @ s   # recomputed each sweep, not accumulated
            return (s, u), (_energy(u, mask, n, kind, degree, beta), u / n, changed)

        u0 = xi @ s0
        (s, _), (e, m, changed) = jax.lax.scan(body, (s0, u0), jax.random.split(key, n_sweeps))
        energies = jnp.concatenate([_energy(u0, mask, n, kind, degree, beta)[None], e])
        overlaps = jnp.concatenate([(u0 / n)[None], m])
        return RetrievalResult(s, energies, overlaps, ~changed[-1], jnp.bool_(False))

    return jax.vmap(one)(keys, probes)


# --------------------------------------------------------------------------- #
# continuous modern Hopfield network (Ramsauer et al. 2020)
# --------------------------------------------------------------------------- #
class SoftmaxResult(NamedTuple):
    """Output of :func:`softmax_retrieve`; leading axes are the probe's batch axes.

    Attributes:
      states: final states, shaped like the probe.
      overlaps: ``(..., n_steps + 1, P)`` cosine similarities
        :math:`\\xi_\\mu \\cdot x / (|\\xi_\\mu| |x|)` before the first and after
        every step (0 for a zero vector); for ±1 patterns and a ±1 state this
        is the usual overlap :math:`\\xi_\\mu \\cdot s / N`.
      energies: ``(..., n_steps + 1)`` :func:`softmax_energy` along the way.
    """

    states: jax.Array
    overlaps: jax.Array
    energies: jax.Array


def _softmax_logits(xi, mask, x, beta):
    return jnp.where(mask, beta * (x @ xi.T), -jnp.inf)   # masked patterns get weight exp(-inf) = 0


def _softmax_update(xi, mask, x, beta):
    return jax.nn.softmax(_softmax_logits(xi, mask, x, beta), axis=-1) @ xi


def _softmax_energy(xi, mask, x, beta):
    p = jnp.sum(mask).astype(xi.dtype)
    m2 = jnp.max(jnp.where(mask, jnp.sum(xi * xi, axis=-1), 0))
    lse = jax.nn.logsumexp(_softmax_logits(xi, mask, x, beta), axis=-1)
    return -lse / beta + 0.5 * jnp.sum(x * x, axis=-1) + jnp.log(p) / beta + 0.5 * m2


def _cosine(xi, x):
    dots = x @ xi.T
    norms = jnp.linalg.norm(x, axis=-1, keepdims=True) * jnp.linalg.norm(xi, axis=-1)
    return jnp.where(norms > 0, dots / jnp.where(norms > 0, norms, 1), 0)


def softmax_update(patterns, state, beta=1.0):
    r"""One update of the continuous modern Hopfield network, :math:`x \leftarrow \xi^T \mathrm{softmax}(\beta \xi x)`.

    This is attention with the patterns as keys and values and the state as
    query. Patterns may be any real ``(P, N)`` array (±1 or continuous).

    Args:
      patterns: ``(P, N)`` real array.
      state: ``(..., N)`` real array, any leading batch axes.
      beta: finite inverse temperature > 0 (may be traced).

    Returns:
      ``(..., N)`` updated states, a convex combination of the patterns.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.hopfield.dense import softmax_update
      >>> xi = jnp.array([[1., 1., 1., 1.], [1., -1., 1., -1.]])
      >>> softmax_update(xi, jnp.array([1., 1., 1., 0.]), beta=10.0).round(3)   # closer to xi[0]
      Array([1., 1., 1., 1.], dtype=float32)
    """
    xi = _check_real_patterns(patterns)
    x = _check_state(state, xi.shape[1], "state").astype(xi.dtype)
    beta = jnp.asarray(_check_inverse_temperature(beta), xi.dtype)
    return _softmax_update(xi, jnp.ones((xi.shape[0],), bool), x, beta)


def softmax_energy(patterns, state, beta=1.0):
    r"""Energy of the continuous modern Hopfield network (Ramsauer et al. 2020, eq. 2).

    .. math::  E(x) = -\tfrac1\beta \log \sum_\mu e^{\beta \xi_\mu \cdot x} + \tfrac12 x \cdot x
               + \tfrac1\beta \log P + \tfrac12 M^2 ,\qquad M = \max_\mu |\xi_\mu| .

    The constants make :math:`0 \le E \le 2 M^2` on the convex hull of the
    patterns (the paper's Lemma A1), where every update lands; by the
    concave-convex procedure (CCCP) :func:`softmax_update` never increases E.

    Args:
      patterns: ``(P, N)`` real array.
      state: ``(..., N)`` real array, any leading batch axes.
      beta: finite inverse temperature > 0 (may be traced).

    Returns:
      ``(...)`` energies.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.hopfield.dense import softmax_energy
      >>> xi = jnp.array([[1., 1.], [1., -1.]])
      >>> softmax_energy(xi, jnp.zeros(2))   # -log 2 + 0 + log 2 + |xi|^2 / 2
      Array(1., dtype=float32)
    """
    xi = _check_real_patterns(patterns)
    x = _check_state(state, xi.shape[1], "state").astype(xi.dtype)
    beta = jnp.asarray(_check_inverse_temperature(beta), xi.dtype)
    return _softmax_energy(xi, jnp.ones((xi.shape[0],), bool), x, beta)


def softmax_retrieve(patterns, probe, beta=1.0, n_steps: int = 1) -> SoftmaxResult:
    r"""Iterate :func:`softmax_update` ``n_steps`` times from ``probe``; record overlaps and energies.

    With well-separated patterns and :math:`\beta` large enough one step
    lands next to the closest pattern (Ramsauer et al.'s exponentially small
    retrieval error); small :math:`\beta` gives metastable averages of several
    patterns. ``beta`` is traced; ``n_steps`` is static.

    Args:
      patterns: ``(P, N)`` real array.
      probe: ``(..., N)`` real initial states.
      beta: finite inverse temperature > 0.
      n_steps: number of updates (>= 1).

    Returns:
      A :class:`SoftmaxResult`; ``overlaps`` are cosine similarities.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> from jaxstat.hopfield.dense import softmax_retrieve
      >>> xi = jax.random.rademacher(jax.random.key(0), (500, 100), dtype=jnp.float32)  # alpha = 5
      >>> probe = hopfield.corrupt(jax.random.key(1), xi[0], 0.2)
      >>> r = softmax_retrieve(xi, probe, beta=1.0)
      >>> r.overlaps.shape, round(float(r.overlaps[0, 0]), 3), round(float(r.overlaps[-1, 0]), 3)
      ((2, 500), 0.6, 1.0)
    """
    xi = _check_real_patterns(patterns)
    x0 = _check_state(probe, xi.shape[1], "probe").astype(xi.dtype)
    beta = jnp.asarray(_check_inverse_temperature(beta), xi.dtype)
    n_steps = check_positive_int(n_steps, "n_steps")
    return _softmax_retrieve(xi, x0, beta, n_steps=n_steps)


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _softmax_retrieve(xi, x0, beta, *, n_steps):
    mask = jnp.ones((xi.shape[0],), bool)

    def observe(x):
        return _cosine(xi, x), _softmax_energy(xi, mask, x, beta)

    def step(x, _):
        x = _softmax_update(xi, mask, x, beta)
        return x, observe(x)

    x, (m, e) = jax.lax.scan(step, x0, None, length=n_steps)
    m0, e0 = observe(x0)
    # scan stacks steps on axis 0; move them behind the probe's batch axes
    m = jnp.moveaxis(jnp.concatenate([m0[None], m]), 0, -2)
    e = jnp.moveaxis(jnp.concatenate([e0[None], e]), 0, -1)
    return SoftmaxResult(x, m, e)


# --------------------------------------------------------------------------- #
# capacity experiments
# --------------------------------------------------------------------------- #
def dense_capacity(key, n, alphas, n_trials: int = 50, *, kind: str = "polynomial", degree: int = 3, beta=1.0,
                   flip_fraction: float = 0.0, n_sweeps: int = 10, threshold: float = 0.95,
                   dtype=None) -> CapacityResult:
    r"""Retrieval against the load :math:`\alpha = P/N` for the dense memories, in one compiled call.

    Each trial draws ``P = max(1, round(alpha N))`` random ±1 patterns, starts
    from pattern 0 with ``flip_fraction`` of its bits flipped and runs

    * ``kind="polynomial"`` / ``"exponential"``: the sweeps of
      :func:`dense_retrieve`, until a sweep changes nothing (a fixed point) or
      after ``n_sweeps`` sweeps; the overlap is that of the final state.
    * ``kind="softmax"``: ``n_sweeps`` steps of :func:`softmax_update`; the
      overlap is that of :math:`\mathrm{sign}(x)` (0 where x is 0), and
      ``converged`` means the last step changed no sign.

    The pattern counts as retrieved when the overlap exceeds ``threshold``.
    Keys are drawn as in :func:`jaxstat.hopfield.capacity.capacity`, so with
    the same ``key``, ``n`` and ``alphas`` both see the same patterns and
    probes. ``kind="polynomial", degree=2`` is Hebb's network with the same
    fixed points. Expected at N = 100: degree 2 fails near
    :math:`\alpha \approx 0.14`, degree 3 holds up to a few (Krotov–Hopfield
    :math:`N^{n-1} / (2 (2n-3)!! \ln N)` patterns), exponential and softmax
    far beyond.

    Args:
      key: a PRNG key.
      n: a network size or a sequence of sizes.
      alphas: 1-D loads > 0.
      n_trials: independent trials per load and size.
      kind: ``"polynomial"``, ``"exponential"`` or ``"softmax"``.
      degree: polynomial degree >= 2 (polynomial kind).
      beta: finite inverse temperature > 0 (exponential and softmax kinds;
        traced, so a new value does not recompile).
      flip_fraction: fraction of probe bits flipped, in [0, 1].
      n_sweeps: maximum sweeps (binary kinds) or number of steps (softmax).
      threshold: overlap above which the pattern counts as retrieved, in (0, 1).
      dtype: float dtype (default float32, float64 under x64).

    Returns:
      A :class:`jaxstat.hopfield.capacity.CapacityResult`.

    Example:
      >>> import jax
      >>> from jaxstat.hopfield.dense import dense_capacity
      >>> r = dense_capacity(jax.random.key(0), 100, [0.1, 1.0], n_trials=8, degree=2)
      >>> r.retrieved_fraction   # Hebb: retrieved at 0.1, lost at 1
      array([[1., 0.]])
    """
    check_key(key)
    _check_kind(kind, KINDS + ("softmax",))
    sizes = _check_sizes(n)
    p = _check_loads(alphas, sizes, kind)
    n_trials = check_positive_int(n_trials, "n_trials")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    flip = _check_fraction(flip_fraction)
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must be in (0, 1); got {threshold!r}")
    dtype = float_dtype() if dtype is None else check_float_dtype(dtype)
    p_max = tuple(int(row.max()) for row in p)
    if kind == "polynomial":
        degree = max(_check_degree(degree, s, q, dtype) for s, q in zip(sizes, p_max))
    else:
        degree = None
    beta = jnp.asarray(_check_inverse_temperature(beta), dtype)
    out = _dense_capacity_call(key, tuple(jnp.asarray(row, jnp.int32) for row in p), jnp.asarray(flip, dtype), beta,
                               sizes=sizes, p_max=p_max, n_trials=n_trials, kind=kind, degree=degree,
                               n_sweeps=n_sweeps, dtype=dtype)
    overlap = np.stack([np.asarray(o[0]) for o in out])
    converged = np.stack([np.asarray(o[1]) for o in out])
    return CapacityResult(np.asarray(sizes), p, overlap, converged, float(threshold))


@functools.partial(jax.jit, static_argnames=("sizes", "p_max", "n_trials", "kind", "degree", "n_sweeps", "dtype"))
def _dense_capacity_call(key, p_rows, flip, beta, *, sizes, p_max, n_trials, kind, degree, n_sweeps, dtype):
    results = []
    for index, (n, ps) in enumerate(zip(sizes, p_rows)):
        trial = functools.partial(_capacity_trial, flip=flip, beta=beta, n=n, p_max=p_max[index], kind=kind,
                                  degree=degree, n_sweeps=n_sweeps, dtype=dtype)
        # the key layout of capacity(): same key, same patterns and probes
        keys = jax.random.split(jax.random.fold_in(key, index), (ps.shape[0], n_trials))
        results.append(jax.lax.map(lambda a, t=trial: jax.vmap(t, in_axes=(0, None))(a[1], a[0]), (ps, keys)))
    return results


def _capacity_trial(key, p, *, flip, beta, n, p_max, kind, degree, n_sweeps, dtype):
    k_xi, k_probe, k_dyn = jax.random.split(key, 3)
    xi = _patterns(k_xi, p, p_max, n, dtype)   # rows from p on are zero ...
    mask = jnp.arange(p_max) < p               # ... and masked out of every exp / softmax
    s0 = _probe(k_probe, xi[0], flip)
    if kind == "softmax":
        def step(x, _):
            new = _softmax_update(xi, mask, x, beta)
            return new, jnp.any(jnp.sign(new) != jnp.sign(x))

        x, changed = jax.lax.scan(step, s0, None, length=n_sweeps)
        return xi[0] @ jnp.sign(x) / n, ~changed[-1]
    xt = xi.T

    def cond(c):
        return c[2] & (c[3] < n_sweeps)

    def body(c):
        s, u, _, t = c
        s, u, changed = _sweep(jax.random.fold_in(k_dyn, t), s, u, xt, mask, kind=kind, degree=degree, beta=beta)
        return s, u, changed, t + 1

    # stop at the first sweep that changes nothing: a fixed point, every site was visited
    s, _, changed, _ = jax.lax.while_loop(cond, body, (s0, xi @ s0, jnp.bool_(True), jnp.int32(0)))
    return xi[0] @ s / n, ~changed
