"""Model types and constructors: lattices, dense couplings, disorder."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (as_float_array, check_coupling_matrix, check_key, check_positive_int, check_shape,
                               float_dtype, is_concrete)

@dataclasses.dataclass(frozen=True)
class LatticeIsing:
    """Nearest-neighbour Ising model on a hypercubic lattice (a pytree).

    Attributes:
      J: bond couplings, a scalar (uniform, all-periodic lattices only) or an
        array of shape ``(d, *shape)`` where ``J[k][x]`` couples site ``x``
        to ``x + e_k``. Bonds that would cross an open boundary are zero.
      h: field, a scalar or an array of the lattice's shape.
      shape: lattice side lengths (static).
      periodic: one bool per axis (static).
    """

    J: jax.Array
    h: jax.Array
    shape: tuple = dataclasses.field(metadata=dict(static=True))
    periodic: tuple = dataclasses.field(metadata=dict(static=True))

    @property
    def dtype(self):
        return jnp.result_type(self.J, self.h)

    @property
    def n(self) -> int:
        return math.prod(self.shape)


@dataclasses.dataclass(frozen=True)
class DenseIsing:
    """Ising model with an arbitrary coupling matrix (a pytree).

    Attributes:
      J: couplings, shape ``(N, N)``, zero diagonal. ``J[i, j]`` is the weight
        of spin ``j`` in the local field of spin ``i``.
      h: fields, shape ``(N,)``.
      symmetric: static flag; ``False`` only when built with
        ``allow_asymmetric=True``. Such a model has dynamics but no energy.
    """

    J: jax.Array
    h: jax.Array
    symmetric: bool = dataclasses.field(default=True, metadata=dict(static=True))

    @property
    def dtype(self):
        return jnp.result_type(self.J, self.h)

    @property
    def n(self) -> int:
        return self.J.shape[-1]

    @property
    def shape(self) -> tuple:
        return (self.J.shape[-1],)


jax.tree_util.register_dataclass(LatticeIsing)
jax.tree_util.register_dataclass(DenseIsing)

Model = LatticeIsing | DenseIsing


# --------------------------------------------------------------------------- #
# constructors
# --------------------------------------------------------------------------- #
def _boundary_mask(shape: tuple, periodic: tuple) -> np.ndarray:
    """(d, *shape) array: 1 for existing bonds, 0 for bonds across open edges."""
    mask = np.ones((len(shape),) + shape, dtype=bool)
    for k, (length, per) in enumerate(zip(shape, periodic)):
        if not per:
            idx = [k] + [slice(None)] * len(shape)
            idx[1 + k] = length - 1
            mask[tuple(idx)] = False
    return mask


def lattice(shape, J=1.0, h=0.0, periodic=True, dtype=None) -> LatticeIsing:
    """Nearest-neighbour Ising model on a hypercubic lattice of any dimension.

    .. math:: E(s) = -\\sum_{\\langle x, y \\rangle} J_{xy} s_x s_y - \\sum_x h_x s_x,

    each bond counted once. On a periodic axis of length 2 the forward bond
    and the wrap-around bond join the same pair of sites, so that pair is
    coupled twice (the usual torus convention; :func:`to_dense` agrees).

    Args:
      shape: side lengths, e.g. ``(L,)``, ``(L, L)``, ``(L, L, L)``.
      J: a scalar (uniform couplings) or per-bond couplings of shape
        ``(d, *shape)``: ``J[k][x]`` couples ``x`` to ``x + e_k``.
      h: a scalar or per-site fields of shape ``shape``.
      periodic: a bool, or one bool per axis. Periodic axes need length >= 2.
      dtype: float dtype of the couplings (default float32, float64 under x64).

    Returns:
      A :class:`LatticeIsing` pytree.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((4, 4))
      >>> float(js.ising.energy(m, jnp.ones((4, 4))))  # 32 bonds, all satisfied
      -32.0
    """
    shape = check_shape(shape)
    d = len(shape)
    if isinstance(periodic, (bool, np.bool_)):
        periodic = (bool(periodic),) * d
    try:
        periodic = tuple(periodic)
    except TypeError as err:
        raise ValueError(f"periodic must be a bool or {d} bools (one per axis); got {periodic!r}") from err
    if len(periodic) != d or not all(isinstance(p, (bool, np.bool_)) for p in periodic):
        raise ValueError(f"periodic must be a bool or {d} bools (one per axis); got {periodic!r}")
    periodic = tuple(bool(p) for p in periodic)
    for k, (length, per) in enumerate(zip(shape, periodic)):
        if per and length < 2:
            raise ValueError(
                f"periodic axis {k} needs side length >= 2 (a length-1 ring couples a spin to itself); "
                f"got shape {shape}"
            )
    J = as_float_array(J, "J", dtype)
    h = as_float_array(h, "h", dtype)
    dt = jnp.result_type(J, h)
    J, h = J.astype(dt), h.astype(dt)
    if J.ndim not in (0,) and J.shape != (d,) + shape:
        raise ValueError(f"J must be a scalar or have shape (d, *shape) = {(d,) + shape}; got shape {J.shape}")
    if h.ndim != 0 and h.shape != shape:
        raise ValueError(f"h must be a scalar or have the lattice shape {shape}; got shape {h.shape}")
    for name, arr in (("couplings J", J), ("fields h", h)):
        if is_concrete(arr) and not bool(jnp.all(jnp.isfinite(arr))):
            raise ValueError(f"{name} must be finite; got NaN or inf entries")
    if not all(periodic):
        # Open boundaries: the wrap-around bonds do not exist. Store them as
        # zeros so one roll-based kernel serves every boundary condition.
        J = jnp.broadcast_to(J, (d,) + shape) * jnp.asarray(_boundary_mask(shape, periodic), dt)
    return LatticeIsing(J=J, h=h, shape=shape, periodic=periodic)


def dense(J, h=None, *, allow_asymmetric: bool = False, dtype=None) -> DenseIsing:
    """Ising model with any coupling matrix (spin glasses, Hopfield nets, BMs).

    Args:
      J: couplings, shape ``(N, N)``, zero diagonal, symmetric unless
        ``allow_asymmetric``.
      h: fields, a scalar or shape ``(N,)`` (default 0).
      allow_asymmetric: accept ``J != J.T``. Such a model still has
        single-spin dynamics (Glauber, zero-temperature updates) driven by the
        local fields ``h_i = sum_j J_ij s_j + h_i``, but no energy function and
        no Boltzmann equilibrium: :func:`energy`, Metropolis and exact
        enumeration refuse it.
      dtype: float dtype (default float32, float64 under x64).

    Values are checked when concrete; inside ``jit`` only shapes can be.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.dense(jnp.array([[0., 1.], [1., 0.]]), jnp.array([0.5, 0.]))
      >>> float(js.ising.energy(m, jnp.array([1., 1.])))
      -1.5
    """
    J = as_float_array(J, "J", dtype)
    if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] == 0:
        raise ValueError(f"J must be a square (N, N) matrix with N >= 1; got shape {J.shape}")
    n = J.shape[0]
    h = as_float_array(0.0 if h is None else h, "h", dtype)
    dt = jnp.result_type(J, h)
    J, h = J.astype(dt), h.astype(dt)
    if h.ndim == 0:
        h = jnp.full((n,), h, dt)
    if h.shape != (n,):
        raise ValueError(f"h must be a scalar or have shape (N,) = ({n},) to match J; got shape {h.shape}")
    if is_concrete(J):
        asym = check_coupling_matrix(J, "couplings J", allow_asymmetric)
        symmetric = asym == 0.0
    else:
        # Traced couplings (inside jit/vmap over disorder) cannot raise: a J
        # that breaks the contract becomes NaN, so nothing downstream looks
        # plausible.
        bad = jnp.any(jnp.diagonal(J) != 0)
        if not allow_asymmetric:
            bad = bad | jnp.any(J != J.T)
        J = jnp.where(bad, jnp.nan, J)
        symmetric = not allow_asymmetric
    if is_concrete(h) and not np.all(np.isfinite(np.asarray(h))):
        raise ValueError("fields h must be finite; got NaN or inf entries")
    return DenseIsing(J=J, h=h, symmetric=symmetric)


def sherrington_kirkpatrick(key, n: int, h=0.0, dtype=None) -> DenseIsing:
    """Sherrington–Kirkpatrick spin glass: ``J_ij = J_ji ~ N(0, 1/n)``, ``J_ii = 0``.

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.sherrington_kirkpatrick(jax.random.key(0), 8)
      >>> m.J.shape, bool((m.J == m.J.T).all())
      ((8, 8), True)
    """
    n = check_positive_int(n, "n")
    check_key(key)
    dt = dtype or float_dtype()
    g = jax.random.normal(key, (n, n), dt) / jnp.sqrt(jnp.asarray(n, dt))
    upper = jnp.triu(g, k=1)
    return dense(upper + upper.T, h, dtype=dt)


def edwards_anderson(key, shape, bonds: str = "pm", h=0.0, periodic=True, dtype=None) -> LatticeIsing:
    """Edwards–Anderson spin glass: a lattice with random nearest-neighbour bonds.

    Args:
      key: a PRNG key.
      shape: lattice side lengths.
      bonds: ``"pm"`` for ``J = ±1`` with equal probability, ``"gaussian"``
        for ``J ~ N(0, 1)``.
      h: fields, as in :func:`lattice`.
      periodic: boundary conditions, as in :func:`lattice`.
      dtype: float dtype, as in :func:`lattice`.

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.edwards_anderson(jax.random.key(1), (4, 4))
      >>> m.J.shape
      (2, 4, 4)
    """
    shape = check_shape(shape)
    check_key(key)
    dt = dtype or float_dtype()
    full = (len(shape),) + shape
    if bonds == "pm":
        J = jax.random.rademacher(key, full, dtype=dt)
    elif bonds == "gaussian":
        J = jax.random.normal(key, full, dt)
    else:
        raise ValueError(f"bonds must be 'pm' or 'gaussian'; got {bonds!r}")
    return lattice(shape, J=J, h=h, periodic=periodic, dtype=dt)
