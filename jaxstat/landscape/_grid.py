"""Evaluating a loss at the points of a slice: vmapped chunks, and on CPU one host thread per core.

``evaluate(fn, points, chunk_size)`` maps ``fn`` over the rows of ``points``
(shape ``(m, k)``): ``jax.vmap`` over ``chunk_size`` points at a time, one
chunk after another (``lax.map``), so memory is that of one chunk.

On a multi-core CPU that one program leaves the cores waiting on each other.
XLA:CPU splits every operation of a chunk across its intra-op threads; for a
small net each operation is short (one 1797x128x128 product of the
64-128-128-10 MLP on the digits takes ~0.3 ms), and the split and the barrier
after every operation cost more than they save. Measured on a 2-core Xeon
(``benchmarks/landscape.py``, and one-core runs): as one program the 51x51
plane ran at 0.45-0.57 of the 2-core float32 matmul rate (by chunk size)
and burned 2.4-2.6 s of CPU time, where one core alone did the same work in
1.75-1.8 s at 0.72-0.79 of the one-core rate. ``run_in_blocks`` therefore cuts the
points into one contiguous block per core and executes the same compiled
program on every block, each from its own host thread (XLA releases the GIL
while it computes): each core evaluates whole points, and the plane ran at
0.74-0.75 of the 2-core rate.

The program is compiled once, ahead of time, in the calling thread
(``jit(...).lower(...).compile()``, which JAX caches), and the threads only
execute it: no thread traces the user's loss, so the caller's thread-local
JAX settings (an ``enable_x64`` context, say) are the ones compiled in. A
point's value does not depend on the block it falls in, since every block
runs the same program on chunks of the same size: the result is
bit-identical for any number of workers. Inside a caller's ``jit``,
``vmap`` or ``grad``, on an accelerator, or for arrays spread over several
devices, ``run_in_blocks`` is the single program.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp

__all__ = ["evaluate", "run_in_blocks", "cpu_cores"]


def evaluate(fn, points, chunk_size):
    """``fn`` at each row of ``points`` (shape ``(m, k)``): vmapped, in sequential chunks."""
    m = points.shape[0]
    if chunk_size is None or chunk_size >= m:
        return jax.vmap(fn)(points)
    n_chunks = math.ceil(m / chunk_size)
    # Pad with copies of the first point (a valid point, so no NaN leaks in) and drop them after.
    out = jax.lax.map(jax.vmap(fn), _pad(points, n_chunks * chunk_size).reshape(n_chunks, chunk_size, -1))
    return out.reshape(-1)[:m]


def _pad(points, size):
    extra = size - points.shape[0]
    return jnp.concatenate([points, jnp.broadcast_to(points[:1], (extra, points.shape[1]))]) if extra else points


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _untraced() -> bool:
    # No public JAX call says whether a transformation is being traced; inside one, a
    # loss may close over the caller's tracers, which another thread must never see.
    # A JAX without this function keeps the single-program path.
    try:
        from jax._src.core import trace_state_clean
    except ImportError:
        return False
    return bool(trace_state_clean())


def _n_workers(workers, arrays, n_chunks) -> int:
    """Host threads to use: 1 when threads cannot or need not help."""
    if n_chunks < 2 or workers == 1 or not _untraced():
        return 1
    leaves = jax.tree.leaves(arrays)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return 1
    devices = set()
    for x in leaves:
        if isinstance(x, jax.Array):
            devices.update(x.devices())
    if len(devices) > 1:
        return 1  # a sharded or multi-device program: leave its placement to XLA
    platform = next(iter(devices)).platform if devices else jax.default_backend()
    if platform != "cpu":
        return 1  # one accelerator runs one program at a time anyway
    return min(cpu_cores() if workers is None else workers, n_chunks)


def run_in_blocks(kernel, static, args, points, chunk_size, workers):
    """``kernel(static, *args, points, chunk_size)``, the points split over ``workers`` host threads.

    ``kernel`` is a ``jax.jit`` function with ``static`` and ``chunk_size``
    static that evaluates a loss at each row of ``points`` (via ``evaluate``);
    ``workers`` is None (one per core) or a positive int.
    """
    m = points.shape[0]
    chunk = m if chunk_size is None else min(chunk_size, m)
    n_chunks = math.ceil(m / chunk)
    n = _n_workers(workers, (args, points), n_chunks)
    if n == 1:
        return kernel(static, *args, points, chunk_size)
    per_block = math.ceil(n_chunks / n) * chunk  # whole chunks, so every block runs the same chunks
    n = math.ceil(m / per_block)  # no block made only of padding
    blocks = _pad(points, n * per_block).reshape(n, per_block, -1)
    compiled = kernel.lower(static, *args, blocks[0], chunk_size).compile()
    with ThreadPoolExecutor(max_workers=n) as pool:
        outs = list(pool.map(lambda block: compiled(*args, block).block_until_ready(), blocks))
    return jnp.concatenate(outs)[:m]
