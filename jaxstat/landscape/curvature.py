r"""Hessian-vector products, dense Hessians and extreme Hessian eigenpairs.

Every function takes ``loss(params) -> scalar`` over an arbitrary pytree of
parameters (a plain dict of arrays, a Flax NNX state, ...). With
:math:`x` the flattened parameters and :math:`n` their number, the Hessian is
:math:`H_{ij} = \partial^2 L / \partial x_i \partial x_j`.

Krylov machinery. :func:`lanczos_tridiag` is Lanczos with full
reorthogonalisation (two classical Gram-Schmidt passes per step, which
removes the ghost eigenvalues plain Lanczos produces in finite precision),
jit/vmap-compatible, and with *breakdown handling*: when the Krylov space of
the start vector becomes invariant under :math:`H` (it always does after
:math:`d` steps when :math:`H` has only :math:`d` distinct eigenvalues), the
iteration restarts from a fresh vector orthogonal to the basis instead of
normalising round-off. It replaced matfree's ``decomp.tridiag_sym``, which
has no breakdown test: there the round-off left after an invariant subspace
was normalised into the next basis vector, orthogonality was lost, and the
Ritz values came out arbitrarily far outside the spectrum (near
:math:`\pm 2800` for :math:`\mathrm{diag}(-1, 1, \dots, 1)`, a Hessian of norm 1). On top of it :func:`hessian_eigs` adds the
pytree <-> flat plumbing, the selection of the k largest/smallest Ritz pairs,
and a residual norm :math:`\|H y - \theta y\|` computed with one extra
Hessian-vector product per returned pair, so convergence is measured, not
assumed.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxstat._validate import check_key, check_positive_int
from jaxstat.landscape._checks import (
    check_choice,
    check_like,
    check_loss,
    check_params,
    flat_problem,
    hvp_flat,
    n_params,
)
from jaxstat.landscape._compile import StaticFn, jit_loss

__all__ = ["HessianEigs", "hvp", "hessian", "hessian_eigs", "lanczos_tridiag"]


class HessianEigs(NamedTuple):
    """Extreme Hessian eigenpairs from :func:`hessian_eigs`.

    ``eigenvalues`` has shape ``(m,)``; ``eigenvectors`` is a pytree like
    ``params`` whose leaves gain a leading axis of length ``m`` (unit norm over
    all leaves together); ``residuals[i] = ||H v_i - lambda_i v_i||``.
    """

    eigenvalues: jax.Array
    eigenvectors: Any
    residuals: jax.Array


def hvp(loss, params, v):
    r"""Hessian-vector product :math:`H v` at ``params``, as a pytree like ``params``.

    Forward-over-reverse (``jax.jvp`` of ``jax.grad``): one HVP costs about
    two gradients and never forms :math:`H`.

    Args:
      loss: ``loss(params) -> scalar``.
      params: pytree of float arrays, the point where the Hessian is taken.
      v: pytree with the structure and leaf shapes of ``params``.

    Example:
      >>> import jax.numpy as jnp
      >>> import jaxstat as js
      >>> loss = lambda p: 0.5 * jnp.sum(p["w"] ** 2 * jnp.array([1.0, 3.0]))
      >>> js.landscape.hvp(loss, {"w": jnp.zeros(2)}, {"w": jnp.ones(2)})["w"]
      Array([1., 3.], dtype=float32)
    """
    check_params(params)
    check_loss(loss, params)
    v = check_like(v, params, "v")
    return jax.jvp(jax.grad(loss), (params,), (v,))[1]


def hessian(loss, params, max_params: int = 10_000):
    r"""The dense Hessian, an ``(n, n)`` array over the flattened parameters.

    The flattening order is ``jax.flatten_util.ravel_pytree(params)``. Built
    as ``jacfwd(grad)`` (n HVPs in one vmapped call); memory is :math:`n^2`, so
    models with more than ``max_params`` parameters are refused.

    Example:
      >>> import jax.numpy as jnp
      >>> import jaxstat as js
      >>> loss = lambda p: p["a"][0] * p["b"] + p["b"] ** 2
      >>> js.landscape.hessian(loss, {"a": jnp.ones(1), "b": jnp.array(1.0)})
      Array([[0., 1.],
             [1., 2.]], dtype=float32)
    """
    check_params(params)
    check_loss(loss, params)
    max_params = check_positive_int(max_params, "max_params")
    n = n_params(params)
    if n > max_params:
        raise ValueError(
            f"params has {n} parameters, more than max_params={max_params} for a dense Hessian "
            "(n^2 memory); use hessian_eigs/hessian_trace, or raise max_params"
        )
    x0, _, loss_flat = flat_problem(loss, params)
    return jax.jit(jax.jacfwd(jax.grad(loss_flat)))(x0)


def lanczos_tridiag(matvec, v0, n_iter: int, *, key=None):
    r"""Lanczos with full reorthogonalisation and breakdown restarts: ``(Q, T)``.

    ``Q`` is ``(n_iter, n)`` with orthonormal rows and ``T = Q H Q^T`` the
    dense ``(n_iter, n_iter)`` symmetric tridiagonal: diagonal
    :math:`\alpha_j = q_j^\top H q_j`, off-diagonal :math:`\beta_j`, the norm
    of :math:`H q_j` orthogonalised (twice) against :math:`q_0, \dots, q_j`.
    ``v0`` is a 1-D vector of length ``n`` and ``1 <= n_iter <= n``.

    Breakdown. If the Krylov space of ``v0`` is invariant under :math:`H`
    (it is after :math:`d` steps when :math:`H` has :math:`d` distinct
    eigenvalues), the orthogonalised :math:`H q_j` is round-off, and
    normalising it would give a "basis vector" that is not orthogonal to the
    basis, after which ``T`` is no projection of :math:`H` at all. Step
    :math:`j` is a breakdown when

    .. math:: \beta_j \le 2^{-1/2} \|r_j'\| \quad\text{or}\quad
              \beta_j \le 64\,\varepsilon \max_{i \le j} \|H q_i\|,

    with :math:`r_j'` the vector after the first Gram-Schmidt pass and
    :math:`\varepsilon` the dtype's machine epsilon: the second pass removed
    most of it (so it lay numerically in the span of the basis: the
    Kahan-Parlett "twice is enough" test), or it is round-off on the scale of
    :math:`H` seen so far. Then :math:`\beta_j` is set to 0 and
    :math:`q_{j+1}` is a fresh vector orthogonalised (twice) against the
    basis: a Gaussian draw from ``key``, or without ``key`` the coordinate
    axis least represented in the basis (deterministic; its orthogonal part
    has squared norm at least :math:`1 - (j+1)/n`). This is ARPACK's remedy
    (``dsaitr``). ``Q`` stays orthonormal and ``T`` block-diagonal, one
    Lanczos block per Krylov space; every block but the last is the
    projection of :math:`H` on an invariant subspace, so its eigenvalues are
    eigenvalues of :math:`H`, and the iteration goes on to find more in the
    complement. Dropping :math:`\beta_j` perturbs the eigenvalues of ``T`` by
    at most :math:`\beta_j`, which is round-off.
    Gauss quadrature from the first row of the eigenvectors of ``T`` (SLQ)
    is unaffected: the blocks after a restart carry weight zero. Pass
    ``key`` when looking for eigenvalues: random restarts reach every
    eigenspace left over, coordinate axes may be eigenvectors themselves.

    Example: :math:`H = \mathrm{diag}(-1, 1, \dots, 1)` has two distinct
    eigenvalues, so the Krylov space breaks down after two steps; the
    restarts find more of the eigenvalue 1, and every eigenvalue of ``T`` is
    one of :math:`H`:

    >>> import jax.numpy as jnp
    >>> d = jnp.ones(20).at[0].set(-1.0)
    >>> Q, T = lanczos_tridiag(lambda v: d * v, jnp.arange(1.0, 21.0), 5)
    >>> jnp.linalg.eigvalsh(T).round(4).tolist()
    [-1.0, 1.0, 1.0, 1.0, 1.0]
    >>> bool(jnp.allclose(Q @ Q.T, jnp.eye(5), atol=1e-6))
    True
    """
    if not callable(matvec):
        raise ValueError(f"matvec must be a callable v -> H v; got {type(matvec).__name__}")
    if jnp.ndim(v0) != 1 or jnp.shape(v0)[0] == 0:
        raise ValueError(f"v0 must be a non-empty 1-D start vector; got shape {jnp.shape(v0)}")
    n_iter = check_positive_int(n_iter, "n_iter")
    if n_iter > jnp.shape(v0)[0]:
        raise ValueError(f"n_iter must be at most the dimension {jnp.shape(v0)[0]} of v0; got {n_iter}")
    if key is not None:
        check_key(key)
    return _lanczos(matvec, jnp.asarray(v0), n_iter, key)


# Breakdown test of lanczos_tridiag (see its docstring). A second Gram-Schmidt
# pass that keeps less than 1/sqrt(2) of the vector means the vector was
# numerically in the span of the basis (Kahan-Parlett; ARPACK uses 0.717).
_KEEP = 2.0**-0.5
# A coupling below 64 eps ||H|| is round-off (the exact breakdowns measured
# while fixing this left 3-25 eps ||H||); dropping it moves the eigenvalues of
# T by at most that much, below what float32 resolves anyway.
_BREAKDOWN_RTOL = 64


def _lanczos(matvec, v0, n_iter, key):
    n = v0.shape[0]
    dtype = jnp.result_type(v0, float)
    eps = jnp.finfo(dtype).eps

    def orthogonalise(Q, v):
        # One classical Gram-Schmidt pass; rows of Q not filled yet are zero.
        h = Q @ v
        return v - h @ Q, h

    def restart(Q, j):
        if key is None:
            # sum_i ||Q[:, i]||^2 = j + 1, so the least represented axis keeps
            # squared norm >= 1 - (j + 1)/n > 0 after projection.
            g = jnp.zeros(n, dtype).at[jnp.argmin(jnp.sum(Q * Q, axis=0))].set(1)
        else:
            g = jax.random.normal(jax.random.fold_in(key, j), (n,), dtype)
        g = orthogonalise(Q, orthogonalise(Q, g)[0])[0]
        return g / jnp.linalg.norm(g)

    def step(j, carry):
        Q, alphas, betas, q, scale = carry
        Q = Q.at[j].set(q)
        w = jnp.asarray(matvec(q), dtype)
        scale = jnp.maximum(scale, jnp.linalg.norm(w))
        r1, h1 = orthogonalise(Q, w)
        r2, h2 = orthogonalise(Q, r1)
        beta = jnp.linalg.norm(r2)
        broke = (beta <= _KEEP * jnp.linalg.norm(r1)) | (beta <= _BREAKDOWN_RTOL * eps * scale)
        # Without the test, r2 / beta would be normalised round-off: the bug
        # this replaces (see the module docstring). The restart runs only on
        # a breakdown (a real branch unless vmapped) and never at the last step.
        q = jax.lax.cond(broke & (j < n_iter - 1), lambda: restart(Q, j),
                         lambda: r2 / jnp.where(broke, 1, beta).astype(dtype))
        alphas = alphas.at[j].set(h1[j] + h2[j])
        betas = betas.at[j].set(jnp.where(broke, 0, beta).astype(dtype))
        return Q, alphas, betas, q, scale

    init = (jnp.zeros((n_iter, n), dtype), jnp.zeros(n_iter, dtype), jnp.zeros(n_iter, dtype),
            (v0 / jnp.linalg.norm(v0)).astype(dtype), jnp.zeros((), dtype))
    Q, alphas, betas, _, _ = jax.lax.fori_loop(0, n_iter, step, init)
    off = betas[:-1]
    T = jnp.diag(alphas) + jnp.diag(off, 1) + jnp.diag(off, -1)
    return Q, T


def _default_n_iter(n: int, k_total: int) -> int:
    # Extreme eigenvalues of a Hessian converge in a few dozen steps; 64 gets
    # the top few to ~1e-6 on typical spectra, and more is wanted for more pairs.
    return min(n, max(64, 4 * k_total))


def hessian_eigs(key, loss, params, k: int = 1, which: str = "largest", *, n_iter: int | None = None):
    r"""The ``k`` largest and/or smallest Hessian eigenpairs by Lanczos.

    Runs ``n_iter`` steps of Lanczos with full reorthogonalisation from a
    Gaussian start vector drawn with ``key``, takes the Ritz pairs
    :math:`(\theta_i, y_i)` of the tridiagonal :math:`T = Q H Q^\top` and
    returns the extreme ones with their residuals
    :math:`r_i = \|H y_i - \theta_i y_i\|`. A Ritz value is within
    :math:`r_i` of an exact eigenvalue (and within :math:`r_i^2/\mathrm{gap}`
    once the spectrum around it is resolved), so the residual is the error bar.

    When the Krylov space closes early (a Hessian with few distinct
    eigenvalues, e.g. a quadratic with a multiple eigenvalue), the Lanczos
    step restarts from a fresh random vector orthogonal to the basis (see
    :func:`lanczos_tridiag`), so every Ritz value is an eigenvalue of
    :math:`H` up to round-off. A multiple eigenvalue can then come back
    several times, with orthonormal eigenvectors, and ``k`` larger than the
    number of distinct eigenvalues still gives genuine eigenpairs.

    Ordering: ``"largest"`` gives eigenvalues descending (``[0]`` is
    :math:`\lambda_{max}`); ``"smallest"`` ascending (``[0]`` is
    :math:`\lambda_{min}`); ``"both"`` gives ``2k`` values, the ``k`` largest
    descending then the ``k`` smallest ascending (``[k]`` is :math:`\lambda_{min}`).

    Args:
      key: PRNG key for the start vector.
      loss: ``loss(params) -> scalar`` over any pytree.
      params: the point where the Hessian is taken.
      k: number of eigenpairs per end; ``k <= n`` (``2k <= n`` for "both").
      which: ``"largest"``, ``"smallest"`` or ``"both"``.
      n_iter: Krylov dimension (HVPs), ``k <= n_iter <= n``; default
        ``min(n, max(64, 4k))`` (``8k`` for "both"). Raise it when residuals are large.

    Returns:
      :class:`HessianEigs` ``(eigenvalues (m,), eigenvectors (pytree, leading m), residuals (m,))``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxstat as js
      >>> d = jnp.array([3.0, -1.0, 0.5, 2.0])
      >>> loss = lambda p: 0.5 * jnp.sum(d * p["x"] ** 2)
      >>> r = js.landscape.hessian_eigs(jax.random.key(0), loss, {"x": jnp.ones(4)}, 1, "both")
      >>> [round(float(v), 4) for v in r.eigenvalues]
      [3.0, -1.0]
      >>> r.eigenvectors["x"].shape
      (2, 4)
    """
    check_key(key)
    check_params(params)
    check_loss(jit_loss(loss), params)
    check_choice(which, "which", ("largest", "smallest", "both"))
    k = check_positive_int(k, "k")
    n = n_params(params)
    k_total = 2 * k if which == "both" else k
    if k_total > n:
        what = "2k (k largest and k smallest)" if which == "both" else "k"
        raise ValueError(f"k must satisfy {what} <= the number of parameters {n}; got k={k}")
    if n_iter is None:
        n_iter = _default_n_iter(n, k_total)
    n_iter = check_positive_int(n_iter, "n_iter")
    if not k_total <= n_iter <= n:
        raise ValueError(
            f"n_iter must satisfy {k_total} (eigenpairs wanted) <= n_iter <= {n} (parameters); got {n_iter}"
        )

    vals, vecs, res = _eigs_run(StaticFn(loss), params, key, k, which, n_iter)
    return HessianEigs(vals, vecs, res)


@functools.partial(jax.jit, static_argnames=("loss", "k", "which", "n_iter"))
def _eigs_run(loss, params, key, k, which, n_iter):
    # One compiled program per (loss, shapes, k, which, n_iter): repeated calls
    # (new keys, new parameter values) do not recompile.
    x0, unravel, loss_flat = flat_problem(loss, params)
    matvec = hvp_flat(loss_flat, x0)
    key_start, key_restart = jax.random.split(key)
    v0 = jax.random.normal(key_start, x0.shape, x0.dtype)
    Q, T = lanczos_tridiag(matvec, v0, n_iter, key=key_restart)
    theta, S = jnp.linalg.eigh(T)  # ascending
    if which == "largest":
        idx = jnp.arange(n_iter - 1, n_iter - 1 - k, -1)
    elif which == "smallest":
        idx = jnp.arange(k)
    else:
        idx = jnp.concatenate([jnp.arange(n_iter - 1, n_iter - 1 - k, -1), jnp.arange(k)])
    vals = theta[idx]
    vecs = S[:, idx].T @ Q
    # Reorthogonalised Q is orthonormal to rounding; renormalise so the
    # residual measures the eigen-equation, not the vector's length.
    vecs = vecs / jnp.linalg.norm(vecs, axis=1, keepdims=True)
    hv = jax.vmap(matvec)(vecs)
    res = jnp.linalg.norm(hv - vals[:, None] * vecs, axis=1)
    return vals, jax.vmap(unravel)(vecs), res
