r"""Hessian spectral density by stochastic Lanczos quadrature (Ghorbani, Krishnan, Xiao 2019).

The spectral density :math:`\phi(t) = \frac1n \sum_i \delta(t - \lambda_i)`
is approached through :math:`\frac1n \operatorname{tr} f(H) =
\mathbb{E}_v[v^\top f(H) v]/n` with Rademacher probes (:math:`\|v\|^2 = n`).
For each probe, ``n_iter`` Lanczos steps from :math:`v/\|v\|` give a
tridiagonal :math:`T = S \Theta S^\top`; the Gauss quadrature nodes are the
Ritz values :math:`\theta_j` and the weights :math:`\tau_j = S_{1j}^2`
(:math:`\sum_j \tau_j = 1`). It integrates polynomials of degree
:math:`< 2\,n_\mathrm{iter}` exactly, so the moments
:math:`\sum_j \tau_j \theta_j^p` are unbiased estimates of
:math:`\operatorname{tr}(H^p)/n` for :math:`p < 2 n_\mathrm{iter}`. Each delta is
broadened into a Gaussian of width ``sigma``:

.. math:: \rho(t) = \frac{1}{n_\mathrm{probes}} \sum_{l} \sum_j \tau^{(l)}_j
          \mathcal{N}(t;\, \theta^{(l)}_j, \sigma^2),

which integrates to one over the real line (and to one within rounding on
the default grid, which extends 6 sigma past the extreme nodes).

The Lanczos step is :func:`jaxstat.landscape.lanczos_tridiag` (full
reorthogonalisation with breakdown restarts; see
:mod:`jaxstat.landscape.curvature` for why it is not matfree's); matfree's
``funm.monte_carlo_funm_sym`` returns only :math:`v^\top f(T) v`, not the
nodes and weights a density needs, so the quadrature is assembled here.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from matfree import stochtrace

from jaxstat._validate import check_finite, check_key, check_positive_int
from jaxstat.landscape._checks import (
    check_loss,
    check_params,
    check_positive_float,
    flat_problem,
    hvp_flat,
    n_params,
)
from jaxstat.landscape._compile import StaticFn, jit_loss
from jaxstat.landscape.curvature import lanczos_tridiag

__all__ = ["SpectralDensity", "spectral_density", "slq_nodes_weights"]


class SpectralDensity(NamedTuple):
    """Result of :func:`spectral_density`.

    ``grid`` and ``density`` have shape ``(n_grid,)``; ``nodes`` and
    ``weights`` (the raw quadrature, each probe's weights summing to one)
    have shape ``(n_probes, n_iter)``; ``sigma`` is the broadening used.
    """

    grid: jax.Array
    density: jax.Array
    nodes: jax.Array
    weights: jax.Array
    sigma: jax.Array


def slq_nodes_weights(matvec, probes, n_iter: int, batch_size=None):
    """Gauss quadrature nodes and weights, ``(n_probes, n_iter)`` each, one row per probe.

    ``probes`` is ``(n_probes, n)`` and ``1 <= n_iter <= n``.

    >>> import jax.numpy as jnp
    >>> nodes, weights = slq_nodes_weights(lambda v: 2.0 * v, jnp.ones((2, 3)), 1)
    >>> nodes.round(4).tolist(), weights.round(4).tolist()
    ([[2.0], [2.0]], [[1.0], [1.0]])
    """
    if jnp.ndim(probes) != 2 or 0 in jnp.shape(probes):
        raise ValueError(f"probes must be a non-empty (n_probes, n) array, one probe per row; got shape "
                         f"{jnp.shape(probes)}")
    n_iter = check_positive_int(n_iter, "n_iter")
    if n_iter > jnp.shape(probes)[1]:
        raise ValueError(f"n_iter must be at most the dimension {jnp.shape(probes)[1]} of the probes; got {n_iter}")

    def one(v):
        _, T = lanczos_tridiag(matvec, v / jnp.linalg.norm(v), n_iter)
        theta, S = jnp.linalg.eigh(T)
        return theta, S[0, :] ** 2

    return jax.lax.map(one, probes, batch_size=batch_size)


def broadened_density(grid, nodes, weights, sigma):
    """Mean over probes of Gaussian-broadened quadrature rules, evaluated on ``grid``."""
    z = (grid[:, None] - nodes.reshape(-1)[None, :]) / sigma
    kernel = jnp.exp(-0.5 * z**2) / (sigma * jnp.sqrt(2 * jnp.pi))
    return kernel @ weights.reshape(-1) / nodes.shape[0]


def spectral_density(
    key, loss, params, n_probes: int = 10, n_iter: int = 80, *, grid=None, n_grid: int = 1000, sigma=None,
    batch_size=None,
):
    r"""Smoothed Hessian eigenvalue density by stochastic Lanczos quadrature.

    Args:
      key: PRNG key for the Rademacher probes.
      loss: ``loss(params) -> scalar`` over any pytree.
      params: the point where the Hessian is taken.
      n_probes: independent probes (each one Lanczos run); their spread is
        the Monte Carlo error of the density and of its moments.
      n_iter: Lanczos steps (HVPs) per probe, ``1 <= n_iter <= n``; capped at ``n``.
      grid: 1D array of points where the density is evaluated; default
        ``n_grid`` points from 6 sigma below the smallest node to 6 sigma above the largest.
      sigma: Gaussian broadening; default 1% of the node range
        (``max - min``), or 1e-3 if all nodes coincide.
      batch_size: probes run at once (``None``: all, vmapped).

    Returns:
      :class:`SpectralDensity` ``(grid, density, nodes, weights, sigma)``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxstat as js
      >>> loss = lambda p: 0.5 * jnp.sum(jnp.linspace(-1.0, 2.0, 10) * p ** 2)
      >>> r = js.landscape.spectral_density(jax.random.key(0), loss, jnp.zeros(10), n_probes=4, n_iter=10)
      >>> r.density.shape, r.nodes.shape
      ((1000,), (4, 10))
      >>> round(float(jnp.trapezoid(r.density, r.grid)), 4)
      1.0
    """
    check_key(key)
    check_params(params)
    check_loss(jit_loss(loss), params)
    n_probes = check_positive_int(n_probes, "n_probes")
    n_iter = min(check_positive_int(n_iter, "n_iter"), n_params(params))
    n_grid = check_positive_int(n_grid, "n_grid", minimum=2)
    if sigma is not None:
        sigma = check_positive_float(sigma, "sigma")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if grid is not None:
        grid = jnp.asarray(grid)
        if grid.ndim != 1 or grid.shape[0] < 2:
            raise ValueError(f"grid must be a 1D array of at least 2 points; got shape {grid.shape}")
        check_finite(grid, "grid")
    return _density_run(StaticFn(loss), params, key, grid, n_probes, n_iter, n_grid, sigma, batch_size)


@functools.partial(jax.jit, static_argnames=("loss", "n_probes", "n_iter", "n_grid", "sigma", "batch_size"))
def _density_run(loss, params, key, grid, n_probes, n_iter, n_grid, sigma, batch_size):
    # Module-level and keyed on the loss, so repeated calls reuse one compiled program.
    x0, _, loss_flat = flat_problem(loss, params)
    matvec = hvp_flat(loss_flat, x0)
    probes = stochtrace.sampler_signs(x0, num=n_probes)(key)
    nodes, weights = slq_nodes_weights(matvec, probes, n_iter, batch_size)
    lo, hi = jnp.min(nodes), jnp.max(nodes)
    width = hi - lo
    s = jnp.where(width > 0, 0.01 * width, 1e-3) if sigma is None else jnp.asarray(sigma, x0.dtype)
    if grid is None:
        grid = jnp.linspace(lo - 6 * s, hi + 6 * s, n_grid)
    grid = grid.astype(x0.dtype)
    return SpectralDensity(grid, broadened_density(grid, nodes, weights, s), nodes, weights, s)
