"""CPU speed tricks, in one place, each with the measurement that justifies it.

XLA:CPU compiles elementwise code well but some patterns badly; the kernels
here are the same computation written the way XLA:CPU runs fast. Each says
what it gains on CPU (figures from ``benchmarks/``, a 2-core AMD EPYC, JAX
0.10) and what it does on a GPU, where none of them is needed but none is
harmful: they are plain ``jax.numpy`` and give bit-identical results.

1. **Fused Threefry** (:func:`threefry2x32`, :func:`random_bits`,
   :func:`random_bits_by_rows`). Threefry-2x32 (20 rounds), the generator
   behind JAX's default keys (Salmon et al., "Parallel random numbers: as
   easy as 1, 2, 3", SC 2011), written as integer array operations, so XLA
   fuses it into the code that consumes the bits. Bit-identical blocks to
   ``jax.extend.random.threefry_2x32`` (``tests/mcmc/test_threefry.py``).
   On CPU a sweep's worth of random numbers is ~2.5x cheaper than
   ``jax.random.bits``, and a 2D Ising sweep spends most of its time here.
   ``benchmarks/random_bits.py`` re-measures it against ``jax.random``'s
   threefry2x32, rbg and unsafe_rbg implementations (RESULTS.md,
   2026-12-02): the fused Threefry is kept because it is the fastest there
   *and* exact — counter-based, keyed per (seed, sweep, site), the same on
   any number of devices. On a GPU the fusion also saves a round trip
   through memory; ``jax.random`` there is already a fused kernel, so the
   gain is smaller.

   Two layouts give the same words. :func:`random_bits` flattens the pair
   of output halves, which fuses best into the lattice sweeps' uniforms;
   :func:`random_bits_by_rows` stacks the halves along the leading axis,
   which XLA:CPU fuses into an elementwise consumer of other rank-d arrays
   (the Fortuin–Kasteleyn bonds) without evaluating the generator twice per
   word: 4.5x faster there (L = 64 bonds: 99 µs -> 22 µs per draw), but
   1.4x slower in the checkerboard sweep, so each caller uses the layout
   that measures best.

2. **Sums as matrix-vector products** (:func:`fast_sum`). XLA:CPU lowers a
   full reduction of a big array to a scalar loop but a matrix-vector
   product to a vectorised, blocked kernel; per checkerboard sweep this is
   ~25% overhead against ~3%. Blocked partial sums are also more accurate
   in float32. On a GPU both are a tree reduction.

3. **Two-level prefix search** (:func:`select_true`). The r-th True entry
   of a mask by a cumsum over 32-entry blocks and one within a block:
   XLA:CPU's cumsum is a reduce-window whose cost dominated a Hopfield
   capacity flip (6 µs against 1.6 µs at N = 1000). On a GPU a cumsum is a
   parallel scan and either form is fast.

Each call of the generator draws two fresh key words from the caller's JAX
key (any PRNG implementation) and encrypts the counters 0, 1, 2, ...: the
standard counter-mode use of Threefry.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

_U = jnp.uint32
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def _rotl(x, r: int):
    return (x << _U(r)) | (x >> _U(32 - r))


def threefry2x32(k0, k1, x0, x1):
    """Encrypt counter pairs ``(x0, x1)`` under key ``(k0, k1)``: 20 rounds."""
    ks = (k0, k1, k0 ^ k1 ^ _U(_PARITY))
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r)
            x1 = x0 ^ x1
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + _U(i + 1)
    return x0, x1


def random_bits(key, shape) -> jax.Array:
    """Uniform random uint32 words of the given shape (fusible Threefry)."""
    shape = tuple(shape)
    size = math.prod(shape)
    if size == 0:
        return jnp.zeros(shape, _U)
    k = jax.random.bits(key, (2,), _U)
    half = -(-size // 2)
    counter = jax.lax.iota(_U, half)
    a, b = threefry2x32(k[0], k[1], counter, counter + _U(half))
    return jnp.concatenate([a, b])[:size].reshape(shape)


def random_bits_by_rows(key, shape) -> jax.Array:
    """The words of :func:`random_bits` (bit-identical), built half by half along the leading
    axis so that no flat reshape of a concatenation reaches the consumer's fusion."""
    shape = tuple(shape)
    if not shape or shape[0] % 2:
        return random_bits(key, shape)
    half_shape = (shape[0] // 2,) + shape[1:]
    half = math.prod(half_shape)
    k = jax.random.bits(key, (2,), _U)
    strides = np.cumprod((1,) + half_shape[:0:-1])[::-1]  # row-major counter of each element
    counter = sum(jax.lax.broadcasted_iota(_U, half_shape, ax) * _U(int(st)) for ax, st in enumerate(strides))
    a, b = threefry2x32(k[0], k[1], counter, counter + _U(half))
    return jnp.concatenate([a, b], axis=0)


def fast_sum(x, n_lead: int = 0):
    """Sum over all axes after the first ``n_lead``, as a matrix-vector product (trick 2).

    Example:
      >>> import jax.numpy as jnp
      >>> float(fast_sum(jnp.ones((4, 8))))
      32.0
    """
    lead = x.shape[:n_lead]
    rows = x.reshape(lead + (-1, x.shape[-1] if x.ndim > n_lead else 1))
    return jnp.sum(rows @ jnp.ones((rows.shape[-1],), x.dtype), axis=-1)


def select_true(mask, r):
    """Index of the ``r``-th (from 0) True entry of a 1-D boolean mask (trick 3).

    ``r`` must be below the number of True entries (callers draw it so).

    Example:
      >>> import jax.numpy as jnp
      >>> int(select_true(jnp.array([False, True, False, True, True]), 1))
      3
    """
    rows = jnp.pad(mask, (0, -mask.shape[0] % 32)).reshape(-1, 32).astype(jnp.int32)
    counts = jnp.sum(rows, axis=1)
    upto = jnp.cumsum(counts)
    row = jnp.argmax(upto > r)
    col = jnp.argmax(jnp.cumsum(rows[row]) > r - (upto[row] - counts[row]))
    return row * 32 + col
