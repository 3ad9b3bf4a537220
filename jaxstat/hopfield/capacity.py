r"""Capacity experiments: retrieval against load, sizes and temperature in one compiled call.

Random ±1 patterns are stored with a rule, the network starts from a stored
pattern (or a corrupted copy) and runs until it stops; the pattern counts as
retrieved when the final overlap exceeds a threshold (0.95 by default: the
Amit–Gutfreund–Sompolinsky retrieval state has :math:`m \approx 0.967` at
:math:`\alpha_c \approx 0.138`, and falls to small overlaps beyond it).

Every load, trial and size is one ``jax.jit`` call: sizes are unrolled, and
(load, trial) pairs go through ``lax.map``, one at a time on CPU (cache-
friendly, and each zero-temperature run stops at its own fixed point) and
all ``vmap``-ed together on accelerators; temperatures are ``vmap``-ed.
Patterns are padded to the largest P of each size and masked, so all loads
of one size share one compiled body.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    check_float_dtype,
    check_key,
    check_loads,
    check_positive_int,
    check_sizes,
    float_dtype,
)
from jaxstat.hopfield.dynamics import _random_subset, _retrieve_one
from jaxstat.hopfield.rules import _hebbian, _projector, _storkey, _zero_diagonal

__all__ = ["CapacityResult", "DiagramResult", "capacity", "retrieval_diagram"]

RULES = ("hebbian", "pseudo_inverse", "storkey")


def _batch_size(total: int) -> int:
    """Trials run at once. On CPU one at a time: a trial's patterns stay in cache and its
    while-loop stops at its own fixed point instead of waiting for the slowest of a
    vmapped batch (measured 2.4x faster at N = 1000). Accelerators vmap everything."""
    return 1 if jax.default_backend() == "cpu" else total


class CapacityResult(NamedTuple):
    """Output of :func:`capacity`, as NumPy arrays; axes are (size, load, trial).

    Attributes:
      n: ``(n_N,)`` network sizes.
      p: ``(n_N, n_alpha)`` numbers of stored patterns, ``round(alpha N)``.
      overlap: ``(n_N, n_alpha, n_trials)`` final overlap with the probed pattern.
      converged: same shape: the dynamics reached a fixed point within ``max_flips``.
      threshold: overlap above which a pattern counts as retrieved.
    """

    n: np.ndarray
    p: np.ndarray
    overlap: np.ndarray
    converged: np.ndarray
    threshold: float

    @property
    def alpha(self) -> np.ndarray:
        """Realised loads P / N, ``(n_N, n_alpha)``."""
        return self.p / self.n[:, None]

    @property
    def retrieved(self) -> np.ndarray:
        return self.overlap > self.threshold

    @property
    def retrieved_fraction(self) -> np.ndarray:
        """Fraction of trials retrieved, ``(n_N, n_alpha)``."""
        return self.retrieved.mean(-1)

    @property
    def retrieved_stderr(self) -> np.ndarray:
        """Binomial standard error of :attr:`retrieved_fraction`."""
        f = self.retrieved_fraction
        return np.sqrt(f * (1 - f) / self.overlap.shape[-1])

    @property
    def mean_overlap(self) -> np.ndarray:
        return self.overlap.mean(-1)

    @property
    def overlap_stderr(self) -> np.ndarray:
        """Standard error of :attr:`mean_overlap` from the spread over trials."""
        t = self.overlap.shape[-1]
        return self.overlap.std(-1, ddof=1) / np.sqrt(t) if t > 1 else np.full(self.overlap.shape[:-1], np.nan)


class DiagramResult(NamedTuple):
    """Output of :func:`retrieval_diagram`, as NumPy arrays; axes are (temperature, load, trial).

    Attributes:
      n: network size.
      p: ``(n_alpha,)`` numbers of stored patterns.
      temperature: ``(n_T,)`` temperatures.
      overlap: ``(n_T, n_alpha, n_trials)`` overlap with the probed pattern,
        averaged over the second half of the sweeps.
    """

    n: int
    p: np.ndarray
    temperature: np.ndarray
    overlap: np.ndarray

    @property
    def alpha(self) -> np.ndarray:
        return self.p / self.n

    @property
    def mean_overlap(self) -> np.ndarray:
        """Mean over trials, ``(n_T, n_alpha)``."""
        return self.overlap.mean(-1)


# --------------------------------------------------------------------------- #
# validation shared by both experiments
# --------------------------------------------------------------------------- #
def _check_loads(alphas, sizes, rule):
    """``P = max(1, round(alpha N))`` per size and load, ``(n_N, n_alpha)``."""
    a = check_loads(alphas)
    p = np.maximum(1, np.rint(np.outer(sizes, a))).astype(np.int64)
    if rule == "pseudo_inverse" and np.any(p >= np.asarray(sizes)[:, None]):
        raise ValueError(
            "alphas must give P < N for rule='pseudo_inverse' (P >= N random patterns span R^N and the "
            f"projector is the identity); got loads up to {a.max()} for sizes {sizes}"
        )
    return p


def _check_rule(rule):
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")


def _check_fraction(flip_fraction):
    f = float(flip_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"flip_fraction must be in [0, 1]; got {flip_fraction!r}")
    return f


def _pattern_words(key, p, p_max, n):
    """``p_max`` random patterns of N signs, packed: ``(N, ceil(p_max / 32))`` uint32, bit mu of
    unit i set where xi^mu_i = -1. Bits of patterns mu >= p are cleared (masked).

    One random bit per sign is 32x fewer random numbers than drawing floats; on CPU
    drawing the floats cost more than the whole zero-temperature run. (A flat draw,
    reshaped: multi-axis draws compile much more slowly.)"""
    n_words = -(-p_max // 32)
    words = jax.random.bits(key, (n * n_words,), jnp.uint32).reshape(n, n_words)
    first = 32 * jnp.arange(n_words, dtype=jnp.int32)
    keep = jnp.clip(p - first, 0, 32).astype(jnp.uint32)          # valid bits in each word
    ones = jnp.uint32(0xFFFFFFFF)
    mask = jnp.where(keep >= 32, ones, (jnp.uint32(1) << jnp.minimum(keep, 31)) - 1)
    return words & mask


def _unpack(words, p, p_max, dtype):
    """``(p_max, N)`` patterns of ±1 from :func:`_pattern_words`, rows from ``p`` on zero."""
    bits = (words[:, :, None] >> jnp.arange(32, dtype=jnp.uint32)) & 1
    signs = 1 - 2 * bits.reshape(words.shape[0], -1)[:, :p_max].astype(dtype)
    return (signs * (jnp.arange(p_max) < p).astype(dtype)).T


def _patterns(key, p, p_max, n, dtype):
    """``(p_max, n)`` random ±1 patterns whose rows from ``p`` on are zero (masked)."""
    return _unpack(_pattern_words(key, p, p_max, n), p, p_max, dtype)


def _weights(xi, rule):
    if rule == "hebbian":
        return _hebbian(xi)
    if rule == "pseudo_inverse":
        return _zero_diagonal(_projector(xi))
    return _storkey(xi)


def _select(mask, r):
    """Index of the r-th (from 0) True entry of a 1-D mask.

    Two levels of 32 instead of one cumsum over N: XLA:CPU's cumsum is a
    reduce-window whose cost grew to dominate a flip (6 us vs 1.6 us at N = 1000)."""
    rows = jnp.pad(mask, (0, -mask.shape[0] % 32)).reshape(-1, 32).astype(jnp.int32)
    counts = jnp.sum(rows, axis=1)
    upto = jnp.cumsum(counts)
    row = jnp.argmax(upto > r)
    col = jnp.argmax(jnp.cumsum(rows[row]) > r - (upto[row] - counts[row]))
    return row * 32 + col


def _probe(key, pattern, flip):
    # the random subset costs two sorts: skip them for the usual start from the pattern itself
    return jax.lax.cond(flip > 0, lambda: jnp.where(_random_subset(key, pattern.shape, flip), -pattern, pattern),
                        lambda: pattern)


# --------------------------------------------------------------------------- #
# zero temperature: asynchronous dynamics run to a fixed point
# --------------------------------------------------------------------------- #
def capacity(
    key,
    n,
    alphas,
    n_trials: int = 50,
    *,
    rule: str = "hebbian",
    flip_fraction: float = 0.0,
    threshold: float = 0.95,
    max_flips: int | None = None,
    dtype=None,
) -> CapacityResult:
    r"""Retrieval of a stored pattern against the load :math:`\alpha = P/N`, for one or several N.

    Each trial stores ``P = round(alpha N)`` fresh random patterns with
    ``rule``, starts from pattern 0 with ``flip_fraction`` of its bits
    flipped, and runs zero-temperature asynchronous dynamics to a fixed
    point: **a uniformly random unstable spin** (:math:`s_i h_i < 0`) flips,
    until none is left. This is the jump chain of random-site asynchronous
    updates (:func:`retrieve` with ``mode="async"``, ``beta=inf``), so it
    reaches the same fixed points with the same probabilities, but it spends
    no time visiting stable sites: a flip costs O(P N) for Hebb's rule
    (fields kept as integers :math:`N h_i`, so ties :math:`h_i = 0` are
    exact and keep their spin) and O(N) for the others. With symmetric
    weights every flip lowers the energy, so the dynamics stops.

    For Hebb's rule, random patterns and :math:`N \to \infty` the retrieval
    state disappears at :math:`\alpha_c \approx 0.138` (Amit, Gutfreund and
    Sompolinsky 1985; see :func:`ags_overlap`); at finite N the drop is
    smoothed and sharpens as N grows.

    Args:
      key: a PRNG key.
      n: a network size, or a sequence of sizes (e.g. ``(250, 500, 1000)``).
      alphas: 1-D loads > 0; ``P = max(1, round(alpha N))``.
      n_trials: independent networks (patterns and dynamics) per load and size.
      rule: ``"hebbian"``, ``"pseudo_inverse"`` (needs P < N) or ``"storkey"``.
      flip_fraction: fraction of bits of the probe flipped before the dynamics.
      threshold: overlap above which the pattern counts as retrieved.
      max_flips: cap on the number of flips per trial (default 10 N); a trial
        that reaches it is reported as not converged.
      dtype: float dtype of patterns and weights (default: float32, or
        float64 under x64).

    Returns:
      A :class:`CapacityResult`.

    Example:
      >>> import jax
      >>> from jaxstat import hopfield
      >>> r = hopfield.capacity(jax.random.key(0), 200, [0.05, 0.3], n_trials=8)
      >>> f = r.retrieved_fraction[0]          # (size, load) -> this size's loads
      >>> float(f[0]), bool(f[1] < 0.5)        # retrieved at 0.05, lost at 0.3
      (1.0, True)
    """
    check_key(key)
    _check_rule(rule)
    sizes = check_sizes(n)
    p = _check_loads(alphas, sizes, rule)
    n_trials = check_positive_int(n_trials, "n_trials")
    flip = _check_fraction(flip_fraction)
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must be in (0, 1); got {threshold!r}")
    if max_flips is not None:
        max_flips = check_positive_int(max_flips, "max_flips")
    dtype = float_dtype() if dtype is None else check_float_dtype(dtype)
    out = _capacity_call(key, tuple(jnp.asarray(row, jnp.int32) for row in p), jnp.asarray(flip, dtype),
                         sizes=sizes, p_max=tuple(int(row.max()) for row in p), n_trials=n_trials, rule=rule,
                         max_flips=max_flips, dtype=dtype)
    overlap = np.stack([np.asarray(o[0]) for o in out])
    converged = np.stack([np.asarray(o[1]) for o in out])
    return CapacityResult(np.asarray(sizes), p, overlap, converged, float(threshold))


@functools.partial(jax.jit, static_argnames=("sizes", "p_max", "n_trials", "rule", "max_flips", "dtype"))
def _capacity_call(key, p_rows, flip, *, sizes, p_max, n_trials, rule, max_flips, dtype):
    def make_trial(n, p_max):
        return functools.partial(_fixed_point_trial, n=n, p_max=p_max, flip=flip, rule=rule,
                                 max_flips=10 * n if max_flips is None else max_flips, dtype=dtype)

    return _over_sizes_loads_trials(key, p_rows, sizes, p_max, n_trials, make_trial)


def _over_sizes_loads_trials(key, p_rows, sizes, p_max, n_trials, make_trial):
    """Run ``make_trial(n, p_max)(key, p)`` for every size, load and trial; per size an
    ``(n_alpha, n_trials)`` pytree. The key layout (size index folded in, then a split per
    load and trial) is shared by every capacity experiment: the same key gives the same
    patterns and probes, so experiments can be compared trial by trial."""
    results = []
    for index, (n, ps) in enumerate(zip(sizes, p_rows)):
        trial = make_trial(n, p_max[index])
        keys = jax.random.split(jax.random.fold_in(key, index), (ps.shape[0], n_trials))
        flat_p = jnp.repeat(ps, n_trials)
        out = jax.lax.map(lambda a, t=trial: t(a[1], a[0]), (flat_p, keys.reshape(-1)),
                          batch_size=_batch_size(flat_p.shape[0]))
        results.append(jax.tree.map(lambda x: x.reshape(ps.shape[0], n_trials), out))
    return results


def _fixed_point_trial(key, p, *, n, p_max, flip, rule, max_flips, dtype):
    k_xi, k_probe, k_dyn = jax.random.split(key, 3)
    words = _pattern_words(k_xi, p, p_max, n)
    xi = _unpack(words, p, p_max, dtype)
    s0 = _probe(k_probe, xi[0], flip)
    if rule == "hebbian":
        # Integer fields N h = xi^T (xi s) - P s and columns N W[:, i], exact in floating point.
        # A column from the packed patterns: sum_mu xi_j xi_i = P - 2 popcount(bits_j XOR bits_i),
        # 32 patterns per word, so a flip costs O(N P / 32) integer operations.
        fields0 = xi.T @ (xi @ s0) - p * s0

        def column(i):
            mismatches = jnp.sum(jax.lax.population_count(words ^ words[i]), axis=-1, dtype=jnp.int32)
            return (p - 2 * mismatches).astype(dtype).at[i].set(0)
    else:
        W = _weights(xi, rule)
        fields0 = W @ s0

        def column(i):
            return W[:, i]

    def cond(c):
        return (c[3] > 0) & (c[4] < max_flips)

    def body(c):
        s, h, u, count, flips = c
        # the r-th unstable site, r uniform: a uniformly random unstable spin
        r = jnp.floor(jax.random.uniform(jax.random.fold_in(k_dyn, flips)) * count).astype(jnp.int32)
        i = _select(u, r)
        h = h - 2 * s[i] * column(i)
        s = s.at[i].multiply(-1)
        u = s * h < 0
        return s, h, u, jnp.sum(u, dtype=jnp.int32), flips + 1

    u0 = s0 * fields0 < 0
    s, h, _, count, _ = jax.lax.while_loop(cond, body, (s0, fields0, u0, jnp.sum(u0, dtype=jnp.int32), jnp.int32(0)))
    return xi[0] @ s / n, count == 0


# --------------------------------------------------------------------------- #
# finite temperature: the (alpha, T) retrieval diagram
# --------------------------------------------------------------------------- #
def retrieval_diagram(
    key,
    n: int,
    alphas,
    temperatures,
    n_trials: int = 8,
    *,
    n_sweeps: int = 40,
    rule: str = "hebbian",
    dtype=None,
) -> DiagramResult:
    r"""Overlap with a stored pattern over the (load, temperature) plane, in one compiled call.

    Each trial stores ``P = round(alpha N)`` random patterns with ``rule``,
    starts from pattern 0 and runs ``n_sweeps`` sweeps of asynchronous
    Glauber dynamics (:func:`retrieve`, ``mode="async"``) at
    :math:`\beta = 1/T`; the overlap :math:`m` is averaged over the second
    half of the sweeps. Where the retrieval state is stable it stays near its
    equilibrium value; elsewhere it decays (into a spin-glass or paramagnetic
    state). Amit, Gutfreund and Sompolinsky's replica-symmetric theory puts
    the edge of the retrieval region at :math:`T_M(\alpha)`, from
    :math:`T_M(0) = 1` to :math:`T_M(\alpha_c) = 0` (:func:`ags_overlap`).
    The weights of a trial are shared by all temperatures.

    Args:
      key: a PRNG key.
      n: network size.
      alphas: 1-D loads > 0.
      temperatures: 1-D temperatures >= 0 (0 is zero-temperature dynamics).
      n_trials: independent networks per load.
      n_sweeps: sweeps per run (>= 2).
      rule: ``"hebbian"``, ``"pseudo_inverse"`` or ``"storkey"``.
      dtype: float dtype (default float32, float64 under x64).

    Returns:
      A :class:`DiagramResult`.

    Example:
      >>> import jax
      >>> from jaxstat import hopfield
      >>> d = hopfield.retrieval_diagram(jax.random.key(0), 100, [0.02], [0.2, 2.0], n_trials=4)
      >>> bool(d.mean_overlap[0, 0] > 0.9), bool(d.mean_overlap[1, 0] < 0.5)  # cold: recall; hot: none
      (True, True)
    """
    check_key(key)
    _check_rule(rule)
    if np.ndim(n) != 0:
        raise ValueError(f"n must be one network size (an integer >= 1); got {n!r}")
    (n,) = check_sizes(n)
    (p,) = _check_loads(alphas, (n,), rule)
    t = np.asarray(temperatures, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"temperatures must be a non-empty 1-D sequence of finite values >= 0; got {temperatures!r}")
    n_trials = check_positive_int(n_trials, "n_trials")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    if n_sweeps < 2:
        raise ValueError(f"n_sweeps must be >= 2 (the overlap is averaged over the second half); got {n_sweeps}")
    dtype = float_dtype() if dtype is None else check_float_dtype(dtype)
    with np.errstate(divide="ignore"):
        betas = 1.0 / t   # T = 0 -> beta = inf, exact zero-temperature dynamics
    overlap = _diagram_call(key, jnp.asarray(p, jnp.int32), jnp.asarray(betas, dtype), n=n, p_max=int(p.max()),
                            n_trials=n_trials, n_sweeps=n_sweeps, rule=rule, dtype=dtype)
    # (alpha, trial, T) -> (T, alpha, trial)
    return DiagramResult(n, p, t, np.moveaxis(np.asarray(overlap), -1, 0))


@functools.partial(jax.jit, static_argnames=("n", "p_max", "n_trials", "n_sweeps", "rule", "dtype"))
def _diagram_call(key, ps, betas, *, n, p_max, n_trials, n_sweeps, rule, dtype):
    def trial(k, p):
        k_xi, k_dyn = jax.random.split(k)
        xi = _patterns(k_xi, p, p_max, n, dtype)
        W = _weights(xi, rule)
        h = jnp.zeros((n,), dtype)

        def at(beta, kb):
            r = _retrieve_one(kb, xi[0], W=W, h=h, beta=beta, patterns=xi[:1], n_sweeps=n_sweeps, mode="async")
            return jnp.mean(r.overlaps[n_sweeps // 2 + 1:, 0])

        return jax.vmap(at)(betas, jax.random.split(k_dyn, betas.shape[0]))

    flat_p = jnp.repeat(ps, n_trials)
    keys = jax.random.split(key, flat_p.shape[0])
    out = jax.lax.map(lambda a: trial(a[1], a[0]), (flat_p, keys), batch_size=_batch_size(flat_p.shape[0]))
    return out.reshape(ps.shape[0], n_trials, -1)
