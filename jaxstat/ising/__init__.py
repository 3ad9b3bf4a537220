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

from jaxstat.ising.energy import (
    energy,
    energy_per_spin,
    local_field,
    magnetization,
    n_spins,
    random_spins,
    require_symmetric,
    site_shape,
)
from jaxstat.ising.models import DenseIsing, LatticeIsing, Model, dense, edwards_anderson, lattice, sherrington_kirkpatrick
from jaxstat.ising.neurons import from_neurons, neuron_energy, to_dense, to_neurons

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
    "require_symmetric",
    "Model",
]
