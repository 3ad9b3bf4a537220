"""The pieces of a run shared by the one-program driver and the checkpointed one.

A run is three phases: ``burn_in`` unrecorded steps, ``n_records`` records
of ``thin`` steps each, and ``remainder`` unrecorded steps. Step ``i`` of a
phase uses ``fold_in(phase_key, i)``, so any split of a phase into segments
(the checkpointed run compiles one program per segment length) draws the
same random numbers as one scan over the whole phase: a checkpointed or
resumed run is bit-identical to an uninterrupted one.

A record is the observables and the step's info merged into one dict (when
``observe`` returns a dict), so streamed statistics and checkpoints see
acceptance rates, cluster sizes and swap rates as well.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def phase_keys(key):
    """The keys of the burn-in, recorded and leftover phases."""
    return jax.random.split(key, 3)


def step_any(sampler, key, state, beta):
    """One step of any sampler: a ladder sampler carries its own betas."""
    if sampler.has_ladder:
        return sampler.step(key, state)
    return sampler.step(key, state, beta)


def mean_over_steps(x):
    """Mean over the leading (step) axis; floating fields keep their dtype, counts and flags become floats."""
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
    return jnp.mean(x.astype(dtype), axis=0)


def info_fields(info) -> dict:
    """The fields of a step's info as a dict (a NamedTuple's fields, or a dict as is)."""
    if isinstance(info, dict):
        return dict(info)
    if hasattr(info, "_asdict"):
        return dict(info._asdict())
    return {} if info is None else {"info": info}


def merge_record(observed, info):
    """One record: the observables, plus every info field not already observed (dict observables only)."""
    if not isinstance(observed, dict):
        return observed
    return {**observed, **{k: v for k, v in info_fields(info).items() if k not in observed}}


def unrecorded(sampler, phase_key, beta):
    """Scan body of the unrecorded phases: step ``i`` uses ``fold_in(phase_key, i)``."""

    def body(state, i):
        state, _ = step_any(sampler, jax.random.fold_in(phase_key, i), state, beta)
        return state, None

    return body


def recorded(sampler, key_main, beta, thin: int, observe):
    """Scan body of the recorded phase: record ``r`` runs steps ``r thin + j``, then observes
    (``observe`` None: the sampler's own record)."""
    observe = sampler.observe if observe is None else observe

    def body(state, r):
        def thin_body(state, j):
            return step_any(sampler, jax.random.fold_in(key_main, r * thin + j), state, beta)

        # The thin steps' infos are stacked (they are small) and averaged.
        state, infos = jax.lax.scan(thin_body, state, jnp.arange(thin))
        return state, merge_record(observe(state), jax.tree.map(mean_over_steps, infos))

    return body


def streamed(body, stream):
    """A recorded-phase body that folds each record into ``stream``'s accumulator instead of emitting it."""

    def folded(carry, r):
        state, acc = carry
        state, record = body(state, r)
        return (state, stream.update(acc, record)), None

    return folded


def empty_record(sampler, state, beta, observe):
    """Shapes and dtypes of one record (nothing is computed)."""
    body = recorded(sampler, jax.random.key(0), beta, 1, observe)
    return jax.eval_shape(lambda s: body(s, 0)[1], state)


# --------------------------------------------------------------------------- #
# segments: the programs of a checkpointed run, one per segment length
# --------------------------------------------------------------------------- #
# The state is never donated: it may hold the caller's own spins array.
# The run's key is split inside each program, as in the one-program run: a key split
# outside would be committed to one device, and clash with a sampler placed on a mesh.
@functools.partial(jax.jit, static_argnames=("phase", "length"))
def unrecorded_segment(key, sampler, state, beta, start, *, phase, length):
    """Steps ``start, ..., start + length - 1`` of unrecorded phase ``phase`` (0 burn-in, 2 leftover)."""
    phase_key = phase_keys(key)[phase]
    state, _ = jax.lax.scan(unrecorded(sampler, phase_key, beta), state, start + jnp.arange(length))
    return state


@functools.partial(
    jax.jit, static_argnames=("length", "thin", "observe", "stream"), donate_argnames=("out",)
)
def recorded_segment(key, sampler, state, beta, out, start, *, length, thin, observe, stream):
    """Records ``start, ..., start + length - 1``; ``out`` is the whole trace buffer or the accumulator."""
    key_main = phase_keys(key)[1]
    body = recorded(sampler, key_main, beta, thin, observe)
    records = start + jnp.arange(length)
    if stream is not None:
        (state, out), _ = jax.lax.scan(streamed(body, stream), (state, out), records)
        return state, out
    state, trace = jax.lax.scan(body, state, records)
    out = jax.tree.map(lambda buf, x: jax.lax.dynamic_update_slice_in_dim(buf, x, start, axis=0), out, trace)
    return state, out
