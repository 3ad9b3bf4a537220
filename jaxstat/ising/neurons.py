"""Exact conversions between the neuron form and the spin form."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, check_binary, check_coupling_matrix, is_concrete
from jaxstat import _kernels  # a module import: _kernels imports ising.models (import cycle)
from jaxstat.ising.models import DenseIsing, Model, dense

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
    _kernels.check_model(model)
    if isinstance(model, DenseIsing):
        return model
    # every bond twice, once from each end: the neighbour table's forward and backward entries
    nbr, weight, exists = _kernels.neighbour_table(model)
    rows = np.repeat(np.arange(model.n), nbr.shape[1])
    J = jnp.zeros((model.n, model.n), model.dtype).at[rows, nbr.ravel()].add(jnp.where(exists, weight, 0).ravel())
    h = jnp.broadcast_to(model.h, model.shape).ravel()
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
    if is_concrete(W):  # checked here so the messages name W, not the derived J = W/4
        check_coupling_matrix(W, "weights W", allow_asymmetric)
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
    r"""Neuron-form energy :math:`-\tfrac12 n^T W n + \theta \cdot n` (batch axes allowed).

    Args:
      W: weights, shape ``(N, N)``.
      theta: thresholds, a scalar or shape ``(N,)``.
      activities: 0/1 neuron states, shape ``(..., N)``. Concrete values other
        than 0 and 1 (±1 spins, the other form) raise; traced ones give NaN.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> W = jnp.array([[0.0, 1.0], [1.0, 0.0]])
      >>> float(js.ising.neuron_energy(W, jnp.array([0.5, 0.5]), jnp.array([1.0, 1.0])))
      0.0
    """
    W = as_float_array(W, "W")
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square (N, N) weight matrix; got shape {W.shape}")
    N = W.shape[0]
    theta = as_float_array(theta, "theta").astype(W.dtype)
    if theta.shape not in ((), (N,)):
        raise ValueError(f"theta must be a scalar or have shape ({N},) (one threshold per neuron); got {theta.shape}")
    n = as_float_array(activities, "activities").astype(W.dtype)
    if n.ndim < 1 or n.shape[-1] != N:
        raise ValueError(f"activities must have trailing axis {N} (the neurons of W); got shape {n.shape}")
    n = check_binary(n, "activities", "only 0 and 1, neuron states (for ±1 spins use js.ising.energy on "
                     "from_neurons(W, theta))")
    return -0.5 * jnp.sum(n * (n @ W.T), axis=-1) + n @ jnp.broadcast_to(theta, (N,))
