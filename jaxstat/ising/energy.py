"""Energies, local fields and magnetization (batch axes allowed)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import _kernels  # a module import: _kernels imports ising.models (import cycle)
from jaxstat._validate import check_float_dtype, check_key, check_shape, check_spins, float_dtype
from jaxstat.ising.models import DenseIsing, Model

# --------------------------------------------------------------------------- #
# energies and fields
# --------------------------------------------------------------------------- #
def site_shape(model: Model) -> tuple:
    """Shape of one configuration: the lattice shape, or ``(N,)`` for dense models.

    Example:
      >>> import jax, jaxstat as js
      >>> js.ising.site_shape(js.ising.lattice((4, 6))), js.ising.site_shape(js.ising.sherrington_kirkpatrick(jax.random.key(0), 5))
      ((4, 6), (5,))
    """
    return tuple(model.shape)


def n_spins(model: Model) -> int:
    """Number of spins N.

    Example:
      >>> import jaxstat as js
      >>> js.ising.n_spins(js.ising.lattice((4, 6)))
      24
    """
    return model.n


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
    s = _kernels.as_spins(model, spins)
    return _kernels.field_unchecked(model, s)


def require_symmetric(model: Model, what: str):
    """Raise a ValueError naming ``what`` when an energy-based computation meets an asymmetric model
    (a ``dense`` model built with ``allow_asymmetric=True`` whose J is not symmetric).

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.dense(jnp.array([[0.0, 1.0], [0.0, 0.0]]), allow_asymmetric=True)
      >>> js.ising.require_symmetric(m, "metropolis")
      Traceback (most recent call last):
      ...
      ValueError: metropolis needs symmetric couplings (an energy function); this model was built with allow_asymmetric=True and J != J.T. Use Glauber dynamics for asymmetric networks.
    """
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
    s = _kernels.as_spins(model, spins)
    require_symmetric(model, "energy")
    return _kernels.energy_unchecked(model, s)


def energy_per_spin(model: Model, spins):
    """:func:`energy` divided by the number of spins N.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> float(js.ising.energy_per_spin(js.ising.lattice((4, 4)), jnp.ones((4, 4))))  # 2 bonds per spin
      -2.0
    """
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
        check_spins(s, s.shape)
        return jnp.mean(s)
    d = len(site_shape(model))
    check_spins(s, site_shape(model))
    return jnp.mean(s, axis=tuple(range(s.ndim - d, s.ndim)))


def random_spins(key, shape, dtype=None, magnetization=None):
    """Uniformly random ±1 configuration(s) of the given shape (a model's
    :func:`site_shape`, optionally with leading batch axes).

    With ``magnetization`` the configuration is drawn uniformly among those
    with exactly that magnetization per spin (the starting point of
    :func:`jaxstat.mcmc.kawasaki`, which conserves it): ``shape`` is then
    one configuration (vmap over keys for many), and ``magnetization * N``
    must be an integer of the same parity as N.

    Example:
      >>> import jax, jaxstat as js
      >>> js.ising.random_spins(jax.random.key(0), (2, 3)).shape
      (2, 3)
      >>> float(js.ising.random_spins(jax.random.key(0), (4, 4), magnetization=-0.25).mean())
      -0.25
    """
    check_key(key)
    shape = check_shape(shape, minimum=0)
    dtype = check_float_dtype(dtype or float_dtype())
    if magnetization is None:
        return jax.random.rademacher(key, shape, dtype=dtype)
    n = math.prod(shape)
    m = float(np.asarray(magnetization)) if np.ndim(magnetization) == 0 else None
    if m is None or not math.isfinite(m) or abs(m) > 1:
        raise ValueError(f"magnetization must be a number in [-1, 1]; got {magnetization!r:.60}")
    n_up = (1 + m) * n / 2
    if abs(n_up - round(n_up)) > 1e-9 * max(1, n):
        lo = 2 * math.floor(n_up) / n - 1
        raise ValueError(
            f"magnetization * N must be an integer of N's parity (N = {n} spins); got magnetization = {m}, "
            f"whose nearest allowed values are {lo:g} and {lo + 2 / n:g}"
        )
    spins = jnp.where(jnp.arange(n) < round(n_up), 1, -1).astype(dtype)
    return jax.random.permutation(key, spins).reshape(shape)
