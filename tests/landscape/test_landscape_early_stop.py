"""hessian_eigs stops when the wanted pairs are accurate (tol), not after a fixed Krylov dimension."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat.landscape import curvature
from jaxstat.landscape._compile import StaticFn
from test_landscape_curvature import mlp_problem


def steps_taken(loss, params, k, which, tol, n_iter=64):  # 64: the default cap here, one compiled program
    *_, m = curvature._eigs_run(StaticFn(loss), params, jax.random.key(1), jnp.asarray(tol, jnp.float64), k, which,
                                n_iter)
    return int(m)


@pytest.fixture(scope="module")
def exact_spectrum():
    with jax.enable_x64(True):
        loss, params = mlp_problem()  # 191 parameters
        return np.linalg.eigvalsh(np.asarray(js.landscape.hessian(loss, params)))


@pytest.mark.parametrize("which", ["largest", "both"])
def test_default_tol_meets_its_promise_against_eigh(which, exact_spectrum):
    exact = exact_spectrum
    with jax.enable_x64(True):
        loss, params = mlp_problem()
        k = 3
        r = js.landscape.hessian_eigs(jax.random.key(1), loss, params, k, which)
        vals, res = np.asarray(r.eigenvalues), np.asarray(r.residuals)
        top = exact[::-1][:k]
        if which == "largest":
            expected = top
        else:
            expected = np.concatenate([top, exact[:k]])
        floor = 16 * np.finfo(np.float64).eps * np.max(np.abs(vals))
        # the measured residuals meet the stopping test (the estimate is exact up to round-off)
        assert np.all(res <= 1.001e-4 * np.maximum(np.abs(vals), floor) + 1e-12)
        # ... and the eigenvalues are at least that accurate, against eigh
        assert np.all(np.abs(vals - expected) <= 1e-4 * np.abs(expected))
        # it stopped early: the fixed default used to be 64 steps
        m = steps_taken(loss, params, k, which, 1e-4)
        assert m < 64, m


def test_tighter_tol_takes_more_steps_and_zero_runs_all():
    with jax.enable_x64(True):
        loss, params = mlp_problem()
        m = [steps_taken(loss, params, 2, "largest", tol) for tol in (1e-2, 1e-4, 1e-8, 0.0)]
        assert m[0] <= m[1] <= m[2] < m[3] == 64, m


@pytest.mark.parametrize("tol", [-1e-3, float("nan"), float("inf"), "small", True])
def test_bad_tol(tol):
    loss, params = mlp_problem(jnp.float32)
    with pytest.raises(ValueError, match="tol must be a"):
        js.landscape.hessian_eigs(jax.random.key(0), loss, params, 1, tol=tol)


def test_trace_rtol_stops_at_its_target_and_is_right(exact_spectrum):
    with jax.enable_x64(True):
        loss, params = mlp_problem()
        exact = float(np.sum(exact_spectrum))
        z = []
        for seed in range(3):
            est, err = js.landscape.hessian_trace(jax.random.key(seed), loss, params, 10_000, rtol=0.02)
            assert float(err) <= 0.02 * abs(float(est))  # stopped at the target, far below the cap
            z.append((float(est) - exact) / float(err))
        # three independent estimates, each within 4 sigma (P(fail) ~ 2e-4 if the error bars are right)
        assert np.all(np.abs(z) < 4), z
        # the cap is respected: 20 probes cannot reach 1e-6
        est, err = js.landscape.hessian_trace(jax.random.key(0), loss, params, 20, rtol=1e-6)
        assert float(err) > 1e-6 * abs(float(est))


def test_trace_rtol_bad_input():
    loss, params = mlp_problem(jnp.float32)
    with pytest.raises(ValueError, match="rtol must be a positive"):
        js.landscape.hessian_trace(jax.random.key(0), loss, params, rtol=0.0)
    with pytest.raises(ValueError, match="rtol needs method='hutchinson'"):
        js.landscape.hessian_trace(jax.random.key(0), loss, params, method="hutch++", rtol=0.1)
