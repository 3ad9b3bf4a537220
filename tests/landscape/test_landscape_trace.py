"""Trace estimators against tr(A) of a rotated quadratic with a known spectrum.

Tolerances are the estimators' own error bars (3 standard errors); the
standard error itself is checked against the exact Hutchinson variance
2 (||A||_F^2 - sum_i A_ii^2), which a rotated A makes nonzero.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_landscape_curvature import SPECTRUM, nested_params, quadratic_problem

import jaxstat as js

N = len(SPECTRUM)
TRACE = SPECTRUM.sum()


def test_hutchinson_within_four_stderr_and_stderr_is_right():
    with jax.enable_x64(True):
        loss, params, A, _ = quadratic_problem()
        n_samples = 400
        est, err = js.landscape.hessian_trace(jax.random.key(0), loss, params, n_samples)
        # mean of 400 i.i.d. quadratic forms: (est - tr) / err is t-distributed with 399 degrees of
        # freedom, close to normal; P(|t| > 4) = 6e-5 (the false-failure probability).
        assert abs(float(est) - TRACE) < 4 * float(err)
        exact_sd = np.sqrt(2 * (np.sum(A**2) - np.sum(np.diag(A) ** 2)) / n_samples)
        # the sample std of 400 draws is within ~5% (1 sigma) of the truth; 25% is 5 sigma
        # (false failure about 6e-7 in the normal approximation)
        assert 0.75 < float(err) / exact_sd < 1.25


def test_hutch_plus_plus_within_its_error_bar():
    with jax.enable_x64(True):
        loss, params, _, _ = quadratic_problem()
        est, err = js.landscape.hessian_trace(jax.random.key(1), loss, params, 30, "hutch++", batch_size=8)
        assert float(err) > 0
        # 30 HVPs: 10 sketch, 10 for Q^T H Q, 10 deflated probes, so the error bar is a sample standard
        # error of 10 values: (est - tr) / err ~ Student t with 9 degrees of freedom (given the sketch),
        # and P(|t_9| > 6.1) < 1e-4 is the false-failure probability.
        assert abs(float(est) - TRACE) < 6.1 * float(err)


def test_hutch_plus_plus_is_exact_when_the_sketch_spans_everything():
    with jax.enable_x64(True):
        loss, params, _, _ = quadratic_problem()
        est, err = js.landscape.hessian_trace(jax.random.key(2), loss, params, 3 * N + 2, "hutch++")
        np.testing.assert_allclose(est, TRACE, rtol=1e-10)
        assert float(err) < 1e-10


@pytest.mark.parametrize("method", ["jvp", "finite_difference"])
def test_random_projection_curvature_is_normalized_trace(method):
    with jax.enable_x64(True):
        loss, params, A, _ = quadratic_problem()
        r = js.landscape.random_projection_curvature(jax.random.key(3), loss, params, 400, method)
        assert r.curvatures.shape == (400,)
        # mean of 400 i.i.d. curvatures: t with 399 dof, P(|t| > 4) = 6e-5 (false failure)
        assert abs(float(r.mean) - TRACE / N) < 4 * float(r.stderr)
        # each sample is d^T A d for a unit d: inside the spectrum
        assert np.all((np.asarray(r.curvatures) >= SPECTRUM[0] - 1e-6) & (np.asarray(r.curvatures) <= SPECTRUM[-1] + 1e-6))


def test_finite_difference_and_jvp_agree_per_direction():
    with jax.enable_x64(True):
        loss, params, _, _ = quadratic_problem()
        a = js.landscape.random_projection_curvature(jax.random.key(4), loss, params, 8, "jvp")
        b = js.landscape.random_projection_curvature(jax.random.key(4), loss, params, 8, "finite_difference")
        np.testing.assert_allclose(a.curvatures, b.curvatures, rtol=1e-5, atol=1e-5)


def test_trace_bad_input():
    loss, params, _, _ = quadratic_problem(dtype=jnp.float32)
    with pytest.raises(ValueError, match="method must be one of"):
        js.landscape.hessian_trace(jax.random.key(0), loss, params, 10, "xtrace")
    with pytest.raises(ValueError, match="n_samples must be an integer >= 4"):
        js.landscape.hessian_trace(jax.random.key(0), loss, params, 3, "hutch++")
    with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
        js.landscape.hessian_trace(0, loss, params, 10)
    with pytest.raises(ValueError, match=r"loss\(params\) must be finite"):
        js.landscape.random_projection_curvature(jax.random.key(0), lambda p: jnp.log(-jnp.sum(p["a"] ** 2)), params, 10)
    with pytest.raises(ValueError, match="step must be a positive"):
        js.landscape.random_projection_curvature(jax.random.key(0), loss, nested_params(jnp.float32), 10,
                                                 "finite_difference", step=0.0)


def test_the_key_comes_first_everywhere():
    """Old argument order (loss first) gets an error that says where the key goes."""
    loss = lambda p: jnp.sum(p["x"] ** 2)
    params = {"x": jnp.ones(3)}
    calls = [js.landscape.hessian_eigs, js.landscape.hessian_trace, js.landscape.spectral_density,
             js.landscape.random_projection_curvature, js.landscape.hessian_directions, js.landscape.sharpness]
    for f in calls:
        with pytest.raises(ValueError, match="takes the key first"):
            f(loss, params, jax.random.key(0))
    with pytest.raises(ValueError, match="takes the key first"):
        js.landscape.epsilon_sharpness(loss, params, 0.1, jax.random.key(0))
    with pytest.raises(ValueError, match=r"key must be a JAX PRNG key.*uint32"):
        js.landscape.hessian_trace(jnp.zeros(3, jnp.uint32), loss, params)  # not a (2,) raw key
