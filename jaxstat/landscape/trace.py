r"""Hessian trace estimates with error bars, with and without Hessian-vector products.

- Hutchinson: :math:`\operatorname{tr} H = \mathbb{E}[v^\top H v]` for
  Rademacher :math:`v`; the estimate is the mean of ``n_samples`` quadratic
  forms and its standard error the sample standard deviation over
  :math:`\sqrt{N}`. The variance is
  :math:`2(\|H\|_F^2 - \sum_i H_{ii}^2)`, zero for a diagonal Hessian.
- Hutch++ (Meyer, Musco, Musco, Woodruff 2021): a third of the budget sketches
  the range :math:`Q` of :math:`H S`, :math:`\operatorname{tr}(Q^\top H Q)` is
  computed exactly, and Hutchinson runs on the deflated
  :math:`(I - QQ^\top) H (I - QQ^\top)` with the remaining probes. Given
  :math:`Q` the estimate is unbiased and its only randomness is the deflated
  Hutchinson mean, so the reported standard error is that mean's sample
  standard error: an honest error bar conditional on the sketch.
- Random-projection curvature (Böttcher and Wheeler): for :math:`d` uniform on
  the unit sphere, :math:`\mathbb{E}[d^\top H d] = \operatorname{tr} H / n`. The
  second directional derivative :math:`\partial_t^2 L(x + t d)|_{t=0}` is
  computed forward-over-forward (two nested ``jax.jvp``; no reverse pass and
  no HVP) or by central finite differences of the loss, so the curvature a
  random 1D or 2D slice shows can be set against the normalised trace.

matfree supplies the probe samplers (``stochtrace.sampler_signs``,
``sampler_sphere``) and the Hutchinson integrand
(``stochtrace.monte_carlo_trace``). The averaging is done here because
matfree's ``estimator_monte_carlo_mean_and_sem`` uses the biased (ddof=0)
standard deviation, and because Hutch++ with a conditional error bar is not in
matfree (its XTrace estimator's leave-one-out spread is not a standard error).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from matfree import stochtrace

from jaxstat._validate import check_key, check_positive_int, float_dtype
from jaxstat.landscape._checks import (
    check_choice,
    check_loss,
    check_params,
    check_positive_float,
    flat_problem,
    hvp_flat,
)
from jaxstat.landscape._compile import StaticFn, jit_loss

__all__ = ["TraceEstimate", "ProjectionCurvature", "hessian_trace", "random_projection_curvature"]


class TraceEstimate(NamedTuple):
    """``estimate`` of tr(H) and its one-sigma ``stderr``."""

    estimate: jax.Array
    stderr: jax.Array


class ProjectionCurvature(NamedTuple):
    """Curvatures ``d^T H d`` along random unit directions.

    ``mean`` estimates tr(H)/n with standard error ``stderr``;
    ``curvatures`` has shape ``(n_samples,)``.
    """

    mean: jax.Array
    stderr: jax.Array
    curvatures: jax.Array


def _mean_and_stderr(x):
    return jnp.mean(x), jnp.std(x, ddof=1) / jnp.sqrt(x.shape[0])


def _apply_all(f, vecs, batch_size):
    # lax.map with batch_size bounds memory to batch_size HVPs at a time on big models.
    return jax.lax.map(f, vecs, batch_size=batch_size)


def hessian_trace(key, loss, params, n_samples: int = 100, method: str = "hutchinson", *, batch_size=None,
                  rtol=None):
    r"""Stochastic estimate of :math:`\operatorname{tr} H` with a standard error.

    Args:
      key: PRNG key for the Rademacher probes.
      loss: ``loss(params) -> scalar`` over any pytree.
      params: the point where the Hessian is taken.
      n_samples: Hessian-vector products spent (>= 2; >= 4 for Hutch++).
      method: ``"hutchinson"`` or ``"hutch++"`` (see the module docstring for
        what the error bar means in each).
      batch_size: HVPs evaluated at once (``None``: all, vmapped; with
        ``rtol``, 10 at a time).
      rtol: optional target relative standard error (Hutchinson only): probes
        are drawn ``batch_size`` at a time until ``stderr <= rtol |estimate|``
        (at least 10 probes, so that the standard error is itself
        estimated), with ``n_samples`` as the cap. A stopping rule that
        looks at the data biases the estimate by a fraction of its standard
        error at most; at the default (``None``) exactly ``n_samples``
        probes are used.

    Returns:
      :class:`TraceEstimate` ``(estimate, stderr)``, scalars.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxstat as js
      >>> A = jnp.array([[2.0, 1.0], [1.0, 3.0]])
      >>> loss = lambda p: 0.5 * p["x"] @ A @ p["x"]
      >>> est, err = js.landscape.hessian_trace(jax.random.key(0), loss, {"x": jnp.zeros(2)}, 50)
      >>> bool(abs(est - 5.0) < 4 * err + 1e-6)
      True
    """
    check_key(key)
    check_params(params)
    check_loss(jit_loss(loss), params)
    check_choice(method, "method", ("hutchinson", "hutch++"))
    n_samples = check_positive_int(n_samples, "n_samples", minimum=4 if method == "hutch++" else 2)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if rtol is not None:
        if method != "hutchinson":
            raise ValueError(f"rtol needs method='hutchinson' (probes drawn until the target); got method={method!r}")
        rtol = check_positive_float(rtol, "rtol")
        est, err = _trace_until(StaticFn(loss), params, key, jnp.asarray(rtol, float_dtype()), n_samples,
                                batch_size or _PROBE_BLOCK)
        return TraceEstimate(est, err)
    est, err = _trace_run(StaticFn(loss), params, key, n_samples, method, batch_size)
    return TraceEstimate(est, err)


_PROBE_BLOCK = 10  # probes per round of the rtol loop, and the fewest it stops at


@functools.partial(jax.jit, static_argnames=("loss", "n_samples", "block"))
def _trace_until(loss, params, key, rtol, n_samples, block):
    # Rounds of `block` Rademacher probes (round r from fold_in(key, r)), Welford moments,
    # until the standard error meets rtol or n_samples probes (rounded up to whole rounds).
    x0, _, loss_flat = flat_problem(loss, params)
    matvec = hvp_flat(loss_flat, x0)
    integrand = stochtrace.monte_carlo_trace()
    n_rounds = -(-n_samples // block)
    dtype = x0.dtype

    def stderr(count, m2):
        return jnp.sqrt(m2 / (count - 1) / count)

    def cond(carry):
        r, count, mean, m2 = carry
        enough = (count >= max(2, min(block, n_samples))) & (stderr(count, m2) <= rtol * jnp.abs(mean))
        return (r < n_rounds) & ~enough

    def body(carry):
        r, count, mean, m2 = carry
        probes = stochtrace.sampler_signs(x0, num=block)(jax.random.fold_in(key, r))
        values = jax.vmap(lambda v: integrand(matvec, v))(probes).astype(dtype)
        # Chan et al.'s pairwise update of (count, mean, M2) by a block
        b_mean = jnp.mean(values)
        b_m2 = jnp.sum((values - b_mean) ** 2)
        total = count + block
        delta = b_mean - mean
        return r + 1, total, mean + delta * block / total, m2 + b_m2 + delta**2 * count * block / total

    zero = jnp.zeros((), dtype)
    _, count, mean, m2 = jax.lax.while_loop(cond, body, (0, zero, zero, zero))
    return mean, stderr(count, m2)


@functools.partial(jax.jit, static_argnames=("loss", "n_samples", "method", "batch_size"))
def _trace_run(loss, params, key, n_samples, method, batch_size):
    # Module-level and keyed on the loss, so repeated calls reuse one compiled program.
    x0, _, loss_flat = flat_problem(loss, params)
    matvec = hvp_flat(loss_flat, x0)
    if method == "hutchinson":
        integrand = stochtrace.monte_carlo_trace()  # v -> v . (H v)
        probes = stochtrace.sampler_signs(x0, num=n_samples)(key)
        values = _apply_all(lambda v: integrand(matvec, v), probes, batch_size)
        return _mean_and_stderr(values)

    n_sketch = min(n_samples // 3, x0.shape[0])
    n_probe = n_samples - 2 * n_sketch
    k_sketch, k_probe = jax.random.split(key)
    S = stochtrace.sampler_signs(x0, num=n_sketch)(k_sketch)
    Q, _ = jnp.linalg.qr(_apply_all(matvec, S, batch_size).T)  # (n, n_sketch)
    HQ = _apply_all(matvec, Q.T, batch_size)  # (n_sketch, n)
    low_rank = jnp.sum(Q.T * HQ)
    G = stochtrace.sampler_signs(x0, num=n_probe)(k_probe)
    PG = G - (G @ Q) @ Q.T

    def deflated(g):
        hg = matvec(g)
        return g @ (hg - Q @ (Q.T @ hg))

    mean, err = _mean_and_stderr(_apply_all(deflated, PG, batch_size))
    return low_rank + mean, err


def random_projection_curvature(
    key, loss, params, n_samples: int = 100, method: str = "jvp", *, step=None, batch_size=None
):
    r"""Curvature of the loss along random unit directions, an HVP-free trace estimate.

    For :math:`d` uniform on the unit sphere in :math:`\mathbb{R}^n`,
    :math:`c(d) = \partial_t^2 L(x + t d)|_{t=0} = d^\top H d` and
    :math:`\mathbb{E}[c] = \operatorname{tr} H / n` (Böttcher and Wheeler:
    the expected curvature of a random projection is the normalised trace, so
    random slices rarely show a saddle as a saddle). Each :math:`c(d)` costs
    two forward passes: nested ``jax.jvp`` (``method="jvp"``) or the central
    difference :math:`(L(x+hd) - 2L(x) + L(x-hd))/h^2`
    (``method="finite_difference"``; ``step`` h defaults to 1e-2 in float32
    and 1e-4 in float64, trading truncation :math:`O(h^2)` against rounding
    :math:`O(\epsilon |L| / h^2)`).

    Returns:
      :class:`ProjectionCurvature` ``(mean, stderr, curvatures (n_samples,))``;
      ``mean`` estimates tr(H)/n, ``n * mean`` estimates tr(H).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxstat as js
      >>> loss = lambda p: 0.5 * jnp.sum(jnp.array([1.0, 2.0, 3.0]) * p ** 2)
      >>> r = js.landscape.random_projection_curvature(jax.random.key(0), loss, jnp.zeros(3), 400)
      >>> bool(abs(r.mean - 2.0) < 4 * r.stderr)
      True
    """
    check_key(key)
    check_params(params)
    check_loss(jit_loss(loss), params)
    check_choice(method, "method", ("jvp", "finite_difference"))
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    x0, _, loss_flat = flat_problem(loss, params)
    if step is None:
        step = 1e-2 if x0.dtype == jnp.float32 else 1e-4
    step = check_positive_float(step, "step")
    n = x0.shape[0]

    @jax.jit
    def run(x0, key):
        # sampler_sphere scales to norm sqrt(n) (identity covariance); we want unit norm
        dirs = stochtrace.sampler_sphere(x0, num=n_samples)(key) / jnp.sqrt(jnp.asarray(n, x0.dtype))

        def along(d):
            return lambda t: loss_flat(x0 + t * d)

        def curvature_jvp(d):
            f = along(d)
            one = jnp.ones((), x0.dtype)
            df = lambda t: jax.jvp(f, (t,), (one,))[1]
            return jax.jvp(df, (jnp.zeros((), x0.dtype),), (one,))[1]

        def curvature_fd(d):
            f = along(d)
            h = jnp.asarray(step, x0.dtype)
            return (f(h) - 2 * f(jnp.zeros_like(h)) + f(-h)) / h**2

        curv = curvature_jvp if method == "jvp" else curvature_fd
        values = _apply_all(curv, dirs, batch_size)
        mean, err = _mean_and_stderr(values)
        return mean, err, values

    return ProjectionCurvature(*run(x0, key))
