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


def _step(sampler, key, state, beta):
    """One step of any sampler: a ladder sampler carries its own betas."""
    if sampler.has_ladder:
        return sampler.step(key, state)
    return sampler.step(key, state, beta)


def _mean_over_steps(x):
    """Mean over the leading (step) axis; floating fields keep their dtype, counts and flags become floats."""
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
    return jnp.mean(x.astype(dtype), axis=0)


@functools.partial(
    jax.jit,
    static_argnames=("n_records", "thin", "burn_in", "remainder", "observe", "progress"),
)
def _run_compiled(key, sampler, state, beta, *, n_records, thin, burn_in, remainder, observe, progress):
    total = burn_in + n_records * thin + remainder
    key_burn, key_main, key_rest = jax.random.split(key, 3)
    # Traced spins that were invalid (0/1 states under vmap become NaN in init) and a traced
    # negative or NaN beta cannot raise: every floating output of the run is then NaN, never a
    # plausible number (a heat-bath step would otherwise turn a NaN spin into a valid one).
    valid = jnp.all(jnp.isfinite(state.spins))
    if beta is not None:
        valid = valid & (beta >= 0)
    observe = sampler.observe if observe is None else observe

    def sweep_only(k):
        def f(state, i):
            state, _ = _step(sampler, jax.random.fold_in(k, i), state, beta)
            return state, None

        return f

    def record(state, r):
        def thin_body(state, j):
            return _step(sampler, jax.random.fold_in(key_main, r * thin + j), state, beta)

        # The thin steps' infos are stacked (they are small) and averaged.
        state, infos = jax.lax.scan(thin_body, state, jnp.arange(thin))
        return state, (observe(state), jax.tree.map(_mean_over_steps, infos))

    def ticks(sweeps):  # share the run's ticks among its phases by length
        return max(1, round(progress * sweeps / total)) if progress else 0

    state, _ = _scan_ticked(sweep_only(key_burn), state, burn_in, 0, 1, total, ticks(burn_in))
    state, (trace, info) = _scan_ticked(
        record, state, n_records, burn_in, thin, total, ticks(n_records * thin)
    )
    state, _ = _scan_ticked(
        sweep_only(key_rest), state, remainder, burn_in + n_records * thin, 1, total, ticks(remainder)
    )
    state, trace, info = jax.tree.map(lambda x: _nan_unless(valid, x), (state, trace, info))
    return state, trace, info


def _nan_unless(ok, x):
    return jnp.where(ok, x, jnp.nan).astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x


def _is_state(x) -> bool:
    """A sampler state (a NamedTuple with spins and energy), rather than spins."""
    return isinstance(x, tuple) and hasattr(x, "_fields") and hasattr(x, "spins") and hasattr(x, "energy")


def _info_fields(info) -> dict:
    """The fields of a step's info as a dict (a NamedTuple's fields, or a dict as is)."""
    if isinstance(info, dict):
        return dict(info)
    if hasattr(info, "_asdict"):
        return dict(info._asdict())
    return {} if info is None else {"info": info}


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
    state, trace, info = _run_compiled(
        key,
        sampler,
        state,
        beta,
        n_records=n_records,
        thin=thin,
        burn_in=burn_in,
        remainder=remainder,
        observe=static(observe),  # a re-created but equal observe function reuses the compilation
        progress=_n_ticks(int(jnp.size(state.spins)), burn_in + n_sweeps) if progress else 0,
    )
    if isinstance(trace, dict):
        trace = {**trace, **{k: v for k, v in _info_fields(info).items() if k not in trace}}
    return state, trace
