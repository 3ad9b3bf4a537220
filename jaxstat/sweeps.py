"""``sweep``: map a one-point function over a labelled parameter grid, in chunks, on every device.

A jaxstat experiment is written for one point (one β, one seed, one disorder
sample); :func:`sweep` runs it at every point of the outer product of named
axes, ``chunk`` points at a time, and hands back the results labelled by the
grid. The design choices, and why:

- **One compiled program per sweep.** The chunk's grid points are gathered
  *inside* the compiled function from the axes (stored once per device: their
  size is the sum over the axes, not the product) and a small array of
  indices, and the last chunk is padded with copies of the first point, so
  every chunk has the same shapes. The function is compiled once per (``fn``,
  shapes of the axes and of ``fixed``, chunk size, devices); ``fn`` is keyed
  by its structure (the library's ``Static`` wrapper), so a re-created but
  equal function (a ``lambda`` or closure made again from the same code and
  captured values) reuses the program.
- **Devices: ``shard_map`` over a 1-D mesh.** The points of a chunk are
  independent, so each device runs ``jax.vmap(fn)`` over its share and there
  is nothing to communicate: no partitioner guesswork, no collectives. Every
  point gets the same arguments whatever the device count, so results are the
  same on 1 or 8 devices (bit for bit in the tests).
- **Results on the host.** Each chunk's output is copied into preallocated
  NumPy arrays while the next chunk runs (JAX dispatches asynchronously), so
  device memory holds the axes plus at most two chunks, whatever the grid's
  size: that is the memory bound. The whole result lives in host memory.
- **Keyword points.** ``fn(**point, **fixed)`` takes each axis by its name,
  so the grid's order need not follow ``fn``'s parameters. Axes that should
  vary *together* (a β with its own key) are zipped by making them one axis:
  a pytree whose leaves share their leading length.

``sweep`` is a host-level driver (a Python loop over chunks): call it outside
``jax.jit``. Inside a compiled function, ``jax.lax.map(f, xs, batch_size=k)``
is the chunked map.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxstat._static import static
from jaxstat._validate import check_positive_int

__all__ = ["sweep", "SweepResult"]

_AXIS = "batch"  # the mesh axis the chunk's points are split along


class SweepResult(NamedTuple):
    """What :func:`sweep` returns: the values and the grid that labels them.

    Attributes:
      values: ``fn``'s output pytree, every leaf a NumPy array whose leading
        axes are the grid's axes in order, ``shape + leaf_shape``.
      axes: dict, axis name -> its coordinates as given (arrays, or the
        pytree of an axis such as a batch of keys), in the grid's order.
    """

    values: Any
    axes: dict

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape: the length of each axis, in order."""
        return tuple(_leading(axis) for axis in self.axes.values())

    def isel(self, **indices) -> SweepResult:
        """Select by position along named axes: an int drops the axis, a slice or int array keeps it.

        Example:
          >>> import jax.numpy as jnp, jaxstat as js
          >>> r = js.sweep(lambda a, b: a * b, {"a": jnp.arange(3.0), "b": jnp.arange(4.0)})
          >>> r.isel(a=2).values.tolist(), r.isel(b=slice(0, 2)).shape
          ([0.0, 2.0, 4.0, 6.0], (3, 2))
        """
        unknown = sorted(set(indices) - set(self.axes))
        if unknown:
            raise ValueError(f"isel got axes {unknown} that are not in the grid; its axes are {list(self.axes)}")
        values, axes = self.values, dict(self.axes)
        names = list(self.axes)
        for pos in reversed(range(len(names))):  # from the last axis, so dropping one keeps the others' positions
            name = names[pos]
            if name not in indices:
                continue
            index = indices[name]
            if isinstance(index, slice):
                index = np.arange(self.shape[pos])[index]
            values = jax.tree.map(lambda v, i=index, p=pos: np.take(v, i, axis=p), values)
            if np.ndim(index) == 0:
                del axes[name]
            else:
                axes[name] = jax.tree.map(lambda a, i=np.asarray(index): a[i], axes[name])
        return SweepResult(values, axes)

    def sel(self, **coords) -> SweepResult:
        """Select by coordinate value along 1-D axes (exact match after casting to the axis's dtype).

        A scalar drops the axis, a list or array of values keeps it.

        Example:
          >>> import jax.numpy as jnp, jaxstat as js
          >>> r = js.sweep(lambda a, b: a * b, {"a": jnp.arange(3.0), "b": jnp.array([0.5, 2.0])})
          >>> r.sel(b=2.0).values.tolist(), r.sel(a=[0.0, 2.0], b=0.5).values.tolist()
          ([0.0, 2.0, 4.0], [0.0, 1.0])
        """
        indices = {}
        for name, value in coords.items():
            if name not in self.axes:
                raise ValueError(f"sel got axis {name!r}, which is not in the grid; its axes are {list(self.axes)}")
            axis = self.axes[name]
            if not (hasattr(axis, "ndim") and axis.ndim == 1) or jax.dtypes.issubdtype(axis.dtype, jax.dtypes.prng_key):
                raise ValueError(f"sel needs a 1-D axis of numbers; axis {name!r} is not one (use isel)")
            axis = np.asarray(axis)
            wanted = np.asarray(value, dtype=axis.dtype)
            pos = [np.flatnonzero(axis == w) for w in wanted.reshape(-1)]
            missing = [w for w, p in zip(wanted.reshape(-1).tolist(), pos) if p.size == 0]
            if missing:
                raise ValueError(f"sel: {missing} not found on axis {name!r}; its values are {axis.tolist()}")
            found = np.array([p[0] for p in pos])
            indices[name] = int(found[0]) if wanted.ndim == 0 else found
        return self.isel(**indices)


def _leading(axis) -> int:
    return int(np.shape(jax.tree.leaves(axis)[0])[0])


def sweep(
    fn: Callable,
    grid: Mapping,
    *,
    fixed: Mapping | None = None,
    batch_size: int | None = None,
    devices=None,
    progress: bool = False,
) -> SweepResult:
    """Evaluate ``fn`` at every point of a parameter grid, in memory-bounded chunks, on every device.

    The grid is the outer product of its named axes: with axes of lengths
    ``n_1, ..., n_k`` the result holds ``fn(**point, **fixed)`` for all
    ``n_1 * ... * n_k`` points, where ``point[name]`` is element ``i`` of axis
    ``name`` (for a pytree axis, element ``i`` of every leaf). The points are
    flattened in row-major order and evaluated ``batch_size`` at a time, each
    chunk one call of the compiled ``jax.vmap(fn)``, split across
    ``devices``; the results are copied to the host while the next chunk
    runs and reshaped to the grid. Each point's result is what ``jax.vmap``
    of ``fn`` gives for it, the same for any ``batch_size`` and device count.

    Args:
      fn: a function of one grid point, ``fn(**point, **fixed) -> pytree of
        arrays``, written for one point as every jaxstat function is.
      grid: an ordered mapping, axis name (a str) -> its values: a 1-D array
        (a list or ``range`` of numbers is converted), or a pytree of arrays
        with a common leading length (``jax.random.split(key, n)``, a stacked
        model pytree of ``n`` disorder samples, or several quantities that
        vary together).
      fixed: optional mapping, name -> pytree of arrays passed unmapped to
        every point (a sampler, a data set). They are traced, so new arrays
        of the same shapes reuse the compiled program; Python numbers that
        must stay static (sizes, ``n_sweeps``) belong in ``fn``'s closure.
      batch_size: points per chunk, an int >= 1: each device evaluates
        ``batch_size // n_devices`` points (at least one) at a time, so a
        chunk holds a multiple of the device count. ``None`` (default): all
        points in one chunk, the same as a nested ``jax.vmap``. Choose it
        from ``fn``'s memory per point (see the sweeps how-to).
      devices: the devices to split each chunk across: a sequence of
        ``jax.Device``, or an int ``n`` for the first ``n`` local devices;
        default all local devices, ``jax.local_devices()`` (results come
        back to this process's host, so only its own devices take part).
      progress: show a tqdm bar counting points as chunks finish.

    Returns:
      A :class:`SweepResult`: ``values`` is ``fn``'s output pytree with
      NumPy leaves shaped ``grid shape + leaf shape``; ``axes`` the grid's
      coordinates. ``fn`` must return numeric arrays (not PRNG keys).

    Raises ``ValueError`` before anything is compiled for a grid that is not
    a non-empty mapping of str names, an axis of length zero or without a
    leading axis, a pytree axis whose leaves disagree on their length, a
    name in both ``grid`` and ``fixed``, ``batch_size`` < 1, an ``fn`` that
    is not callable, or a call inside ``jax.jit``/``vmap``.

    Example:
      A free spin in a field ``h`` at inverse temperature β has
      ``<s> = tanh(βh)``:

      >>> import jax.numpy as jnp, jaxstat as js
      >>> r = js.sweep(lambda beta, h: jnp.tanh(beta * h),
      ...              {"beta": jnp.array([0.5, 1.0, 2.0]), "h": jnp.array([-1.0, 0.0, 1.0, 2.0])},
      ...              batch_size=5)                     # 12 points: chunks of 5, 5 and 2 (+3 padding)
      >>> r.values.shape, list(r.axes)
      ((3, 4), ['beta', 'h'])
      >>> round(float(r.sel(beta=2.0, h=1.0).values), 4)
      0.964
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function of one grid point, fn(**point); got {type(fn).__name__}")
    axes, lengths = _check_grid(grid)
    fixed = _check_fixed(fixed, axes)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    devices = _check_devices(devices)

    n_points, n_devices = math.prod(lengths), len(devices)
    per_device = -(-n_points // n_devices)
    if batch_size is not None:
        per_device = min(per_device, max(1, batch_size // n_devices))
    chunk = per_device * n_devices
    n_chunks = -(-n_points // chunk)

    mesh = Mesh(np.asarray(devices), (_AXIS,))
    replicated = NamedSharding(mesh, PartitionSpec())
    batched = NamedSharding(mesh, PartitionSpec(_AXIS))
    # Axes and fixed arguments go to the devices once, not once per chunk.
    axes_on_device = jax.device_put(axes, replicated)
    fixed_on_device = jax.device_put(fixed, replicated)
    fn = static(fn)

    host: dict = {}  # the flat host arrays and the output's tree structure, from the first chunk
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_points, desc="jaxstat.sweep", unit="point")

    def collect(k, result):
        leaves, host["treedef"] = jax.tree.flatten(result)
        if "leaves" not in host:
            if any(jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key) for leaf in leaves):
                raise ValueError("fn must return numeric arrays; it returned a PRNG key array "
                                 "(return jax.random.key_data(key) instead)")
            host["leaves"] = [np.empty((n_points,) + leaf.shape[1:], leaf.dtype) for leaf in leaves]
        start, stop = k * chunk, min((k + 1) * chunk, n_points)
        for dest, leaf in zip(host["leaves"], jax.device_get(leaves)):
            dest[start:stop] = leaf[: stop - start]
        if bar is not None:
            bar.update(stop - start)

    try:
        pending = None
        for k in range(n_chunks):
            flat = np.arange(k * chunk, (k + 1) * chunk)
            flat[flat >= n_points] = 0  # pad with the first point: a valid input, and one program for all chunks
            index = dict(zip(axes, (i.astype(np.int32) for i in np.unravel_index(flat, lengths))))
            result = _chunk(axes_on_device, fixed_on_device, jax.device_put(index, batched), fn=fn, mesh=mesh)
            if pending is not None:  # copy the previous chunk out while this one runs
                collect(*pending)
            pending = (k, result)
        collect(*pending)
    finally:
        if bar is not None:
            bar.close()

    values = jax.tree.unflatten(host["treedef"], [a.reshape(tuple(lengths) + a.shape[1:]) for a in host["leaves"]])
    return SweepResult(values, axes)


@functools.partial(jax.jit, static_argnames=("fn", "mesh"))
def _chunk(axes, fixed, index, *, fn, mesh):
    def local(axes, fixed, index):
        point = {name: jax.tree.map(lambda a, i=index[name]: a[i], axis) for name, axis in axes.items()}
        return jax.vmap(lambda p: fn(**p, **fixed))(point)

    # check_vma=False: fn is arbitrary user code (scans whose carries start replicated, callbacks),
    # and there are no collectives here for the check to protect.
    return jax.shard_map(
        local, mesh=mesh, in_specs=(PartitionSpec(), PartitionSpec(), PartitionSpec(_AXIS)),
        out_specs=PartitionSpec(_AXIS), check_vma=False,
    )(axes, fixed, index)


def _check_grid(grid) -> tuple[dict, list[int]]:
    if not isinstance(grid, Mapping):
        raise ValueError(f"grid must be a dict of axis name -> values, e.g. {{'beta': betas}}; got {type(grid).__name__}")
    if not grid:
        raise ValueError("grid must have at least one axis; got an empty mapping")
    axes, lengths = {}, []
    for name, axis in grid.items():
        if not isinstance(name, str):
            raise ValueError(f"grid's axis names must be str (fn is called as fn(**point)); got {name!r}")
        axis = _as_axis(name, axis)
        leaves = jax.tree.leaves(axis)
        if not leaves:
            raise ValueError(f"grid axis {name!r} holds no arrays; got {axis!r:.80}")
        shapes = [np.shape(leaf) for leaf in leaves]
        if any(len(s) == 0 for s in shapes):
            raise ValueError(f"grid axis {name!r} must have a leading axis to sweep along; got a scalar "
                             f"(shapes {shapes})")
        if len({s[0] for s in shapes}) > 1:
            raise ValueError(f"grid axis {name!r}: its leaves must share their leading length (one per point); "
                             f"got shapes {shapes}")
        if shapes[0][0] == 0:
            raise ValueError(f"grid axis {name!r} has length 0: a grid with an empty axis has no points "
                             f"(shape {shapes[0]})")
        axes[name], lengths = axis, lengths + [shapes[0][0]]
    return axes, lengths


def _as_axis(name, axis):
    if isinstance(axis, range) or (isinstance(axis, (list, tuple)) and not _is_namedtuple(axis)
                                   and all(isinstance(x, (int, float, complex, bool, np.generic)) for x in axis)):
        axis = np.asarray(axis)  # a list of numbers is one 1-D axis, not a pytree of scalars

    def leaf(x):
        if isinstance(x, jax.core.Tracer):
            raise ValueError(f"grid axis {name!r} is traced: sweep is a host-level loop over chunks and cannot "
                             "run inside jax.jit or jax.vmap (use jax.lax.map(f, xs, batch_size=k) there)")
        if isinstance(x, jax.Array):
            return x
        arr = np.asarray(x)
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise ValueError(f"grid axis {name!r} must hold arrays of numbers (or PRNG keys); got dtype {arr.dtype}")
        return arr

    return jax.tree.map(leaf, axis)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _check_fixed(fixed, axes) -> dict:
    if fixed is None:
        return {}
    if not isinstance(fixed, Mapping) or not all(isinstance(k, str) for k in fixed):
        raise ValueError(f"fixed must be a dict of argument name -> arrays; got {fixed!r:.80}")
    both = sorted(set(fixed) & set(axes))
    if both:
        raise ValueError(f"names {both} are both grid axes and fixed arguments; each name must be one or the other")
    for name, value in fixed.items():
        for x in jax.tree.leaves(value):
            if isinstance(x, jax.core.Tracer):
                raise ValueError(f"fixed argument {name!r} is traced: sweep cannot run inside jax.jit or jax.vmap")
            if not isinstance(x, (jax.Array, np.ndarray, np.generic, int, float, complex, bool)):
                raise ValueError(f"fixed argument {name!r} must be a pytree of arrays (it is passed as traced data; "
                                 f"static settings belong in fn's closure); got a leaf of type {type(x).__name__}")
    return dict(fixed)


def _check_devices(devices) -> list:
    if devices is None:
        return jax.local_devices()
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, (bool, np.bool_)):
        local = jax.local_devices()  # as jaxstat.parallel.batch_mesh(n): the first n devices of this process
        if not 1 <= devices <= len(local):
            raise ValueError(f"devices must be between 1 and the {len(local)} local device(s); got {devices}")
        return local[: int(devices)]
    devices = list(devices) if not isinstance(devices, jax.Device) else [devices]
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(f"devices must be a non-empty sequence of jax.Device (e.g. jax.local_devices()[:2]); "
                         f"got {devices!r:.80}")
    if len(set(devices)) != len(devices):
        raise ValueError(f"devices must be distinct; got {devices}")
    return devices
