r"""Ising and spin-glass models as pytrees, with their energies and local fields.

Convention (used everywhere in jaxstat)
---------------------------------------
Spins are :math:`s_i \in \{-1, +1\}` and the energy is

.. math::  E(s) = -\tfrac12 \sum_{ij} J_{ij} s_i s_j - \sum_i h_i s_i ,

with :math:`J` symmetric and zero on the diagonal. The minus sign makes
:math:`J_{ij} > 0` ferromagnetic (aligned spins lower the energy) and makes
the local field

.. math::  h_i(s) = \sum_j J_{ij} s_j + h_i = -\partial E / \partial s_i

the direction a spin wants to point. (Some course notes print the pair term
without the minus sign; the physics is the same with :math:`J \to -J`.)

Two model types share this convention:

* :class:`LatticeIsing` (from :func:`lattice` or :func:`edwards_anderson`):
  nearest-neighbour hypercubic lattices in any dimension, periodic or open,
  evaluated with array rolls, never an :math:`N \times N` matrix.
* :class:`DenseIsing` (from :func:`dense`, :func:`sherrington_kirkpatrick`,
  :func:`from_neurons`): any coupling matrix.

Configurations of a lattice model have the lattice's shape, e.g. ``(L, L)``;
configurations of a dense model have shape ``(N,)``. Every function accepts
extra leading batch axes, and is also safe under ``jax.vmap``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    as_float_array,
    check_positive_int,
    check_spins,
    float_dtype,
    is_concrete,
)

__all__ = [
    "LatticeIsing",
    "DenseIsing",
    "lattice",
    "dense",
    "sherrington_kirkpatrick",
    "edwards_anderson",
    "energy",
    "energy_per_spin",
    "local_field",
    "magnetization",
    "n_spins",
    "site_shape",
    "random_spins",
    "to_dense",
    "from_neurons",
    "to_neurons",
    "neuron_energy",
]


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
def _check_shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError as err:
        raise ValueError(f"shape must be a tuple of side lengths; got {shape!r}") from err
    if not shape:
        raise ValueError("shape must have at least one side length; got ()")
    for i, length in enumerate(shape):
        check_positive_int(length, f"shape[{i}]", minimum=1)
    return tuple(int(length) for length in shape)


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
    shape = _check_shape(shape)
    d = len(shape)
    if isinstance(periodic, (bool, np.bool_)):
        periodic = (bool(periodic),) * d
    periodic = tuple(periodic)
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
        Jn = np.asarray(J)
        if not np.all(np.isfinite(Jn)):
            raise ValueError("couplings J must be finite; got NaN or inf entries")
        diag = float(np.max(np.abs(np.diag(Jn))))
        if diag != 0.0:
            raise ValueError(f"couplings J must have a zero diagonal; got max |J_ii| = {diag:.3g}")
        asym = float(np.max(np.abs(Jn - Jn.T)))
        if asym != 0.0 and not allow_asymmetric:
            raise ValueError(
                f"couplings J must be symmetric with a zero diagonal; got max |J - J.T| = {asym:.3g} "
                "(pass allow_asymmetric=True for dynamics without an energy function)"
            )
        symmetric = asym == 0.0
    else:
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
      h, periodic, dtype: as in :func:`lattice`.

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.edwards_anderson(jax.random.key(1), (4, 4))
      >>> m.J.shape
      (2, 4, 4)
    """
    shape = _check_shape(shape)
    dt = dtype or float_dtype()
    full = (len(shape),) + shape
    if bonds == "pm":
        J = jax.random.rademacher(key, full, dtype=dt)
    elif bonds == "gaussian":
        J = jax.random.normal(key, full, dt)
    else:
        raise ValueError(f"bonds must be 'pm' or 'gaussian'; got {bonds!r}")
    return lattice(shape, J=J, h=h, periodic=periodic, dtype=dt)


# --------------------------------------------------------------------------- #
# energies and fields
# --------------------------------------------------------------------------- #
def site_shape(model: Model) -> tuple:
    """Shape of one configuration: the lattice shape, or ``(N,)`` for dense models."""
    return tuple(model.shape)


def n_spins(model: Model) -> int:
    """Number of spins N."""
    return model.n


def _check_model(model):
    if not isinstance(model, (LatticeIsing, DenseIsing)):
        raise ValueError(
            f"model must be a jaxstat.ising model (from lattice, dense, ...); got {type(model).__name__}"
        )


def _lattice_forward_sum(model: LatticeIsing, s):
    """sum_k J_k(x) s(x + e_k): each bond seen from its lower end."""
    d = len(model.shape)
    out = 0.0
    for k in range(d):
        axis = s.ndim - d + k
        Jk = model.J if model.J.ndim == 0 else model.J[k]
        out = out + Jk * jnp.roll(s, -1, axis=axis)
    return out


def _lattice_field(model: LatticeIsing, s):
    d = len(model.shape)
    out = model.h
    for k in range(d):
        axis = s.ndim - d + k
        if model.J.ndim == 0:
            out = out + model.J * (jnp.roll(s, -1, axis=axis) + jnp.roll(s, 1, axis=axis))
        else:
            Jk = model.J[k]
            out = out + Jk * jnp.roll(s, -1, axis=axis) + jnp.roll(Jk, 1, axis=k) * jnp.roll(s, 1, axis=axis)
    return jnp.broadcast_to(out, s.shape)


def _as_spins(model, spins, name="spins"):
    _check_model(model)
    s = check_spins(spins, site_shape(model), name)
    return s.astype(model.dtype)


def local_field(model: Model, spins):
    r"""Local fields :math:`h_i(s) = \sum_j J_{ij} s_j + h_i = -\partial E/\partial s_i`.

    Args:
      model: a jaxstat Ising model.
      spins: configurations with trailing shape :func:`site_shape` ``(model)``.

    Returns:
      An array shaped like ``spins``, in the model's dtype.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((4,), J=1.0, h=0.5)
      >>> js.ising.local_field(m, jnp.array([1., 1., -1., 1.]))
      Array([2.5, 0.5, 2.5, 0.5], dtype=float32)
    """
    s = _as_spins(model, spins)
    return _field(model, s)


def _field(model, s):
    """Unchecked local field (used inside samplers)."""
    if isinstance(model, LatticeIsing):
        return _lattice_field(model, s)
    return s @ model.J.T + model.h


def _energy(model, s):
    """Unchecked energy (used inside samplers)."""
    if isinstance(model, LatticeIsing):
        d = len(model.shape)
        axes = tuple(range(s.ndim - d, s.ndim))
        pair = jnp.sum(s * _lattice_forward_sum(model, s), axis=axes)
        return -pair - jnp.sum(jnp.broadcast_to(model.h, s.shape) * s, axis=axes)
    return -0.5 * jnp.sum(s * (s @ model.J.T), axis=-1) - s @ model.h


def require_symmetric(model: Model, what: str):
    """Raise when an energy-based computation meets an asymmetric model."""
    if isinstance(model, DenseIsing) and not model.symmetric:
        raise ValueError(
            f"{what} needs symmetric couplings (an energy function); this model was built with "
            "allow_asymmetric=True and J != J.T. Use Glauber dynamics for asymmetric networks."
        )


def energy(model: Model, spins):
    r"""Energy :math:`E(s) = -\tfrac12 \sum_{ij} J_{ij} s_i s_j - \sum_i h_i s_i`.

    Args:
      model: a jaxstat Ising model with symmetric couplings.
      spins: configurations with trailing shape :func:`site_shape` ``(model)``
        and any leading batch axes.

    Returns:
      One energy per configuration (shape = the leading batch axes).

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((3, 3), periodic=False)
      >>> float(js.ising.energy(m, jnp.ones((3, 3))))  # 12 open-boundary bonds
      -12.0
    """
    s = _as_spins(model, spins)
    require_symmetric(model, "energy")
    return _energy(model, s)


def energy_per_spin(model: Model, spins):
    """:func:`energy` divided by the number of spins N."""
    return energy(model, spins) / model.n


def magnetization(spins, model: Model | None = None):
    r"""Magnetization per spin :math:`m = \frac1N \sum_i s_i`.

    Without ``model`` the mean runs over every axis of ``spins`` (one
    configuration). With ``model`` it runs over the model's site axes only, so
    leading batch axes are kept.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> float(js.ising.magnetization(jnp.array([1., 1., -1., 1.])))
      0.5
    """
    s = jnp.asarray(spins)
    if not jnp.issubdtype(s.dtype, jnp.floating):
        s = s.astype(float_dtype())
    if model is None:
        return jnp.mean(s)
    d = len(site_shape(model))
    check_spins(s, site_shape(model))
    return jnp.mean(s, axis=tuple(range(s.ndim - d, s.ndim)))


def random_spins(key, shape, dtype=None):
    """Uniformly random ±1 configuration(s) of the given shape (a model's
    :func:`site_shape`, optionally with leading batch axes).

    Example:
      >>> import jax, jaxstat as js
      >>> js.ising.random_spins(jax.random.key(0), (2, 3)).shape
      (2, 3)
    """
    return jax.random.rademacher(key, tuple(shape), dtype=dtype or float_dtype())


# --------------------------------------------------------------------------- #
# conversions
# --------------------------------------------------------------------------- #
def to_dense(model: Model) -> DenseIsing:
    """The same model as an explicit ``(N, N)`` coupling matrix (sites in
    C order). Meant for small lattices: tests, enumeration, conversions.

    Example:
      >>> import jaxstat as js
      >>> js.ising.to_dense(js.ising.lattice((3,), periodic=False)).J
      Array([[0., 1., 0.],
             [1., 0., 1.],
             [0., 1., 0.]], dtype=float32)
    """
    _check_model(model)
    if isinstance(model, DenseIsing):
        return model
    shape, d, n = model.shape, len(model.shape), model.n
    index = np.arange(n).reshape(shape)
    Jb = jnp.broadcast_to(model.J, (d,) + shape)
    J = jnp.zeros((n, n), model.dtype)
    for k in range(d):
        nbr = np.roll(index, -1, axis=k).ravel()
        w = Jb[k].ravel()
        J = J.at[index.ravel(), nbr].add(w)
        J = J.at[nbr, index.ravel()].add(w)
    h = jnp.broadcast_to(model.h, shape).ravel()
    return DenseIsing(J=J, h=h, symmetric=True)


def from_neurons(W, theta, *, allow_asymmetric: bool = False, dtype=None):
    r"""Convert a network of binary neurons to the spin form, exactly.

    Neurons have activities :math:`n_i \in \{0,1\}`, weights :math:`W`
    (zero diagonal) and thresholds :math:`\theta`; the membrane potential is
    :math:`u_i = \sum_j W_{ij} n_j - \theta_i` and the neuron energy

    .. math:: E_n(n) = -\tfrac12 \sum_{ij} W_{ij} n_i n_j + \sum_i \theta_i n_i .

    With :math:`n = (s+1)/2` this is :math:`E_s(s) + c` for the spin model
    :math:`J = W/4`, :math:`h_i = \tfrac14\sum_j W_{ij} - \tfrac12\theta_i`,
    :math:`c = -\tfrac18\sum_{ij}W_{ij} + \tfrac12\sum_i\theta_i`. The spin
    local field is half the membrane potential, so the dynamics agree too.

    Returns:
      ``(model, const)`` with ``energy(model, s) + const == neuron_energy(W, theta, n)``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> W = jnp.array([[0., 2.], [2., 0.]]); theta = jnp.array([1., -1.])
      >>> m, c = js.ising.from_neurons(W, theta)
      >>> n = jnp.array([1., 0.]); s = 2 * n - 1
      >>> float(js.ising.energy(m, s) + c), float(js.ising.neuron_energy(W, theta, n))
      (1.0, 1.0)
    """
    W = as_float_array(W, "W", dtype)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square (N, N) weight matrix; got shape {W.shape}")
    theta = as_float_array(theta, "theta", W.dtype)
    if theta.ndim == 0:
        theta = jnp.full(W.shape[:1], theta, W.dtype)
    if theta.shape != W.shape[:1]:
        raise ValueError(f"theta must have shape (N,) = ({W.shape[0]},) to match W; got shape {theta.shape}")
    model = dense(W / 4, jnp.sum(W, axis=1) / 4 - theta / 2, allow_asymmetric=allow_asymmetric)
    const = -jnp.sum(W) / 8 + jnp.sum(theta) / 2
    return model, const


def to_neurons(model: Model):
    """Inverse of :func:`from_neurons`: returns ``(W, theta, const)`` with
    ``W = 4 J``, ``theta_i = 2 (sum_j J_ij - h_i)`` and
    ``energy(model, s) + const == neuron_energy(W, theta, (s + 1) / 2)``.

    Example:
      >>> import jaxstat as js
      >>> W, theta, c = js.ising.to_neurons(js.ising.lattice((4,), J=1.0))
      >>> W.shape, theta.shape
      ((4, 4), (4,))
    """
    m = to_dense(model)
    W = 4 * m.J
    theta = 2 * (jnp.sum(m.J, axis=1) - m.h)
    const = jnp.sum(m.J) / 2 - jnp.sum(m.h)
    return W, theta, const


def neuron_energy(W, theta, activities):
    r"""Neuron-form energy :math:`-\tfrac12 n^T W n + \theta \cdot n` (batch axes allowed)."""
    W = jnp.asarray(W)
    n = jnp.asarray(activities, W.dtype)
    return -0.5 * jnp.sum(n * (n @ W.T), axis=-1) + n @ jnp.asarray(theta, W.dtype)
