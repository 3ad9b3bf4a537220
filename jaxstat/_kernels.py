"""Unchecked energies, local fields and lattice topology of the Ising models.

The kernels that ``ising`` (behind its validated public functions), the
samplers of ``mcmc`` and the enumerations of ``exact`` share. They assume
valid input: callers validate at their boundary (``as_spins``,
``check_model``) and call these inside compiled loops. Convention (see
:mod:`jaxstat.ising`): E(s) = -1/2 sum_ij J_ij s_i s_j - sum_i h_i s_i and
h_i(s) = sum_j J_ij s_j + h_i.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxstat._validate import check_spins, is_concrete
from jaxstat.ising.models import DenseIsing, LatticeIsing


def check_model(model):
    """Raise unless ``model`` is a jaxstat Ising model."""
    if not isinstance(model, (LatticeIsing, DenseIsing)):
        raise ValueError(
            f"model must be a jaxstat.ising model (from lattice, dense, ...); got {type(model).__name__}"
        )


def as_spins(model, spins, name="spins"):
    """Validated spins in the model's dtype. Concrete values other than ±1 raise; traced ones
    (inside jit or vmap, where nothing can raise) become NaN, so 0/1 neuron states passed as
    spins give NaN energies, fields and samples, never plausible numbers."""
    check_model(model)
    s = check_spins(spins, tuple(model.shape), name).astype(model.dtype)
    if not is_concrete(s):
        s = jnp.where(jnp.abs(s) == 1, s, jnp.nan)
    return s


def lattice_forward_sum(model: LatticeIsing, s):
    """sum_k J_k(x) s(x + e_k): each bond seen from its lower end."""
    d = len(model.shape)
    out = 0.0
    for k in range(d):
        axis = s.ndim - d + k
        Jk = model.J if model.J.ndim == 0 else model.J[k]
        out = out + Jk * jnp.roll(s, -1, axis=axis)
    return out


def lattice_field(model: LatticeIsing, s):
    """Local fields of a lattice model by array rolls (trailing axes are the lattice)."""
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


def field_unchecked(model, s):
    """Local field without validation (inside samplers)."""
    if isinstance(model, LatticeIsing):
        return lattice_field(model, s)
    return s @ model.J.T + model.h


def energy_unchecked(model, s):
    """Energy without validation (inside samplers); sums over the trailing site axes."""
    if isinstance(model, LatticeIsing):
        d = len(model.shape)
        axes = tuple(range(s.ndim - d, s.ndim))
        pair = jnp.sum(s * lattice_forward_sum(model, s), axis=axes)
        return -pair - jnp.sum(jnp.broadcast_to(model.h, s.shape) * s, axis=axes)
    return -0.5 * jnp.sum(s * (s @ model.J.T), axis=-1) - s @ model.h


def neighbour_table(model: LatticeIsing):
    """Neighbours of every site of a lattice model, in C order.

    Returns ``(nbr, weight, exists)``, each ``(N, 2d)``: the flat index of the
    neighbour at ``+e_k`` and ``-e_k`` for each axis k, the coupling of that
    bond (``J_k(x)`` forward, ``J_k(x - e_k)`` backward; zero across an open
    edge), and whether the neighbour exists (``False`` across an open edge).
    The one lattice topology of the library: single-site and Kawasaki
    samplers gather with it, :func:`jaxstat.ising.to_dense` scatters it.
    """
    shape, d, n = model.shape, len(model.shape), model.n
    index = np.arange(n).reshape(shape)
    coords = np.indices(shape)
    J = jnp.broadcast_to(model.J, (d,) + shape)
    nbrs, weights, exists = [], [], []
    for k in range(d):
        nbrs.append(np.roll(index, -1, axis=k).ravel())
        weights.append(J[k].ravel())
        exists.append((model.periodic[k] | (coords[k] < shape[k] - 1)).ravel())
        nbrs.append(np.roll(index, 1, axis=k).ravel())
        weights.append(jnp.roll(J[k], 1, axis=k).ravel())
        exists.append((model.periodic[k] | (coords[k] > 0)).ravel())
    return jnp.asarray(np.stack(nbrs, axis=1), jnp.int32), jnp.stack(weights, axis=1), np.stack(exists, axis=1)
