r"""Exact references: enumeration of small models and Onsager's 2D solution.

Enumeration
-----------
:func:`enumerate` sums the Boltzmann weights :math:`e^{-\beta E(s)}` over all
:math:`2^N` configurations of a model (:math:`N \le` ``MAX_ENUMERATE_SPINS``),
in log space and in chunks of states, so memory grows like :math:`2^N`
numbers, never :math:`2^N \times N` spins.

States are numbered by one fixed bijection between :math:`\{-1,+1\}^N` and
the integers :math:`0 \ldots 2^N - 1` (used by :func:`state_index`,
:func:`states` and ``ExactResult.probabilities``): the configuration is
flattened in C order (lattice models), spin :math:`i` maps to the bit
:math:`b_i = (s_i + 1)/2`, and spin 0 is the **most significant** bit,

.. math:: \mathrm{index}(s) = \sum_{i=0}^{N-1} b_i\, 2^{N-1-i}, \qquad s_i = 2 b_i - 1 .

So index 0 is all spins down, index :math:`2^N - 1` all up, and the order is
that of ``itertools.product([-1, 1], repeat=N)``.

Onsager
-------
The square-lattice ferromagnet with :math:`J = 1`, :math:`k_B = 1`, no field,
in the thermodynamic limit: critical temperature, spontaneous magnetization,
energy and specific heat per spin (for other :math:`J` use :math:`T/J` and
scale energies by :math:`J`). The complete elliptic integrals they need are
computed by the arithmetic-geometric mean in ``jax.numpy``.

Finite torus (Kaufman)
----------------------
:func:`kaufman` gives the exact :math:`\log Z`, :math:`\langle E\rangle` and
:math:`\operatorname{Var}E` of the zero-field square-lattice ferromagnet on a
finite :math:`L \times M` torus (any sides >= 2, the same lattice as
``jaxstat.ising.lattice((L, M), periodic=True)``) from Kaufman's four-term
formula, in log space, with energies by automatic differentiation. It costs
:math:`O(L)` per temperature, so it is the reference for Monte Carlo runs at
and near :math:`T_c` on lattices far too large to enumerate.
"""

from jaxstat.exact.enumeration import (
    MAX_ENUMERATE_SPINS,
    ExactResult,
    GroundStates,
    enumerate,
    ground_states,
    state_index,
    states,
)
from jaxstat.exact.onsager import (
    elliptic_e,
    elliptic_k,
    onsager_energy,
    onsager_magnetization,
    onsager_specific_heat,
    onsager_tc,
)
from jaxstat.exact.torus import KaufmanResult, kaufman

__all__ = [
    "MAX_ENUMERATE_SPINS",
    "ExactResult",
    "GroundStates",
    "state_index",
    "states",
    "enumerate",
    "ground_states",
    "elliptic_k",
    "elliptic_e",
    "onsager_tc",
    "onsager_magnetization",
    "onsager_energy",
    "onsager_specific_heat",
    "KaufmanResult",
    "kaufman",
]
