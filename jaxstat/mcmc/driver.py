"""The ``lax.scan`` driver that runs any sampler and records observables.

:func:`run` compiles one program per (sampler structure, run length, observe)
and takes the sampler's arrays, ``beta``, the key and the initial spins as
traced inputs, so sweeping a
temperature or vmapping over a ladder never recompiles. It is safe under
``jax.vmap`` and ``jax.jit``: vmap it over keys and spins for independent
chains, over betas for a temperature sweep, over disorder for quenched
averages.
"""

from __future__ import annotations

import functools
import threading
from typing import Callable

import jax
import jax.numpy as jnp

from jaxstat._static import static
from jaxstat._validate import check_beta, check_key, check_positive_int, float_dtype
from jaxstat.mcmc._loop import empty_record, phase_keys, recorded, streamed, unrecorded
from jaxstat.mcmc.base import Sampler, default_observe

__all__ = ["run", "default_observe"]


# --------------------------------------------------------------------------- #
# progress display: a few host callbacks per run. The counter is never
# batched, so a vmapped run calls back once per tick; the host still ignores
# repeated or stale counters.
# --------------------------------------------------------------------------- #
class _ProgressBar:
    def __init__(self):
        self._lock = threading.Lock()
        self._bar = None

    def update(self, done, total):
        done, total = int(done), int(total)
        with self._lock:
            if self._bar is None or self._bar.total != total or done < self._bar.n - total // 2:
                from tqdm.auto import tqdm

                self.close_locked()
                self._bar = tqdm(total=total, desc="jaxstat.mcmc.run", unit="sweep", leave=True)
            if done > self._bar.n:
                self._bar.update(done - self._bar.n)
            if done >= total:
                self.close_locked()

    def close_locked(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


_PROGRESS = _ProgressBar()
_PROGRESS_TICKS = 50  # at most this many host callbacks per run
# A host callback costs about a millisecond on CPU (measured in
# benchmarks/ising.py); one per 2^24 single-spin updates (tens of ms of
# work) keeps the display's cost to a few percent even for short runs.
_SPIN_UPDATES_PER_TICK = 2**24


def _n_ticks(n_spins: int, n_sweeps: int) -> int:
    return int(min(_PROGRESS_TICKS, max(2, (n_spins * n_sweeps) // _SPIN_UPDATES_PER_TICK)))


def _tick(done, total):
    jax.debug.callback(_PROGRESS.update, done, total, ordered=False)


def _scan_ticked(f, carry, length, done_before, unit, total, progress):
    """``lax.scan(f, carry, arange(length))``, reporting progress between chunks.

    With ``progress`` (a number of ticks) the scan is split into that many chunks
    and the host callback sits between chunks, outside the hot loop: a
    ``cond`` inside the loop body would slow every sweep.
    """
    if length == 0:
        return carry, None
    if not progress:
        return jax.lax.scan(f, carry, jnp.arange(length))
    chunk = -(-length // progress)
    n_full, rest = divmod(length, chunk)

    def outer(c, k):
        c, out = jax.lax.scan(f, c, k * chunk + jnp.arange(chunk))
        _tick(done_before + (k + 1) * chunk * unit, total)
        return c, out

    carry, outs = jax.lax.scan(outer, carry, jnp.arange(n_full))
    outs = jax.tree.map(lambda x: x.reshape((n_full * chunk,) + x.shape[2:]), outs)
    if rest:
        carry, tail = jax.lax.scan(f, carry, n_full * chunk + jnp.arange(rest))
        outs = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), outs, tail)
        _tick(done_before + length * unit, total)
    return carry, outs


@functools.partial(
    jax.jit,
    static_argnames=("n_records", "thin", "burn_in", "remainder", "observe", "progress", "stream"),
)
def _run_compiled(key, sampler, state, beta, *, n_records, thin, burn_in, remainder, observe, progress,
                  stream=None):
    total = burn_in + n_records * thin + remainder
    key_burn, key_main, key_rest = phase_keys(key)
    # Traced spins that were invalid (0/1 states under vmap become NaN in init) and a traced
    # negative or NaN beta cannot raise: every floating output of the run is then NaN, never a
    # plausible number (a heat-bath step would otherwise turn a NaN spin into a valid one).
    valid = jnp.all(jnp.isfinite(state.spins))
    if beta is not None:
        valid = valid & (beta >= 0)

    def ticks(sweeps):  # share the run's ticks among its phases by length
        return max(1, round(progress * sweeps / total)) if progress else 0

    state, _ = _scan_ticked(unrecorded(sampler, key_burn, beta), state, burn_in, 0, 1, total, ticks(burn_in))
    body = recorded(sampler, key_main, beta, thin, observe)
    if stream is None:
        state, trace = _scan_ticked(body, state, n_records, burn_in, thin, total, ticks(n_records * thin))
    else:
        acc = stream.init(empty_record(sampler, state, beta, observe))
        (state, trace), _ = _scan_ticked(
            streamed(body, stream), (state, acc), n_records, burn_in, thin, total, ticks(n_records * thin)
        )
    state, _ = _scan_ticked(
        unrecorded(sampler, key_rest, beta), state, remainder, burn_in + n_records * thin, 1, total, ticks(remainder)
    )
    return jax.tree.map(lambda x: _nan_unless(valid, x), (state, trace))


def _nan_unless(ok, x):
    return jnp.where(ok, x, jnp.nan).astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x


def _is_state(x) -> bool:
    """A sampler state (a NamedTuple with spins and energy), rather than spins."""
    return isinstance(x, tuple) and hasattr(x, "_fields") and hasattr(x, "spins") and hasattr(x, "energy")


def run(
    key,
    sampler: Sampler,
    spins,
    beta,
    n_sweeps: int,
    burn_in: int = 0,
    thin: int = 1,
    observe: Callable | None = None,
    progress: bool = False,
    stream=None,
    checkpoint_dir=None,
    checkpoint_every: int | None = None,
) -> tuple:
    """Run ``sampler`` from ``spins`` at inverse temperature ``beta``.

    The whole run is one compiled ``lax.scan``: ``burn_in`` steps unrecorded,
    then ``n_sweeps`` steps with ``observe(state)`` recorded every ``thin``
    steps (``n_sweeps // thin`` records; leftover steps run unrecorded). A
    step is one sweep for the single-spin, checkerboard, Swendsen–Wang and
    Kawasaki samplers, one cluster for Wolff, and one round of local moves
    plus exchanges for parallel tempering.

    Args:
      key: a PRNG key. It is split into one key per phase (burn-in,
        recorded, leftover); step ``i`` of a phase uses ``fold_in(phase_key, i)``.
      sampler: a :class:`~jaxstat.mcmc.Sampler` (a pytree: passed to the
        compiled program as data, so new couplings, disorder or a retuned
        ladder of the same shapes reuse it).
      spins: the initial configuration (one chain; vmap for many). For
        parallel tempering one configuration per rung, or one for all. Or
        the state returned by an earlier run or step of the same sampler,
        to continue that chain exactly where it stopped.
      beta: inverse temperature, traced: vmap over a ladder freely. ``None``
        for a sampler that carries its own ladder (parallel tempering).
      n_sweeps: number of recorded-phase steps (>= 1).
      burn_in: steps to discard first (>= 0).
      thin: record every ``thin`` steps (>= 1).
      observe: ``observe(state) -> pytree`` of arrays; default the
        sampler's own record (``sampler.observe``: energy and magnetization
        per spin, per rung for parallel tempering).
      progress: show a progress bar. It is driven by 2 to 50 host callbacks
        placed between chunks of the compiled loop (about one per 2^24 spin
        updates), so it costs a few percent at most.
      stream: ``None`` (default) records the full trace. ``True`` or a
        :class:`jaxstat.stats.Streaming` keeps streaming statistics instead:
        running means, blocking (binning) accumulators and optional
        histograms of every record field, in memory independent of
        ``n_sweeps``; the second return value is then the accumulator, read
        with :func:`jaxstat.stats.summarize`.
      checkpoint_dir: a directory for checkpoints (orbax-checkpoint). The run
        is cut into segments of ``checkpoint_every`` steps and saved after
        each; called again with the same directory and arguments, ``run``
        resumes from the newest complete checkpoint (or returns the finished
        result) and the result is bit-identical to an uninterrupted run. A
        directory holding a different run (other couplings, shapes, key,
        beta, lengths, observe, stream or ``checkpoint_every``) is refused
        with an error naming what differs. Not inside ``jit``/``vmap``: use
        :func:`~jaxstat.mcmc.chains` to checkpoint many chains as one run.
        See :mod:`jaxstat.mcmc.checkpoint`.
      checkpoint_every: steps between checkpoints (default: about 10
        checkpoints per run). In the recorded phase segments hold whole
        records (``max(1, checkpoint_every // thin)`` of them).

    Compilation is cached on the sampler's *structure* (its type, static
    fields and leaf shapes), ``observe`` and the run lengths, not on the
    sampler's arrays, ``beta``, ``key`` or ``spins`` (traced). So a loop over
    disorder samples compiles once. Reuse the same ``observe`` function
    object across calls: a new ``lambda`` per call compiles anew. Inside
    your own ``jax.jit`` none of this matters.

    Returns:
      ``(state, trace)``: the final state and the recorded observables, each
      leaf with a leading axis of length ``n_sweeps // thin``. When
      ``observe`` returns a dict (the default does), the trace also holds
      every field of the step's ``info`` (``"acceptance_rate"``, cluster
      sizes, swap rates, ...), averaged over the ``thin`` steps of each record.
      With ``stream``, the trace is replaced by the streaming accumulator of
      those same records.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((16, 16))
      >>> sampler = js.mcmc.checkerboard(m)
      >>> betas = jnp.array([0.2, 0.6])
      >>> spins = jnp.ones((16, 16))
      >>> run = jax.vmap(lambda b: js.mcmc.run(jax.random.key(0), sampler, spins, b, 200))
      >>> state, trace = run(betas)
      >>> trace["magnetization"].shape
      (2, 200)
      >>> bool(abs(trace["magnetization"][1, -50:]).mean() > 0.9)  # ordered at beta = 0.6
      True
    """
    if not isinstance(sampler, Sampler):
        raise ValueError(
            f"sampler must be a jaxstat.mcmc.Sampler (e.g. jaxstat.mcmc.glauber(model)); got {type(sampler).__name__}"
        )
    check_key(key)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=1)
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    thin = check_positive_int(thin, "thin", minimum=1)
    if thin > n_sweeps:
        raise ValueError(f"thin must be <= n_sweeps (at least one record); got thin={thin}, n_sweeps={n_sweeps}")
    if sampler.has_ladder:
        if beta is not None:
            raise ValueError(
                f"beta must be None for {type(sampler).__name__}: the ladder of betas lives in the sampler "
                f"(sampler.betas); got beta={beta!r:.60}"
            )
    else:
        if beta is None:
            raise ValueError(f"beta must be an inverse temperature >= 0 for {type(sampler).__name__}; got None")
        check_beta(beta)
        beta = jnp.asarray(beta, float_dtype())  # one strong dtype: no retrace for float vs array
    if observe is not None and not callable(observe):
        raise ValueError(f"observe must be a function of the state; got {type(observe).__name__}")
    n_records, remainder = divmod(n_sweeps, thin)
    # init validates shape and (when concrete) values with a clear message;
    # its state goes straight into the compiled loop. A state passed in is
    # checked by the sampler's step when the loop is traced.
    state = spins if _is_state(spins) else sampler.init(spins)
    stream = _as_stream(stream)
    settings = dict(n_records=n_records, thin=thin, burn_in=burn_in, remainder=remainder,
                    observe=static(observe),  # a re-created but equal observe function reuses the compilation
                    stream=stream)
    if checkpoint_dir is not None or checkpoint_every is not None:
        from jaxstat.mcmc.checkpoint import run_checkpointed

        return run_checkpointed(key, sampler, spins, state, beta, settings, checkpoint_dir, checkpoint_every,
                                progress=progress)
    return _run_compiled(
        key, sampler, state, beta,
        progress=_n_ticks(int(jnp.size(state.spins)), burn_in + n_sweeps) if progress else 0,
        **settings,
    )


def _as_stream(stream):
    """``None``/``False`` (full trace), ``True`` (default streaming statistics) or a ``Streaming``."""
    if stream is None or stream is False:
        return None
    from jaxstat.stats.streaming import Streaming

    if stream is True:
        return Streaming()
    if not isinstance(stream, Streaming):
        raise ValueError(
            f"stream must be True, False, None or a jaxstat.stats.Streaming; got {type(stream).__name__}"
        )
    return stream
