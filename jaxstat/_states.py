r"""The one numbering of the :math:`2^n` states of ``n`` binary units, shared by every enumeration.

**Bit order.** State number ``k`` (``0 <= k < 2**n``) has unit ``i`` equal to
bit ``n - 1 - i`` of ``k``: unit 0 is the most significant bit, so the states
come in the order of ``itertools.product([0, 1], repeat=n)`` and the binary
expansion of ``k``, read left to right, *is* the configuration. As spins,
:math:`s_i = 2 b_i - 1`. :func:`jaxstat.exact.state_index` and
:func:`jaxstat.exact.states` expose this order publicly; the exact sums of
:mod:`jaxstat.exact` and :mod:`jaxstat.boltzmann` all walk it, so their
per-state arrays line up index by index.

Everything here is traceable (indices may be traced) and internal: the
public faces are :func:`jaxstat.exact.states` and
:func:`jaxstat.exact.state_index`.

>>> import jax.numpy as jnp
>>> all_binary_states(2, jnp.float32).tolist()
[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
>>> all_spin_states(2, jnp.float32)[1].tolist()
[-1.0, 1.0]
>>> int(state_index(jnp.array([1, 0, 1])))
5
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "MAX_INDEX_UNITS",
    "all_binary_states",
    "all_spin_states",
    "binary_states",
    "map_chunks",
    "spin_states",
    "state_index",
]

MAX_INDEX_UNITS = 31
"""State indices are int32: at most 2**31 states."""


def binary_states(idx, n: int, dtype):
    """{0, 1} configurations ``(..., n)`` of the (int32) state numbers ``idx``, unit 0 the most significant bit."""
    idx = jnp.asarray(idx, jnp.int32)
    shifts = jnp.arange(n - 1, -1, -1, dtype=jnp.int32)
    return (jnp.right_shift(idx[..., None], shifts) & 1).astype(dtype)


def spin_states(idx, n: int, dtype):
    """±1 configurations ``(..., n)`` of the state numbers ``idx``: ``2 * binary_states - 1``."""
    return (2 * binary_states(idx, n, jnp.int32) - 1).astype(dtype)


def all_binary_states(n: int, dtype):
    """All ``2**n`` {0, 1} configurations, ``(2**n, n)``, in state-number order."""
    return binary_states(jnp.arange(2**n, dtype=jnp.int32), n, dtype)


def all_spin_states(n: int, dtype):
    """All ``2**n`` ±1 configurations, ``(2**n, n)``, in state-number order."""
    return spin_states(jnp.arange(2**n, dtype=jnp.int32), n, dtype)


def state_index(bits):
    """The state number of configurations ``(..., n)`` with entries > 0 read as 1 (so {0, 1} or ±1), int32."""
    bits = jnp.asarray(bits)
    n = bits.shape[-1]
    weights = jnp.left_shift(jnp.int32(1), jnp.arange(n - 1, -1, -1, dtype=jnp.int32))
    return jnp.sum((bits > 0).astype(jnp.int32) * weights, axis=-1, dtype=jnp.int32)


def map_chunks(fn, n: int, chunk: int):
    """``fn(idx)`` over the state numbers in chunks of ``chunk``, stacked: ``lax.map`` keeps one chunk in memory.

    ``idx`` is an int32 vector of ``chunk`` consecutive state numbers. When
    ``chunk`` does not divide ``2**n`` the last chunk runs past the end, and
    ``fn`` must mask the numbers ``>= 2**n`` (they are no states). Results
    have a leading axis of length ``ceil(2**n / chunk)``.
    """
    n_chunks = -(-(2**n) // chunk)
    return jax.lax.map(lambda c: fn(c * chunk + jnp.arange(chunk, dtype=jnp.int32)),
                       jnp.arange(n_chunks, dtype=jnp.int32))
