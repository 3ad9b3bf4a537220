"""Threefry-2x32 (20 rounds) written in ``jax.numpy``, for bulk random bits.

This is the same counter-based generator as JAX's default PRNG (Salmon et
al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) and produces
bit-identical blocks (``tests/mcmc/test_threefry.py`` checks it against
``jax.extend.random.threefry_2x32``). Written as plain integer array
operations, XLA fuses it into the code that consumes the bits, which on CPU
makes a sweep's worth of random numbers ~2.5x cheaper than
``jax.random.bits``; a Monte Carlo sweep of the 2D Ising model spends most of
its time here.

Each call draws two fresh key words from the caller's JAX key (any PRNG
implementation) and encrypts the counters 0, 1, 2, ...: the standard
counter-mode use of Threefry.

Two layouts give the same words. :func:`random_bits` flattens the pair of
output halves, which fuses best into the lattice sweeps' uniforms;
:func:`random_bits_by_rows` stacks the halves along the leading axis, which
XLA:CPU fuses into an elementwise consumer of other rank-d arrays (the
Fortuin–Kasteleyn bonds) without evaluating the generator twice per word:
4.5x faster there (L = 64 bonds: 99 µs -> 22 µs per draw), but 1.4x slower
in the checkerboard sweep, so each caller uses the layout that measures best.
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
