"""Sharpness measures on quadratics where every answer is exact.

At a critical point of 1/2 (x - x*)^T A (x - x*) the largest increase in the
epsilon-ball is epsilon^2 lambda_max / 2; with a gradient at the centre it is
the trust-region value, computed here by solving the secular equation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from scipy.optimize import brentq
from test_landscape_curvature import SPECTRUM, nested_params, quadratic_problem

import jaxstat as js


def centred_quadratic():
    """The rotated quadratic moved so that params is its critical point."""
    loss0, params, A, _ = quadratic_problem()
    x_star = ravel_pytree(params)[0]
    A_j = jnp.asarray(A)

    def loss(p):
        x = ravel_pytree(p)[0] - x_star
        return 0.5 * x @ (A_j @ x)

    return loss, params, A


def test_epsilon_sharpness_at_a_critical_point():
    with jax.enable_x64(True):
        loss, params, _ = centred_quadratic()
        eps = 0.1
        r = js.landscape.epsilon_sharpness(jax.random.key(0), loss, params, eps, n_steps=200)
        np.testing.assert_allclose(r.value, 0.5 * eps**2 * SPECTRUM[-1], rtol=1e-4)
        norm = float(jnp.linalg.norm(ravel_pytree(r.delta)[0]))
        assert norm <= eps * (1 + 1e-12)


def test_epsilon_sharpness_with_a_gradient_is_the_trust_region_value():
    with jax.enable_x64(True):
        loss, params, A, _ = quadratic_problem()
        g = np.asarray(ravel_pytree(jax.grad(loss)(params))[0])
        eps = 0.3
        # max g.d + 1/2 d^T A d on ||d|| = eps: d = (mu I - A)^{-1} g with mu > lambda_max
        lam, U = np.linalg.eigh(A)
        gu = U.T @ g
        norm = lambda mu: np.linalg.norm(gu / (mu - lam)) - eps
        mu = brentq(norm, lam[-1] + 1e-12, lam[-1] + np.linalg.norm(g) / eps + 1.0)
        d = U @ (gu / (mu - lam))
        exact = g @ d + 0.5 * d @ A @ d
        r = js.landscape.epsilon_sharpness(jax.random.key(1), loss, params, eps, n_steps=200)
        assert float(r.value) <= exact + 1e-9  # never above the true maximum
        np.testing.assert_allclose(r.value, exact, rtol=1e-4)


def test_sharpness_bundle():
    with jax.enable_x64(True):
        loss, params, _ = centred_quadratic()
        s = js.landscape.sharpness(jax.random.key(2), loss, params, epsilon=0.1, n_samples=200, n_steps=200)
        np.testing.assert_allclose(s.lambda_max, SPECTRUM[-1], rtol=1e-4)
        # hessian_eigs stops at its default tol: residual <= 1e-4 |lambda| (eigenvalue error ~ residual^2 / gap)
        assert float(s.lambda_max_residual) <= 1e-4 * SPECTRUM[-1]
        # Hutchinson with 200 probes: t with 199 dof, P(|t| > 4) = 9e-5 (the false-failure probability)
        assert abs(float(s.trace) - SPECTRUM.sum()) < 4 * float(s.trace_stderr)
        np.testing.assert_allclose(s.epsilon_sharpness, 0.5 * 0.1**2 * SPECTRUM[-1], rtol=1e-4)


def test_sharpness_bad_input():
    loss, params, _, _ = quadratic_problem(dtype=jnp.float32)
    with pytest.raises(ValueError, match="epsilon must be a positive"):
        js.landscape.epsilon_sharpness(jax.random.key(0), loss, params, 0.0)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        js.landscape.epsilon_sharpness(jax.random.key(0), loss, nested_params(jnp.float32), 0.1, n_steps=0)
