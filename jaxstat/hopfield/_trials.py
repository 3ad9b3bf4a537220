"""Random patterns, probes and the (size, load, trial) loop shared by the capacity experiments
(:mod:`~jaxstat.hopfield.capacity`, :mod:`~jaxstat.hopfield.diagram`, :mod:`~jaxstat.hopfield.dense`)
and by :func:`jaxstat.hopfield.corrupt`."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def batch_size(total: int) -> int:
    """Trials run at once. On CPU one at a time: a trial's patterns stay in cache and its
    while-loop stops at its own fixed point instead of waiting for the slowest of a
    vmapped batch (measured 2.4x faster at N = 1000). Accelerators vmap everything."""
    return 1 if jax.default_backend() == "cpu" else total


def random_subset(key, shape, fraction):
    """Boolean mask with exactly round(fraction * N) True entries per row, uniformly placed."""
    k = jnp.floor(jnp.asarray(fraction, jnp.float32) * shape[-1] + 0.5)
    # The rank of each site in a random permutation picks k distinct sites.
    rank = jnp.argsort(jnp.argsort(jax.random.uniform(key, shape), axis=-1), axis=-1)
    return rank < k


def pattern_words(key, p, p_max, n):
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


def unpack(words, p, p_max, dtype):
    """``(p_max, N)`` patterns of ±1 from :func:`pattern_words`, rows from ``p`` on zero."""
    bits = (words[:, :, None] >> jnp.arange(32, dtype=jnp.uint32)) & 1
    signs = 1 - 2 * bits.reshape(words.shape[0], -1)[:, :p_max].astype(dtype)
    return (signs * (jnp.arange(p_max) < p).astype(dtype)).T


def random_patterns(key, p, p_max, n, dtype):
    """``(p_max, n)`` random ±1 patterns whose rows from ``p`` on are zero (masked)."""
    return unpack(pattern_words(key, p, p_max, n), p, p_max, dtype)


def probe(key, pattern, flip):
    """``pattern`` with ``round(flip N)`` random sites flipped."""
    # the random subset costs two sorts: skip them for the usual start from the pattern itself
    return jax.lax.cond(flip > 0, lambda: jnp.where(random_subset(key, pattern.shape, flip), -pattern, pattern),
                        lambda: pattern)


def over_sizes_loads_trials(key, p_rows, sizes, p_max, n_trials, make_trial):
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
                          batch_size=batch_size(flat_p.shape[0]))
        n_loads = ps.shape[0]
        results.append(jax.tree.map(lambda x, n_loads=n_loads: x.reshape(n_loads, n_trials), out))
    return results
