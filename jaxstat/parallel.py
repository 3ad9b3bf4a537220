r"""Batches of independent chains on many devices, and on many hosts.

Independent chains, replicas, temperatures and disorder samples are a batch
axis (``jax.vmap``). To spread a batch over devices, place it on a 1-D
:class:`jax.sharding.Mesh` with a ``NamedSharding`` that splits the batch
axis: ``jax.jit`` then runs each device's rows on that device, and the
compiled program needs no communication except where you reduce over the
batch. The helpers here build that mesh (:func:`batch_mesh`), place a
pytree on it (:func:`shard_batch`, :func:`replicate`, :func:`chain_keys`),
and build global arrays from per-process pieces on many hosts
(:func:`shard_local_batch`, :func:`local_rows`, :func:`to_host`).

**Device-count invariance.** A chain's random numbers come from its own key
(keyed per chain and per site, never per device), so which device runs a
chain cannot change its draws. What can change is floating-point rounding:
XLA picks a kernel for a dot product or a reduction by the shape it sees on
*one* device, and a vmapped batch of 8 chains on one device is a matrix
product where the same batch on 8 devices is 8 matrix-vector products,
summed in a different order. Elementwise code (the lattice samplers) is
exact either way; a dense model's fields :math:`h = J s` are not. Measured
on CPU (JAX 0.10): a ``jit(vmap(run))`` of ``checkerboard`` chains gives
bit-identical spins and traces on 1, 2, 4 and 8 devices, while
Sherrington-Kirkpatrick chains and parallel tempering on them differ in the
last bits of their energies as soon as the per-device batch changes.
:func:`map_batch` removes the cause: each device runs the function over its
rows in chunks of a fixed ``chunk_size`` (a loop over a ``vmap``), so
every device compiles the same loop body whatever the number of devices, and
the results are bit-identical for every model on any mesh that divides the
batch into whole chunks (tested on 1, 2, 4 and 8 devices).

Multi-host: after ``jax.distributed.initialize()``, ``jax.devices()`` lists
the devices of every process and :func:`batch_mesh` spans them all. Each
process then supplies the rows of its own devices
(:func:`shard_local_batch`, with :func:`local_rows` to know which), every
process runs the same jitted program, and :func:`to_host` gathers a result
on every process so that one of them can write it. See the how-to
``docs/howto/multihost.md`` and ``examples/multihost.py``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from jaxstat._validate import check_key, check_positive_int

__all__ = ["batch_mesh", "shard_batch", "replicate", "chain_keys", "map_batch", "shard_local_batch", "local_rows",
           "to_host"]


def batch_mesh(devices=None, axis_name: str = "batch") -> Mesh:
    """A 1-D device mesh whose one axis, ``axis_name``, carries a batch.

    Args:
      devices: ``None`` for every device of every process (``jax.devices()``,
        the global mesh of a multi-host run); an int ``n`` for the first
        ``n`` devices of this process (``jax.local_devices()[:n]``); or a
        sequence of devices.
      axis_name: the name of the mesh axis (what a ``PartitionSpec`` names).

    Returns:
      a ``jax.sharding.Mesh`` of shape ``(len(devices),)`` with an ``Auto``
      axis (XLA's partitioner propagates the sharding through your code).

    Example:
      >>> import jaxstat as js
      >>> mesh = js.parallel.batch_mesh(1)
      >>> dict(mesh.shape), mesh.axis_names
      ({'batch': 1}, ('batch',))
    """
    if not isinstance(axis_name, str) or not axis_name:
        raise ValueError(f"axis_name must be a non-empty string; got {axis_name!r}")
    if devices is None:
        devices = jax.devices()
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, (bool, np.bool_)):
        local = jax.local_devices()
        if not 1 <= devices <= len(local):
            raise ValueError(
                f"devices must be between 1 and the {len(local)} local device(s) of this process; got {devices}"
            )
        devices = local[: int(devices)]
    else:
        try:
            devices = list(devices)
        except TypeError:
            raise ValueError(
                f"devices must be None, a number of local devices or a sequence of devices; got {devices!r:.60}"
            ) from None
        if not devices or not all(isinstance(d, jax.Device) for d in devices):
            raise ValueError(f"devices must be a non-empty sequence of jax devices; got {devices!r:.80}")
        if len(set(devices)) != len(devices):
            raise ValueError(f"devices must be distinct; got {devices!r:.80}")
    return Mesh(np.asarray(devices, dtype=object), (axis_name,), axis_types=(AxisType.Auto,))


def _mesh(mesh) -> Mesh:
    if mesh is None:
        return batch_mesh()
    if not isinstance(mesh, Mesh):
        raise ValueError(
            f"mesh must be a jax.sharding.Mesh (e.g. jaxstat.parallel.batch_mesh()) or None; got {type(mesh).__name__}"
        )
    return mesh


def _spec(mesh: Mesh, axis: int) -> PartitionSpec:
    """Split array axis ``axis`` over every axis of ``mesh`` (row-major over a multi-axis mesh)."""
    names = mesh.axis_names[0] if len(mesh.axis_names) == 1 else tuple(mesh.axis_names)
    return PartitionSpec(*((None,) * axis + (names,)))


def _describe(mesh: Mesh) -> str:
    return f"{mesh.size} device(s) on mesh axes {dict(mesh.shape)}"


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(getattr(x, "dtype", None), jax.dtypes.prng_key)


def _put(x, sharding: NamedSharding):
    """``jax.device_put``, also onto a sharding that spans other processes.

    ``device_put`` refuses a process-local jax array there; the value (the
    same on every process, by contract) is then cut into this process's
    shards on the host. Typed keys travel as their raw key data.
    """
    if sharding.is_fully_addressable or not (isinstance(x, jax.Array) and x.is_fully_addressable):
        return jax.device_put(x, sharding)
    if _is_key(x):
        data = _put(jax.random.key_data(x), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _check_axis(axis) -> int:
    return check_positive_int(axis, "axis", minimum=0)


def _batch_leaves(x, name: str, axis: int, mesh: Mesh, per_process: bool = False):
    """Every leaf of ``x`` with its path, checked to have a batch axis that the mesh divides."""
    leaves = jax.tree_util.tree_leaves_with_path(x)
    if not leaves:
        raise ValueError(f"{name} must hold at least one array; got {x!r:.60}")
    devices = len(mesh.local_devices) if per_process else mesh.size
    if not devices:
        raise ValueError(f"this process (index {jax.process_index()}) has no device in the mesh ({_describe(mesh)})")
    where = f"the {devices} device(s) of this process in the mesh" if per_process else _describe(mesh)
    for path, leaf in leaves:
        shape = np.shape(leaf)
        label = f"{name}{jax.tree_util.keystr(path)}"
        if len(shape) <= axis:
            raise ValueError(f"{label} must have a batch axis {axis}; got shape {tuple(shape)}")
        if shape[axis] % devices:
            raise ValueError(
                f"the batch of {label} ({shape[axis]} along axis {axis}) must be divisible by {where}; "
                f"pad the batch to a multiple of {devices} or use a mesh whose size divides {shape[axis]}"
            )
    return leaves


def shard_batch(x, mesh: Mesh | None = None, axis: int = 0):
    """Place every leaf of the pytree ``x`` with its axis ``axis`` split over ``mesh``.

    Each device gets a contiguous block of ``batch / mesh.size`` rows
    (``NamedSharding(mesh, PartitionSpec(..., "batch"))``); a ``jax.jit`` of a
    ``jax.vmap`` over that axis then runs each block on its device. In a
    multi-host run ``x`` must be the same on every process (a seed-derived
    batch); for data that differs by process use :func:`shard_local_batch`.

    Args:
      x: a pytree of arrays (typed keys included), each with the batch on
        ``axis``.
      mesh: a mesh from :func:`batch_mesh` (default: all devices). On a mesh
        of several axes the batch is split over all of them.
      axis: the batch axis of every leaf.

    Raises:
      ValueError: naming the leaf, its batch size and the mesh size, when
        the mesh does not divide a leaf's batch.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> x = js.parallel.shard_batch({"spins": jnp.ones((8, 4, 4))})
      >>> x["spins"].sharding.spec == jax.sharding.PartitionSpec("batch")
      True
    """
    mesh, axis = _mesh(mesh), _check_axis(axis)
    leaves = _batch_leaves(x, "x", axis, mesh)
    sharding = NamedSharding(mesh, _spec(mesh, axis))
    placed = [_put(leaf, sharding) for _, leaf in leaves]
    return jax.tree.unflatten(jax.tree.structure(x), placed)


def replicate(x, mesh: Mesh | None = None):
    """Place every leaf of the pytree ``x`` whole on every device of ``mesh``.

    For what all chains share (couplings of one disorder sample, a ladder of
    betas, a sampler) when you pass it to a jitted function as an argument;
    arrays closed over by the function are replicated by ``jit`` anyway.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> betas = js.parallel.replicate(jnp.linspace(0.2, 1.0, 5))
      >>> betas.sharding.is_fully_replicated
      True
    """
    sharding = NamedSharding(_mesh(mesh), PartitionSpec())
    return jax.tree.map(lambda leaf: _put(leaf, sharding), x)


def chain_keys(key, n_chains: int, mesh: Mesh | None = None):
    """``jax.random.split(key, n_chains)``, sharded over ``mesh``: one key per chain.

    Chain ``i`` gets the same key on any number of devices, so its draws do
    not depend on where it runs.

    Example:
      >>> import jax, jaxstat as js
      >>> keys = js.parallel.chain_keys(jax.random.key(0), 8)
      >>> keys.shape, bool((jax.random.key_data(keys) == jax.random.key_data(jax.random.split(jax.random.key(0), 8))).all())
      ((8,), True)
    """
    key = check_key(key)
    if np.shape(key) != (() if _is_key(key) else (2,)):
        raise ValueError(f"key must be one PRNG key, not a batch of keys; got shape {np.shape(key)}")
    n_chains = check_positive_int(n_chains, "n_chains")
    mesh = _mesh(mesh)
    if n_chains % mesh.size:
        raise ValueError(
            f"n_chains ({n_chains}) must be divisible by the mesh size ({_describe(mesh)}); "
            f"use a multiple of {mesh.size} chains or a mesh whose size divides {n_chains}"
        )
    return shard_batch(jax.random.split(key, n_chains), mesh)


@functools.partial(jax.jit, static_argnames=("f", "mesh", "chunk_size"))
def _map_compiled(n_chunks, args, *, f, mesh, chunk_size):
    spec = _spec(mesh, 0)

    def local(n_chunks, args):
        rows = jax.tree.leaves(args)[0].shape[0]
        vf = jax.vmap(lambda *a: f(*a))
        chunk = jax.tree.map(lambda a: jax.ShapeDtypeStruct((chunk_size,) + a.shape[1:], a.dtype), args)
        out = jax.tree.map(lambda y: jnp.zeros((rows,) + y.shape[1:], y.dtype), jax.eval_shape(vf, *chunk))

        def body(i, out):
            start = i * chunk_size
            rows_i = jax.tree.map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, chunk_size), args)
            return jax.tree.map(lambda o, y: jax.lax.dynamic_update_slice_in_dim(o, y, start, 0), out, vf(*rows_i))

        # The trip count is a runtime value: XLA cannot unroll, inline or
        # specialize the loop for one device count (a one-trip loop is
        # otherwise inlined and fused with its neighbours, which changed
        # last bits of parallel-tempering energies on 8 devices), so every
        # device count runs the same compiled loop body.
        return jax.lax.fori_loop(0, n_chunks, body, out)

    # check_vma=False: a user's scan may carry unbatched values (zeros made
    # inside the loop) alongside per-device ones, which the varying-axis
    # checker would refuse although every device runs independently.
    mapped = jax.shard_map(local, mesh=mesh, in_specs=(PartitionSpec(), spec), out_specs=spec, check_vma=False)
    return mapped(n_chunks, args)


def map_batch(f: Callable, *args, mesh: Mesh | None = None, chunk_size: int | None = None) -> Any:
    """``jax.vmap(f)(*args)`` over the leading axis, sharded over ``mesh``, in chunks.

    Every leaf of ``args`` has the batch (length ``B``) on axis 0. Each of
    the mesh's ``D`` devices runs ``f`` over its ``B / D`` rows,
    ``chunk_size`` rows at a time (a loop over a ``vmap``), without
    communication. Memory is bounded by the chunk, and because a device's
    program depends only on ``chunk_size``, not on ``D``, the results are
    bit-identical on any mesh whose size divides ``B / chunk_size``: for
    dense models too, whose vmapped matrix products XLA rounds by shape.

    Args:
      f: a function of one row of each argument (one chain, one temperature,
        one disorder sample), returning a pytree of arrays. Compilation is
        cached on ``f`` itself (as ``jax.jit`` does), the mesh,
        ``chunk_size`` and the arguments' shapes: reuse one function object,
        as a new ``lambda`` per call compiles anew.
      *args: pytrees of arrays with a common leading batch axis.
      mesh: a mesh from :func:`batch_mesh` (default: all devices).
      chunk_size: rows per device per step; default ``B / D`` (one step).
        Fix it (e.g. to 1, or to ``B / 8`` for up to 8 devices) when results
        must not depend on the number of devices.

    Returns:
      ``f``'s outputs stacked along a leading axis of length ``B``, sharded
      over ``mesh``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> def chain(key, beta):  # one chain's "trace": 3 draws scaled by beta
      ...     return beta * jax.random.normal(key, (3,))
      >>> keys, betas = jax.random.split(jax.random.key(1), 4), jnp.linspace(0.5, 2.0, 4)
      >>> x = js.parallel.map_batch(chain, keys, betas)  # all rows in one chunk
      >>> x.shape, bool((x == jax.vmap(chain)(keys, betas)).all())
      ((4, 3), True)
    """
    if not callable(f):
        raise ValueError(f"f must be a function of one row of each argument; got {type(f).__name__}")
    if not args:
        raise ValueError("map_batch needs at least one batched argument after f")
    mesh = _mesh(mesh)
    leaves = _batch_leaves(args, "args", 0, mesh)
    sizes = {np.shape(leaf)[0] for _, leaf in leaves}
    if len(sizes) != 1:
        found = {f"args{jax.tree_util.keystr(p)}": np.shape(leaf)[0] for p, leaf in leaves}
        raise ValueError(f"every leaf of args must have the same batch size on axis 0; got {found}")
    rows = sizes.pop() // mesh.size
    chunk_size = rows if chunk_size is None else check_positive_int(chunk_size, "chunk_size")
    if rows % chunk_size:
        raise ValueError(
            f"chunk_size ({chunk_size}) must divide the rows per device ({rows} = a batch of "
            f"{rows * mesh.size} over {mesh.size} device(s))"
        )
    n_chunks = jnp.asarray(rows // chunk_size, jnp.int32)
    return _map_compiled(n_chunks, shard_batch(args, mesh), f=f, mesh=mesh, chunk_size=chunk_size)


def local_rows(batch_size: int, mesh: Mesh | None = None) -> slice:
    """The rows of a global batch of ``batch_size`` that this process's devices hold.

    A process builds only these rows of process-local data (its chains'
    seeds, its disorder samples read from disk) and hands them to
    :func:`shard_local_batch`. In a single process this is every row.

    Example:
      >>> import jaxstat as js
      >>> js.parallel.local_rows(8, js.parallel.batch_mesh(1))
      slice(0, 8, None)
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    mesh = _mesh(mesh)
    if batch_size % mesh.size:
        raise ValueError(f"batch_size ({batch_size}) must be divisible by the mesh size ({_describe(mesh)})")
    index = NamedSharding(mesh, _spec(mesh, 0)).addressable_devices_indices_map((batch_size,))
    blocks = sorted({(s[0].start or 0, batch_size if s[0].stop is None else s[0].stop) for s in index.values()})
    start, stop = blocks[0][0], blocks[-1][1]
    if sum(b - a for a, b in blocks) != stop - start:
        raise ValueError(
            "this process's devices hold non-contiguous rows of the batch in this mesh; order the mesh's "
            "devices by process (batch_mesh() does) so each process holds one block"
        )
    return slice(start, stop)


def shard_local_batch(x, mesh: Mesh | None = None, axis: int = 0):
    """A global array from each process's own rows: ``jax.make_array_from_process_local_data``.

    Every process passes the rows :func:`local_rows` names (the pieces
    differ by process); the result is one global array whose batch axis is
    the concatenation of the processes' pieces in process order, split over
    ``mesh``. In a single process it is :func:`shard_batch`.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> mesh = js.parallel.batch_mesh()
      >>> rows = js.parallel.local_rows(8, mesh)
      >>> x = js.parallel.shard_local_batch(jnp.arange(8)[rows], mesh)
      >>> x.shape
      (8,)
    """
    mesh, axis = _mesh(mesh), _check_axis(axis)
    leaves = _batch_leaves(x, "x", axis, mesh, per_process=True)
    sharding = NamedSharding(mesh, _spec(mesh, axis))

    def make(leaf):
        if _is_key(leaf):
            data = make(jax.random.key_data(leaf))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        return jax.make_array_from_process_local_data(sharding, np.asarray(leaf))

    return jax.tree.unflatten(jax.tree.structure(x), [make(leaf) for _, leaf in leaves])


def to_host(x):
    """Every leaf of ``x`` as a NumPy array holding the whole global value, on every process.

    In a multi-host run this is a collective (every process must call it,
    in the same order); only then may one process write the result. Typed
    keys come back as their raw key data.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> js.parallel.to_host(js.parallel.shard_batch(jnp.arange(4.0)))
      array([0., 1., 2., 3.], dtype=float32)
    """

    def get(leaf):
        if _is_key(leaf):
            leaf = jax.random.key_data(leaf)
        if not isinstance(leaf, jax.Array) or leaf.is_fully_addressable:
            return np.asarray(leaf)
        if leaf.is_fully_replicated:  # every process already holds the whole value
            return np.asarray(leaf.addressable_data(0))
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))

    return jax.tree.map(get, x)
