r"""Bit-packed checkerboard layout: each colour of a periodic lattice, 32 spins to a word.

A site ``x = (x_0, ..., x_{d-1})`` has colour :math:`c = (\sum_m x_m) \bmod 2`.
Along the last axis (length L, even) the sites of colour c in a row of
parity :math:`r = (\sum_{m<d-1} x_m) \bmod 2` are ``j = 2k + (c \oplus r)``,
``k = 0 .. M-1`` with ``M = L / 2``. Colour c is stored as uint32 words: sublattice column ``k`` is bit ``b`` of word
``w`` with ``k = w + b W`` (``B = M / W`` bits per word: 32 when 32 divides
M, otherwise the largest divisor of M below 32). The strided order makes a
neighbour at ``k ± 1`` the *same bit* of the next or previous word, except at
the ends of a row, where the periodic wrap is a one-bit rotation of the end
word, so a half-sweep needs no per-bit shuffling:

The words of one colour are stored ``(W, *rows)``: the word index leads and a
lattice side is the minor axis, long whatever W is.

* along an axis ``m < d - 1`` the neighbours of colour c are the other
  colour's words at the same ``k`` in the rows ``x_m ± 1`` (array rolls);
* along the last axis they are the other colour's word at ``k`` and at
  ``k - 1`` (rows with :math:`c \oplus r = 0`) or ``k + 1`` (the others).

Bit value 1 is spin +1. Bits above ``B`` in each word stay zero.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

_U = jnp.uint32


class Layout:
    """The packed layout of one lattice shape (static: built from Python ints only)."""

    def __init__(self, shape):
        self.shape = tuple(int(n) for n in shape)
        self.d = len(self.shape)
        self.rows = self.shape[:-1]
        self.half = self.shape[-1] // 2  # M: sites of one colour per row
        self.bits = max(b for b in range(1, 33) if self.half % b == 0)  # B
        self.words = self.half // self.bits  # W
        # words on the leading axis, rows minor: the minor axis is long (a lattice side)
        # whatever W is, which XLA:CPU vectorizes (with W minor, a 3D lattice of side 128
        # has a minor axis of 2 words and ran 3x slower)
        self.word_shape = (self.words,) + self.rows
        self.n = math.prod(self.shape)

    @property
    def valid(self):
        """The used bits of every word (all ones when B = 32)."""
        return _U(0xFFFFFFFF) if self.bits == 32 else _U((1 << self.bits) - 1)

    def row_parity(self, words_axis_first: bool = True):
        """Parity of the sum of the row coordinates (int32, from iotas), shape ``(1,) + rows``
        (the word layout) or ``rows + (1,)`` (the lattice's, for packing)."""
        shape = ((1,) + self.rows) if words_axis_first else (self.rows + (1,))
        first = 1 if words_axis_first else 0
        total = sum((jax.lax.broadcasted_iota(jnp.int32, shape, k + first) for k in range(self.d - 1)),
                    jnp.int32(0))
        return jnp.broadcast_to(total & 1, shape)

    def odd_rows(self, colour: int, words_axis_first: bool = True):
        """True in the rows where colour ``colour`` sits at odd ``j`` (``c xor r = 1``)."""
        return ((self.row_parity(words_axis_first) + colour) & 1) == 1

    # ------------------------------------------------------------------ packing
    def pack_colour(self, up, colour: int):
        """Boolean field of the lattice shape (trailing axes) to colour ``colour``'s words."""
        lead = up.shape[: up.ndim - self.d]
        pairs = up.reshape(lead + self.rows + (self.half, 2))
        sub = jnp.where(self.odd_rows(colour, False), pairs[..., 1], pairs[..., 0])  # (..., rows, M)
        bits = sub.reshape(lead + self.rows + (self.bits, self.words)).astype(_U)
        bits = bits << jnp.arange(self.bits, dtype=_U)[:, None]
        words = jax.lax.reduce(bits, _U(0), jax.lax.bitwise_or, (bits.ndim - 2,))  # (..., rows, W)
        return jnp.moveaxis(words, -1, len(lead))

    def unpack_colour(self, words):
        """Colour words ``(..., W, *rows)`` to a boolean ``(..., rows, M)`` sublattice, k in order."""
        words = jnp.moveaxis(words, words.ndim - self.d, -1)  # (..., rows, W)
        bits = (words[..., None, :] >> jnp.arange(self.bits, dtype=_U)[:, None]) & _U(1)
        return bits.reshape(words.shape[:-1] + (self.half,)).astype(bool)

    def pack(self, spins):
        """±1 spins (trailing axes the lattice) to words ``(..., 2, W, *rows)``."""
        up = spins > 0
        return jnp.stack([self.pack_colour(up, 0), self.pack_colour(up, 1)], axis=-self.d - 1)

    def unpack(self, words, dtype):
        """Inverse of :meth:`pack`: words ``(..., 2, W, *rows)`` to ±1 spins of ``dtype``."""
        c0 = self.unpack_colour(jnp.take(words, 0, axis=-self.d - 1))
        c1 = self.unpack_colour(jnp.take(words, 1, axis=-self.d - 1))
        even = self.row_parity(False) == 0  # colour 0 at even j in even rows
        pairs = jnp.stack([jnp.where(even, c0, c1), jnp.where(even, c1, c0)], axis=-1)
        up = pairs.reshape(pairs.shape[:-2] + (2 * self.half,))
        return jnp.where(up, 1, -1).astype(dtype)

    # --------------------------------------------------------------- neighbours
    def _next_k(self, w):
        """Words ``(W, *rows)`` holding site ``k + 1`` of each site ``k`` (periodic in k)."""
        first = w[:1]
        wrapped = (first >> _U(1)) | ((first & _U(1)) << _U(self.bits - 1))
        return jnp.concatenate([w[1:], wrapped], axis=0)

    def _previous_k(self, w):
        """Words ``(W, *rows)`` holding site ``k - 1`` of each site ``k`` (periodic in k)."""
        last = w[-1:]
        wrapped = ((last << _U(1)) & self.valid) | (last >> _U(self.bits - 1))
        return jnp.concatenate([wrapped, w[:-1]], axis=0)

    def neighbours(self, other, colour: int):
        """The other colour's spins at the 2d neighbours of colour ``colour``'s sites.

        Order: ``+e_0, -e_0, ..., +e_{d-1}, -e_{d-1}`` (the order of :meth:`bond_signs`).
        ``other`` has shape ``(W, *rows)`` (no leading axes: one chain).
        """
        out = []
        for m in range(self.d - 1):
            out += [jnp.roll(other, -1, axis=m + 1), jnp.roll(other, 1, axis=m + 1)]
        odd = self.odd_rows(colour)
        out += [jnp.where(odd, self._next_k(other), other), jnp.where(odd, other, self._previous_k(other))]
        return out

    def bond_signs(self, J):
        """Per-bond couplings ``(d, *shape)`` to negative-bond masks ``(2, 2d, W, *rows)``:
        bit set where the bond from that site to that neighbour is negative."""
        colours = []
        for colour in range(2):
            masks = []
            for k in range(self.d):
                masks.append(self.pack_colour(J[k] < 0, colour))  # bond to x + e_k
                masks.append(self.pack_colour(jnp.roll(J[k], 1, axis=k) < 0, colour))  # to x - e_k
            colours.append(jnp.stack(masks))
        return jnp.stack(colours)
