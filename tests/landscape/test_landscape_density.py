"""Stochastic Lanczos quadrature against the known spectrum of a rotated quadratic.

With n_iter = 8 < n = 21 the quadrature is genuinely approximate, but exact
for moments of degree < 16, so the probe-averaged moments are unbiased for
tr(A^p)/n and are checked within 3 of their standard errors (the spread over
independent probes). The broadened density's moments follow exactly from
the quadrature's: integral 1, mean m1, second moment m2 + sigma^2.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_landscape_curvature import SPECTRUM, mlp_problem, quadratic_problem

import jaxstat as js


def test_quadrature_moments_match_the_spectrum():
    with jax.enable_x64(True):
        loss, params, _, _ = quadratic_problem()
        n_probes = 60
        r = js.landscape.spectral_density(jax.random.key(0), loss, params, n_probes=n_probes, n_iter=8)
        nodes, weights = np.asarray(r.nodes), np.asarray(r.weights)
        assert nodes.shape == weights.shape == (n_probes, 8)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
        for p in (1, 2, 3):
            per_probe = np.sum(weights * nodes**p, axis=1)
            mean, err = per_probe.mean(), per_probe.std(ddof=1) / np.sqrt(n_probes)
            # the moments are unbiased (Gauss quadrature is exact for degree < 16); the mean of 60
            # i.i.d. probes over its standard error is t with 59 dof: P(|t_59| > 4.6) = 2e-5 per
            # moment, 7e-5 for the three (the false-failure probability).
            assert abs(mean - np.mean(SPECTRUM**p)) < 4.6 * err, (p, mean, err)
        # nodes are Ritz values: inside the spectrum
        assert nodes.min() >= SPECTRUM[0] - 1e-9 and nodes.max() <= SPECTRUM[-1] + 1e-9


def test_density_integrates_to_one_with_the_quadrature_moments():
    with jax.enable_x64(True):
        loss, params, _, _ = quadratic_problem()
        r = js.landscape.spectral_density(jax.random.key(1), loss, params, n_probes=5, n_iter=8, n_grid=4000)
        g, d, s = np.asarray(r.grid), np.asarray(r.density), float(r.sigma)
        assert np.all(d >= 0)
        np.testing.assert_allclose(np.trapezoid(d, g), 1.0, atol=1e-6)
        m1 = np.mean(np.sum(r.weights * r.nodes, axis=1))
        m2 = np.mean(np.sum(r.weights * r.nodes**2, axis=1))
        np.testing.assert_allclose(np.trapezoid(g * d, g), m1, atol=1e-5)
        np.testing.assert_allclose(np.trapezoid(g**2 * d, g), m2 + s**2, atol=1e-4)


def test_full_krylov_density_on_mlp_matches_eigh():
    # n_iter = n: every probe's quadrature is exact, so the nodes are the
    # eigenvalues of the dense Hessian (those the probe sees)
    with jax.enable_x64(True):
        loss, params = mlp_problem()
        exact = np.linalg.eigvalsh(np.asarray(js.landscape.hessian(loss, params)))
        n = exact.size
        r = js.landscape.spectral_density(jax.random.key(2), loss, params, n_probes=1, n_iter=n, sigma=0.01)
        np.testing.assert_allclose(np.sort(np.asarray(r.nodes[0])), exact, atol=1e-8)


def test_density_bad_input():
    loss, params, _, _ = quadratic_problem(dtype=jnp.float32)
    with pytest.raises(ValueError, match="grid must be a 1D array"):
        js.landscape.spectral_density(jax.random.key(0), loss, params, grid=jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="sigma must be a positive"):
        js.landscape.spectral_density(jax.random.key(0), loss, params, sigma=-1.0)
    with pytest.raises(ValueError, match="n_probes must be an integer >= 1"):
        js.landscape.spectral_density(jax.random.key(0), loss, params, n_probes=0)
