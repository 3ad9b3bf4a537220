r"""Hopfield networks: storage rules, retrieval dynamics and overlaps.

A Hopfield network *is* an Ising model (:mod:`jaxstat.ising` convention):
spins :math:`s_i = \pm 1`, couplings :math:`W` with a zero diagonal, local
field :math:`h_i(s) = \sum_j W_{ij} s_j - \theta_i` (a threshold
:math:`\theta` is a field :math:`h = -\theta`) and, for symmetric :math:`W`,

.. math::  E(s) = -\tfrac12 \sum_{ij} W_{ij} s_i s_j + \sum_i \theta_i s_i .

Every storage rule returns an ``(N, N)`` matrix with a zero diagonal that
:func:`jaxstat.ising.dense` accepts, so every sampler works on it unchanged.
Patterns are a ``(P, N)`` array :math:`\xi` of :math:`\pm 1` entries, one
pattern per row. The load is :math:`\alpha = P / N`.

Retrieval at any temperature is a sampler of the :mod:`jaxstat.mcmc`
protocol (:func:`retrieval_sampler`), so ``mcmc.run`` and replica exchange
drive it; :func:`retrieve` is its convenience wrapper. At zero temperature
every path here (``retrieve`` in both modes, :func:`capacity`, the dense
memories) follows one tie rule: a spin whose local field is exactly zero
keeps its value (a quench: a spin changes only if that strictly lowers the
energy).
"""

from jaxstat.hopfield.capacity import CapacityResult, capacity
from jaxstat.hopfield.dense import dense_capacity, dense_energy, dense_retrieve
from jaxstat.hopfield.diagram import DiagramResult, retrieval_diagram
from jaxstat.hopfield.dynamics import RetrievalResult, corrupt, overlap, retrieve
from jaxstat.hopfield.rules import hebbian, pseudo_inverse, storkey
from jaxstat.hopfield.sampler import RetrievalSampler, retrieval_sampler
from jaxstat.hopfield.softmax import (
    SoftmaxResult,
    softmax_energy,
    softmax_retrieve,
    softmax_update,
)
from jaxstat.hopfield.states import (
    MIXTURE,
    RETRIEVAL,
    SPURIOUS,
    StateKind,
    classify,
    mixture,
)
from jaxstat.hopfield.theory import (
    ags_critical_load,
    ags_overlap,
    ags_retrieval_temperature,
)

__all__ = [
    "MIXTURE",
    "RETRIEVAL",
    "SPURIOUS",
    "CapacityResult",
    "DiagramResult",
    "RetrievalResult",
    "RetrievalSampler",
    "SoftmaxResult",
    "StateKind",
    "ags_critical_load",
    "ags_overlap",
    "ags_retrieval_temperature",
    "capacity",
    "classify",
    "corrupt",
    "dense_capacity",
    "dense_energy",
    "dense_retrieve",
    "hebbian",
    "mixture",
    "overlap",
    "pseudo_inverse",
    "retrieval_diagram",
    "retrieval_sampler",
    "retrieve",
    "softmax_energy",
    "softmax_retrieve",
    "softmax_update",
    "storkey",
]
