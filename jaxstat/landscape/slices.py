"""1-D and 2-D slices of a loss landscape, interpolation and mode connectivity.

``line`` evaluates ``L(θ + α d)`` on a grid of ``α``, ``plane`` evaluates
``L(θ + α d1 + β d2)`` on a grid of ``(α, β)``. The grid points are evaluated by
``jax.vmap`` in chunks of ``chunk_size`` points, one chunk after another
(``lax.map``), so peak memory is that of ``chunk_size`` simultaneous loss
evaluations per worker whatever the grid size; ``chunk_size=None`` vmaps the
whole grid at once. On CPU the grid is split into one block per core
(``workers``), each block evaluated by the same compiled program from its
own host thread (``jaxstat.landscape._grid`` says why): XLA:CPU's splitting
of every small operation across cores was the bound. With one point per
chunk, the default, the 51x51 plane of the 64-128-128-10 MLP on the 1,797
digits ran at 0.74-0.75 of the machine's float32 matmul rate on 2 cores
(``benchmarks/landscape.py``), against 0.49 as one program with the former
default of 4 points per chunk (0.45-0.57 over chunk sizes 1-64); larger
chunks were slower with threads too (0.71 at 2, 0.69 at 4, 0.41 at 64).
The values do not depend on ``workers``. Each function compiles once per
loss and shapes; later calls with new directions or grids of the same size
reuse the program.

``interpolate`` is the line through two solutions, ``(1 - α) θ_a + α θ_b``
(Goodfellow, Vinyals and Saxe 2015). ``bezier_curve`` trains the control point
``c`` of the quadratic Bézier curve

    φ(t) = (1 - t)² θ_a + 2 t (1 - t) c + t² θ_b,      t ∈ [0, 1],

to minimise ``E_{t ~ U(0,1)} L(φ(t))`` (Garipov et al. 2018, "Loss surfaces,
mode connectivity, and fast ensembling of DNNs"); ``curve_loss`` then compares
the loss along the curve with the loss along the straight segment.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxstat._validate import as_float_array, check_finite, check_key, check_positive_int
from jaxstat.landscape._checks import check_like, check_loss, check_params
from jaxstat.landscape._compile import StaticFn, jit_loss
from jaxstat.landscape._grid import evaluate, run_in_blocks

__all__ = ["line", "plane", "interpolate", "bezier_curve", "BezierCurve", "curve_loss", "CurveLoss", "bezier_point"]


def _check_grid(values, name):
    arr = as_float_array(values, name)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of coordinates; got shape {arr.shape}")
    return check_finite(arr, name)


def _check_chunk(chunk_size):
    return None if chunk_size is None else check_positive_int(chunk_size, "chunk_size")


def _check_workers(workers):
    return None if workers is None else check_positive_int(workers, "workers")


def _shift(params, coeffs, dirs):
    # θ + Σ_k c_k d_k, computed in each parameter's own dtype.
    def leaf(p, *ds):
        out = p
        for c, d in zip(coeffs, ds):
            out = out + c.astype(p.dtype) * d
        return out

    return jax.tree.map(leaf, params, *dirs)


@functools.partial(jax.jit, static_argnames=("loss", "chunk_size"))
def _slice_run(loss, p, dirs, pts, chunk_size):
    # loss(p + Σ_k pts[i, k] dirs[k]) at each row of pts. Module-level and keyed on the
    # loss: a second slice of the same loss (new directions, same shapes) reuses the program.
    return evaluate(lambda c: loss(_shift(p, tuple(c[k] for k in range(len(dirs))), dirs)), pts, chunk_size)


def line(loss, params, direction, xs, chunk_size=1, workers=None):
    """The loss along a line: ``out[i] = loss(params + xs[i] * direction)``.

    Points are evaluated as in :func:`plane`: ``chunk_size`` at a time per
    worker, split over ``workers`` host threads on CPU.

    Args:
      loss: ``loss(params) -> scalar``, finite at ``params``.
      params: a pytree of float arrays (the centre).
      direction: a pytree shaped like ``params`` (e.g. ``random_direction``).
      xs: 1-D array of step sizes.
      chunk_size: how many points to vmap per chunk (default 1), or None for every point at once.
      workers: host threads on CPU, each evaluating a block of the points (default None: one per core).

    Returns:
      Array of shape ``(len(xs),)`` in the loss's dtype.

    >>> import jax.numpy as jnp
    >>> loss = lambda p: 0.5 * jnp.sum(p["x"] ** 2)
    >>> line(loss, {"x": jnp.ones(2)}, {"x": jnp.ones(2)}, jnp.array([-1.0, 0.0, 1.0])).tolist()
    [0.0, 1.0, 4.0]
    """
    check_params(params)
    check_loss(jit_loss(loss), params)
    direction = check_like(direction, params, "direction")
    xs = _check_grid(xs, "xs")
    chunk_size = _check_chunk(chunk_size)
    workers = _check_workers(workers)
    return run_in_blocks(_slice_run, StaticFn(loss), (params, (direction,)), xs[:, None], chunk_size, workers)


def plane(loss, params, d1, d2, xs, ys, chunk_size=1, workers=None):
    """The loss on a plane: ``out[i, j] = loss(params + xs[i] * d1 + ys[j] * d2)``.

    The ``len(xs) * len(ys)`` points are vmapped ``chunk_size`` at a time
    (all at once when None), one chunk after another, so memory is bounded
    by one chunk per worker. On CPU, outside a caller's ``jit``/``vmap``/
    ``grad``, the points are cut into ``workers`` contiguous blocks that run
    the same compiled program concurrently, one host thread each; the values
    do not depend on ``workers``. One point per chunk and one worker per core
    (the defaults) were the fastest measured for a small MLP; for a large
    model, where one point's forward pass already fills the cores, larger
    chunks or ``workers=1`` may do as well.

    Args:
      loss: ``loss(params) -> scalar``, finite at ``params``.
      params: a pytree of float arrays (the centre).
      d1: a pytree shaped like ``params``.
      d2: a pytree shaped like ``params``.
      xs: 1-D coordinate grid along ``d1``.
      ys: 1-D coordinate grid along ``d2``.
      chunk_size: a positive int, points per vmapped chunk (default 1), or None for all at once.
      workers: a positive int, host threads on CPU (default None: one per core available to the process).

    Returns:
      Array of shape ``(len(xs), len(ys))``.

    >>> import jax.numpy as jnp
    >>> loss = lambda p: jnp.sum(p["x"] ** 2)
    >>> e1, e2 = {"x": jnp.array([1.0, 0.0])}, {"x": jnp.array([0.0, 1.0])}
    >>> plane(loss, {"x": jnp.zeros(2)}, e1, e2, jnp.array([0.0, 1.0]), jnp.array([0.0, 2.0, 3.0])).tolist()
    [[0.0, 4.0, 9.0], [1.0, 5.0, 10.0]]
    """
    check_params(params)
    check_loss(jit_loss(loss), params)
    d1 = check_like(d1, params, "d1")
    d2 = check_like(d2, params, "d2")
    xs = _check_grid(xs, "xs")
    ys = _check_grid(ys, "ys")
    chunk_size = _check_chunk(chunk_size)
    workers = _check_workers(workers)
    ga, gb = jnp.meshgrid(xs, ys, indexing="ij")
    pts = jnp.stack([ga.ravel(), gb.ravel()], axis=1)
    vals = run_in_blocks(_slice_run, StaticFn(loss), (params, (d1, d2)), pts, chunk_size, workers)
    return vals.reshape(xs.shape[0], ys.shape[0])


def interpolate(loss, params_a, params_b, xs, chunk_size=1, workers=None):
    """The loss on the line through two solutions: ``loss((1 - α) θ_a + α θ_b)`` for each α in ``xs``.

    ``xs = 0`` and ``1`` give ``loss(params_a)`` and ``loss(params_b)``;
    values outside [0, 1] extrapolate. ``chunk_size`` and ``workers`` are
    those of :func:`line`.

    >>> import jax.numpy as jnp
    >>> loss = lambda p: jnp.sum((p ** 2 - 1) ** 2)
    >>> interpolate(loss, jnp.array([-1.0]), jnp.array([1.0]), jnp.array([0.0, 0.5, 1.0])).tolist()
    [0.0, 1.0, 0.0]
    """
    check_params(params_b, "params_b")
    params_b = check_like(params_b, params_a, "params_b", "params_a")
    check_params(params_a, "params_a")
    check_loss(loss, params_b)
    diff = jax.tree.map(lambda b, a: b - a, params_b, params_a)
    return line(loss, params_a, diff, xs, chunk_size, workers)


def bezier_point(params_a, params_b, control, t):
    """``φ(t) = (1 - t)² θ_a + 2 t (1 - t) c + t² θ_b`` leafwise, for a scalar ``t``.

    ``params_b`` and ``control`` must be shaped like ``params_a``; ``t`` may
    be traced (``jax.vmap`` over it draws the curve).

    >>> import jax.numpy as jnp
    >>> bezier_point(jnp.zeros(2), jnp.ones(2), jnp.array([0.0, 2.0]), 0.5).tolist()
    [0.25, 1.25]
    """
    check_params(params_a, "params_a")
    params_b = check_like(params_b, params_a, "params_b", "params_a")
    control = check_like(control, params_a, "control", "params_a")
    if jnp.ndim(t) != 0:
        raise ValueError(f"t must be a scalar curve parameter (vmap over many); got shape {jnp.shape(t)}")
    return _bezier(params_a, params_b, control, t)


def _bezier(params_a, params_b, control, t):
    return jax.tree.map(
        lambda a, b, c: ((1 - t) ** 2 * a + 2 * t * (1 - t) * c + t**2 * b).astype(a.dtype),
        params_a, params_b, control,
    )


class BezierCurve(NamedTuple):
    """What ``bezier_curve`` returns: the trained control point (a pytree like
    the parameters) and the ``(n_steps,)`` history of the sampled mean loss."""

    control: object
    losses: jax.Array


def bezier_curve(key, loss, params_a, params_b, optimizer=None, n_steps=500, n_samples=8, control=None):
    """Train the control point of a quadratic Bézier curve between two minima.

    Minimises ``(1/S) Σ_s loss(φ(t_s))`` with fresh ``t_s ~ U(0, 1)`` at every
    step (``S = n_samples``), a stochastic estimate of the mean loss along the
    curve, by ``n_steps`` optax updates of ``c`` (one compiled ``lax.scan``).
    The control point starts at the midpoint ``(θ_a + θ_b)/2`` (the straight
    line) unless ``control`` is given.

    Args:
      key: PRNG key for the ``t`` samples.
      loss: ``loss(params) -> scalar``.
      params_a: one end point (a pytree).
      params_b: the other end point (a pytree of the same structure).
      optimizer: an optax optimizer (default ``optax.adam(1e-2)``).
      n_steps: number of optimizer steps, a positive int.
      n_samples: points ``t_s`` per step, a positive int.
      control: optional initial control point.

    >>> import jax, jax.numpy as jnp
    >>> loss = lambda p: (jnp.sum(p ** 2) - 1.0) ** 2          # minima on the unit circle
    >>> a, b = jnp.array([1.0, 0.0]), jnp.array([-1.0, 0.0])
    >>> r = bezier_curve(jax.random.key(0), loss, a, b, n_steps=300, control=jnp.array([0.0, 0.5]))
    >>> c = curve_loss(loss, a, b, r.control, jnp.linspace(0, 1, 11))
    >>> bool(c.curve.max() < 0.2 * c.line.max())
    True
    """
    check_key(key)
    check_params(params_a, "params_a")
    params_b = check_like(params_b, params_a, "params_b", "params_a")
    check_loss(loss, params_a)
    check_loss(loss, params_b)
    if control is None:
        control = jax.tree.map(lambda a, b: (a + b) / 2, params_a, params_b)
    else:
        control = check_like(control, params_a, "control", "params_a")
    optimizer = optax.adam(1e-2) if optimizer is None else optimizer
    if not isinstance(optimizer, optax.GradientTransformation):
        raise ValueError(f"optimizer must be an optax GradientTransformation; got {type(optimizer).__name__}")
    n_steps = check_positive_int(n_steps, "n_steps")
    n_samples = check_positive_int(n_samples, "n_samples")
    dtype = jnp.result_type(jax.tree.leaves(params_a)[0])

    def objective(c, ts):
        return jnp.mean(jax.vmap(lambda t: loss(_bezier(params_a, params_b, c, t)))(ts))

    def step(carry, k):
        c, s = carry
        ts = jax.random.uniform(k, (n_samples,), dtype)
        value, grads = jax.value_and_grad(objective)(c, ts)
        updates, s = optimizer.update(grads, s, c)
        return (optax.apply_updates(c, updates), s), value

    @jax.jit
    def run(c, keys):
        (c, _), history = jax.lax.scan(step, (c, optimizer.init(c)), keys)
        return c, history

    c, history = run(control, jax.random.split(key, n_steps))
    return BezierCurve(c, history)


class CurveLoss(NamedTuple):
    """The loss along ``ts`` on the Bézier curve and on the straight segment, each ``(len(ts),)``."""

    t: jax.Array
    curve: jax.Array
    line: jax.Array


def curve_loss(loss, params_a, params_b, control, ts, chunk_size=4) -> CurveLoss:
    """``loss(φ(t))`` on the Bézier curve and ``loss((1 - t) θ_a + t θ_b)`` on the segment, for each ``t``.

    >>> import jax.numpy as jnp
    >>> loss = lambda p: jnp.sum(p ** 2)
    >>> r = curve_loss(loss, jnp.array([1.0]), jnp.array([-1.0]), jnp.array([1.0]), jnp.array([0.0, 0.5, 1.0]))
    >>> r.curve.tolist(), r.line.tolist()
    ([1.0, 0.25, 1.0], [1.0, 0.0, 1.0])
    """
    check_params(params_a, "params_a")
    params_b = check_like(params_b, params_a, "params_b", "params_a")
    control = check_like(control, params_a, "control", "params_a")
    check_loss(loss, params_a)
    ts = _check_grid(ts, "ts")
    chunk_size = _check_chunk(chunk_size)

    @jax.jit
    def run(a, b, c, t):
        return evaluate(lambda s: loss(_bezier(a, b, c, s[0])), t[:, None], chunk_size)

    return CurveLoss(ts, run(params_a, params_b, control, ts), interpolate(loss, params_a, params_b, ts, chunk_size))
