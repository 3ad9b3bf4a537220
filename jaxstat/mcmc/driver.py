"""The ``lax.scan`` driver that runs any sampler and records observables.

:func:`run` compiles one program per (sampler, run length, observe) and takes
``beta``, the key and the initial spins as traced inputs, so sweeping a
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

from jaxstat._validate import check_beta, check_key, check_positive_int, float_dtype
from jaxstat.mcmc.base import Sampler, fast_sum

__all__ = ["run", "default_observe"]


def default_observe(state) -> dict:
    """The default trace: the total energy ``E`` and the magnetization per spin ``m``."""
    return {"energy": state.energy, "magnetization": fast_sum(state.spins) / state.spins.size}


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
    static_argnames=("sampler", "n_records", "thin", "burn_in", "remainder", "observe", "progress"),
)
def _run_compiled(key, state, beta, *, sampler, n_records, thin, burn_in, remainder, observe, progress):
    total = burn_in + n_records * thin + remainder
    key_burn, key_main, key_rest = jax.random.split(key, 3)

    def sweep_only(k):
        def f(state, i):
            state, _ = sampler.step(jax.random.fold_in(k, i), state, beta)
            return state, None

        return f

    def record(state, r):
        def thin_body(j, carry):
            state, acc = carry
            state, info = sampler.step(jax.random.fold_in(key_main, r * thin + j), state, beta)
            return state, acc + info.acceptance_rate

        state, acc = jax.lax.fori_loop(0, thin, thin_body, (state, jnp.zeros((), state.energy.dtype)))
        return state, (observe(state), acc / thin)

    def ticks(sweeps):  # share the run's ticks among its phases by length
        return max(1, round(progress * sweeps / total)) if progress else 0

    state, _ = _scan_ticked(sweep_only(key_burn), state, burn_in, 0, 1, total, ticks(burn_in))
    state, (trace, acceptance) = _scan_ticked(
        record, state, n_records, burn_in, thin, total, ticks(n_records * thin)
    )
    state, _ = _scan_ticked(
        sweep_only(key_rest), state, remainder, burn_in + n_records * thin, 1, total, ticks(remainder)
    )
    return state, trace, acceptance


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

    The whole run is one compiled ``lax.scan``: ``burn_in`` sweeps unrecorded,
    then ``n_sweeps`` sweeps with ``observe(state)`` recorded every ``thin``
    sweeps (``n_sweeps // thin`` records; leftover sweeps run unrecorded).

    Args:
      key: a PRNG key. It is split into one key per phase (burn-in,
        recorded, leftover); sweep ``i`` of a phase uses ``fold_in(phase_key, i)``.
      sampler: a :class:`~jaxstat.mcmc.Sampler`.
      spins: the initial configuration (one chain; vmap for many).
      beta: inverse temperature, traced: vmap over a ladder freely.
      n_sweeps: number of recorded-phase sweeps (>= 1).
      burn_in: sweeps to discard first (>= 0).
      thin: record every ``thin`` sweeps (>= 1).
      observe: ``observe(state) -> pytree`` of arrays; default energy and
        magnetization per spin (:func:`default_observe`).
      progress: show a progress bar. It is driven by 2 to 50 host callbacks
        placed between chunks of the compiled loop (about one per 2^24 spin
        updates), so it costs a few percent at most.

    Compilation is cached on the sampler, ``observe`` and the run lengths
    (static), not on ``beta``, ``key`` or ``spins`` (traced). Reuse the same
    sampler and observe function objects across calls: a new
    ``lambda`` per call, or a new ``glauber(model)`` per call, compiles anew.
    Inside your own ``jax.jit`` none of this matters.

    Returns:
      ``(state, trace)``: the final state and the recorded observables, each
      leaf with a leading axis of length ``n_sweeps // thin``. When
      ``observe`` returns a dict (the default does), the trace also holds
      ``"acceptance_rate"``: the mean acceptance over each recorded block.

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
    check_beta(beta)
    if observe is None:
        observe = default_observe
    elif not callable(observe):
        raise ValueError(f"observe must be a function of the state; got {type(observe).__name__}")
    n_records, remainder = divmod(n_sweeps, thin)
    # init validates shape and (when concrete) values with a clear message;
    # its state goes straight into the compiled loop.
    state = sampler.init(spins)
    state, trace, acceptance = _run_compiled(
        key,
        state,
        jnp.asarray(beta, float_dtype()),  # one strong dtype: no retrace for float vs array
        sampler=sampler,
        n_records=n_records,
        thin=thin,
        burn_in=burn_in,
        remainder=remainder,
        observe=observe,
        progress=_n_ticks(int(jnp.size(spins)), burn_in + n_sweeps) if progress else 0,
    )
    if isinstance(trace, dict) and "acceptance_rate" not in trace:
        trace = {**trace, "acceptance_rate": acceptance}
    return state, trace
