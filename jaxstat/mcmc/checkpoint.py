"""Checkpointed runs: ``run(..., checkpoint_dir=..., checkpoint_every=...)``.

The run is cut into segments of ``checkpoint_every`` steps (whole records in
the recorded phase); after each segment the state, the trace so far (or the
streamed statistics) and the number of steps done are saved with
orbax-checkpoint. Called again with the same directory and arguments, ``run``
restores the newest checkpoint and carries on. Because step ``i`` of a phase
always draws from ``fold_in(phase_key, i)`` (:mod:`jaxstat.mcmc._loop`), a
resumed run is bit-identical to an uninterrupted one, and to the same run
without checkpoints.

Safety:

* orbax writes each checkpoint into a temporary directory and renames it
  only once complete (its atomic commit), so a process killed mid-write never
  leaves a checkpoint that looks valid; the newest complete one is used.
* Every checkpoint carries a fingerprint of the run: the sampler's type,
  static fields, leaf shapes and a checksum of its arrays (couplings,
  fields, ladder), checksums of the key, ``beta`` and the initial
  configuration, the run lengths, ``observe``, ``stream`` and
  ``checkpoint_every``. A directory holding a different run is refused with
  an error that names what differs; it is never silently resumed.
* Ctrl-C stops the run, waits for a checkpoint being written, and says
  which sweep the newest checkpoint holds and where.

The checksums are computed on the device with wrapping uint32 arithmetic,
which is associative: the same on any number of devices, and no array is
gathered to the host.
"""

from __future__ import annotations

import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._static import Static
from jaxstat._validate import check_positive_int
from jaxstat.mcmc import _loop

__all__ = ["run_checkpointed"]

_DEFAULT_CHECKPOINTS = 10  # checkpoints per run when checkpoint_every is not given


def _words(x):
    """Any array as uint32 words (floats and ints bit-cast, keys by their data)."""
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        x = jax.random.key_data(x)
    x = jnp.asarray(x)
    if x.dtype == jnp.bool_:
        return x.astype(jnp.uint32).ravel()
    if x.dtype.itemsize < 4:  # the bits of 8- and 16-bit values (float16 too), not their rounded values
        unsigned = {1: jnp.uint8, 2: jnp.uint16}[x.dtype.itemsize]
        return jax.lax.bitcast_convert_type(x, unsigned).astype(jnp.uint32).ravel()
    return jax.lax.bitcast_convert_type(x, jnp.uint32).ravel()  # 8-byte values: two words each


def _mix(h):
    """MurmurHash3's 32-bit finalizer: every input bit affects every output bit."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


@jax.jit
def _checksum_words(w):
    # Sums modulo 2^32 of a mix of (word, position): order-free, so the same on any number of
    # devices, and nonlinear, so structured changes (all signs flipped) do not cancel.
    i = jnp.arange(w.size, dtype=jnp.uint32)
    return jnp.stack([jnp.sum(_mix(w ^ _mix(i))), jnp.sum(_mix(w + i * jnp.uint32(0x9E3779B9) + jnp.uint32(1)))])


def _checksum(tree) -> str:
    leaves = jax.tree.leaves(tree)
    sums = [np.asarray(_checksum_words(_words(x))) if np.size(x) else np.zeros(2, np.uint32) for x in leaves]
    return "".join(f"{int(a):08x}{int(b):08x}" for a, b in sums)


def _structure(tree) -> str:
    return str(jax.tree.map(lambda x: f"{jnp.dtype(x.dtype).name}{list(np.shape(x))}", tree))


def _name(fn) -> str:
    if fn is None:
        return "default"
    fn = fn.value if isinstance(fn, Static) else fn
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def _fingerprint(key, sampler, start, beta, settings, every) -> dict:
    return {
        "sampler": type(sampler).__name__,
        "sampler_structure": str(jax.tree.structure(sampler)),
        "sampler_arrays": _structure(sampler),
        "sampler_checksum": _checksum(sampler),
        "key_checksum": _checksum(key),
        "beta_checksum": "none" if beta is None else _checksum(beta),
        "initial_state": _structure(start),
        "initial_checksum": _checksum(start),
        "n_records": settings["n_records"],
        "thin": settings["thin"],
        "burn_in": settings["burn_in"],
        "remainder": settings["remainder"],
        "observe": _name(settings["observe"]),
        "stream": repr(settings["stream"]),
        "checkpoint_every": every,
    }


def _segments(settings, every: int):
    """``(phase, first index, length, steps done before)``: the run cut at checkpoint boundaries."""
    burn_in, thin, n_records, rest = (settings[k] for k in ("burn_in", "thin", "n_records", "remainder"))
    out, done = [], 0
    for start in range(0, burn_in, every):
        out.append(("burn_in", start, min(every, burn_in - start), done))
        done += out[-1][2]
    per = max(1, every // thin)
    for start in range(0, n_records, per):
        out.append(("records", start, min(per, n_records - start), done))
        done += out[-1][2] * thin
    if rest:
        out.append(("remainder", 0, rest, done))
    return out


def _check_directory(directory) -> str:
    if not isinstance(directory, (str, os.PathLike)):
        raise ValueError(f"checkpoint_dir must be a path (str or os.PathLike); got {type(directory).__name__}")
    path = os.path.abspath(os.fspath(directory))
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise ValueError(f"checkpoint_dir must be a writable directory; cannot create {path!r}: {err}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"checkpoint_dir must be a writable directory; {path!r} is not writable")
    return path


def _refuse_traced(*trees):
    if any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(trees)):
        raise ValueError(
            "checkpoint_dir needs concrete inputs: a checkpointed run is driven from Python between "
            "segments, so it cannot run inside jax.jit or jax.vmap. For many chains, run one sampler "
            "over a batch (e.g. parallel tempering, or vmap inside observe) and checkpoint that run."
        )


def _mismatch(saved: dict, now: dict, path: str) -> str:
    diff = [k for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    detail = "; ".join(f"{k}: saved {str(saved.get(k))[:80]!r}, now {str(now.get(k))[:80]!r}" for k in diff[:4])
    return (
        f"checkpoint_dir {path!r} holds checkpoints of a different run ({detail}). "
        "Use another directory, or delete this one to start afresh."
    )


def _leaves_like(template):
    return [jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None))
            for x in jax.tree.leaves(template)]


def run_checkpointed(key, sampler, spins, state, beta, settings, checkpoint_dir, checkpoint_every, progress=False):
    """The checkpointed path of :func:`jaxstat.mcmc.run` (see the module docstring)."""
    if checkpoint_dir is None:
        raise ValueError("checkpoint_every needs checkpoint_dir (the directory to write checkpoints to); got None")
    _refuse_traced(key, sampler, state, beta)
    total = settings["burn_in"] + settings["n_records"] * settings["thin"] + settings["remainder"]
    if checkpoint_every is None:
        checkpoint_every = max(settings["thin"], math.ceil(total / _DEFAULT_CHECKPOINTS))
    every = check_positive_int(checkpoint_every, "checkpoint_every", minimum=1)
    path = _check_directory(checkpoint_dir)
    import orbax.checkpoint as ocp  # loaded only for checkpointed runs: it is slow to import

    observe = settings["observe"]
    stream = settings["stream"]
    record = _loop.empty_record(sampler, state, beta, observe)
    if stream is None:
        out = jax.tree.map(lambda r: jnp.zeros((settings["n_records"],) + r.shape, r.dtype), record)
    else:
        out = jax.jit(stream.init)(record)
    fingerprint = _fingerprint(key, sampler, state, beta, settings, every)
    treedef = jax.tree.structure((state, out))

    manager = ocp.CheckpointManager(path, options=ocp.CheckpointManagerOptions(max_to_keep=2, create=True))
    done = 0
    latest = manager.latest_step()
    if latest is not None:
        meta = manager.restore(latest, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        if meta.get("fingerprint") != fingerprint:
            manager.close()
            raise ValueError(_mismatch(meta.get("fingerprint", {}), fingerprint, path))
        restored = manager.restore(latest, args=ocp.args.Composite(
            arrays=ocp.args.StandardRestore({"leaves": _leaves_like((state, out))})))
        # orbax restores onto a device: arrays that were not committed to any (the trace buffer,
        # a state built on the default device) must not become committed, or they would clash
        # with a sampler placed on a mesh.
        leaves = [x if getattr(t, "committed", True) else jnp.asarray(np.asarray(x))
                  for x, t in zip(restored["arrays"]["leaves"], jax.tree.leaves((state, out)))]
        state, out = jax.tree.unflatten(treedef, leaves)
        done = int(meta["done"])

    def save(steps_done):
        leaves = jax.tree.leaves((state, out))
        manager.save(steps_done, args=ocp.args.Composite(
            arrays=ocp.args.StandardSave({"leaves": leaves}),
            meta=ocp.args.JsonSave({"fingerprint": fingerprint, "done": steps_done, "total": total})))

    settings_static = dict(thin=settings["thin"], observe=observe, stream=stream)
    try:
        for phase, first, length, before in _segments(settings, every):
            if before < done:
                continue
            if phase == "records":
                state, out = _loop.recorded_segment(key, sampler, state, beta, out, jnp.int32(first),
                                                    length=length, **settings_static)
                steps = length * settings["thin"]
            else:
                state = _loop.unrecorded_segment(key, sampler, state, beta, jnp.int32(first),
                                                 phase=0 if phase == "burn_in" else 2, length=length)
                steps = length
            done = before + steps
            save(done)
            if progress:
                from jaxstat.mcmc.driver import _PROGRESS

                _PROGRESS.update(done, total)
        manager.wait_until_finished()
    except KeyboardInterrupt:
        manager.wait_until_finished()
        newest = manager.latest_step()
        where = f"sweep {newest} of {total}" if newest is not None else "none yet"
        print(f"jaxstat.mcmc.run interrupted. Newest checkpoint: {where}, in {path}. "
              "Call run again with the same arguments to resume from it.", file=sys.stderr)
        raise
    finally:
        manager.close()
    return state, out
