r"""Sharpness of a minimum: :math:`\lambda_{max}`, the trace, and epsilon-sharpness.

Epsilon-sharpness is the largest loss increase within an L2 ball,

.. math:: S_\epsilon(x) = \max_{\|\delta\| \le \epsilon} L(x + \delta) - L(x),

found by projected normalised gradient ascent:
:math:`\delta \leftarrow \Pi_\epsilon(\delta + \eta\, \nabla L(x+\delta)/\|\nabla L(x+\delta)\|)`
from a random point on the sphere (the gradient vanishes at a minimum, so it
cannot give the first direction). Ascent finds a local maximiser; the best
increase seen is returned, a lower bound on :math:`S_\epsilon`. For a
quadratic at a critical point :math:`S_\epsilon = \epsilon^2 \lambda_{max}/2`
when :math:`\lambda_{max} > 0` (the ascent is then a power iteration).
This is the L2-ball variant of Keskar et al. (2017); their box-constrained,
parameter-relative version differs by the choice of ball.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxstat._validate import check_key, check_positive_int
from jaxstat.landscape._checks import check_loss, check_params, check_positive_float, flat_problem
from jaxstat.landscape.curvature import hessian_eigs
from jaxstat.landscape.trace import hessian_trace

__all__ = ["EpsilonSharpness", "Sharpness", "epsilon_sharpness", "sharpness"]


class EpsilonSharpness(NamedTuple):
    """``value``: best loss increase found; ``delta``: its perturbation (pytree like params)."""

    value: jax.Array
    delta: object


class Sharpness(NamedTuple):
    """The three sharpness measures with their error bars."""

    lambda_max: jax.Array
    lambda_max_residual: jax.Array
    trace: jax.Array
    trace_stderr: jax.Array
    epsilon_sharpness: jax.Array


def epsilon_sharpness(key, loss, params, epsilon: float, n_steps: int = 50, step_size=None):
    r"""Largest loss increase in the ``epsilon``-ball around ``params`` (projected ascent).

    Args:
      key: PRNG key for the starting point on the sphere.
      loss: ``loss(params) -> scalar`` over any pytree.
      params: centre of the ball.
      epsilon: L2 radius over all parameters together.
      n_steps: ascent steps (one gradient each).
      step_size: length of each normalised step; default ``epsilon``.

    Returns:
      :class:`EpsilonSharpness` ``(value, delta)``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxstat as js
      >>> loss = lambda p: 0.5 * jnp.sum(jnp.array([4.0, 1.0, -2.0]) * p ** 2)
      >>> r = js.landscape.epsilon_sharpness(jax.random.key(0), loss, jnp.zeros(3), 0.1)
      >>> round(float(r.value), 4)  # eps^2 lambda_max / 2
      0.02
    """
    check_key(key)
    check_params(params)
    check_loss(loss, params)
    epsilon = check_positive_float(epsilon, "epsilon")
    n_steps = check_positive_int(n_steps, "n_steps")
    step_size = epsilon if step_size is None else check_positive_float(step_size, "step_size")
    x0, unravel, loss_flat = flat_problem(loss, params)

    @jax.jit
    def run(x0, key):
        eps = jnp.asarray(epsilon, x0.dtype)
        eta = jnp.asarray(step_size, x0.dtype)
        base = loss_flat(x0)
        tiny = jnp.finfo(x0.dtype).tiny

        def project(d):
            return d * jnp.minimum(1.0, eps / jnp.maximum(jnp.linalg.norm(d), tiny))

        def step(carry, _):
            d, best, best_d = carry
            value, g = jax.value_and_grad(loss_flat)(x0 + d)
            better = value - base > best
            best = jnp.where(better, value - base, best)
            best_d = jnp.where(better, d, best_d)
            d = project(d + eta * g / jnp.maximum(jnp.linalg.norm(g), tiny))
            return (d, best, best_d), None

        d0 = jax.random.normal(key, x0.shape, x0.dtype)
        d0 = eps * d0 / jnp.linalg.norm(d0)
        init = (d0, jnp.asarray(-jnp.inf, x0.dtype), d0)
        (d, best, best_d), _ = jax.lax.scan(step, init, None, length=n_steps)
        last = loss_flat(x0 + d) - base  # the final iterate is not scored inside the loop
        return jnp.where(last > best, last, best), jnp.where(last > best, d, best_d)

    value, delta = run(x0, key)
    return EpsilonSharpness(value, unravel(delta))


def sharpness(key, loss, params, *, epsilon: float = 1e-2, n_iter=None, n_samples: int = 100, n_steps: int = 50):
    r""":math:`\lambda_{max}` (Lanczos), tr(H) (Hutchinson) and epsilon-sharpness at ``params``.

    Returns:
      :class:`Sharpness` ``(lambda_max, lambda_max_residual, trace,
      trace_stderr, epsilon_sharpness)``; the residual bounds the error of
      :math:`\lambda_{max}`, the standard error that of the trace.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxstat as js
      >>> loss = lambda p: 0.5 * jnp.sum(jnp.array([4.0, 1.0, -2.0]) * p ** 2)
      >>> s = js.landscape.sharpness(jax.random.key(0), loss, jnp.zeros(3), epsilon=0.1)
      >>> round(float(s.lambda_max), 4), round(float(s.epsilon_sharpness), 4)
      (4.0, 0.02)
    """
    check_key(key)
    # the cheap checks first, so a bad epsilon is refused before two Krylov runs
    check_positive_float(epsilon, "epsilon")
    check_positive_int(n_samples, "n_samples", minimum=2)
    check_positive_int(n_steps, "n_steps")
    k_eig, k_trace, k_eps = jax.random.split(key, 3)
    eigs = hessian_eigs(k_eig, loss, params, 1, "largest", n_iter=n_iter)
    trace = hessian_trace(k_trace, loss, params, n_samples)
    eps = epsilon_sharpness(k_eps, loss, params, epsilon, n_steps)
    return Sharpness(eigs.eigenvalues[0], eigs.residuals[0], trace.estimate, trace.stderr, eps.value)
