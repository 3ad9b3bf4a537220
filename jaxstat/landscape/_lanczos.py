r"""Lanczos with full reorthogonalisation, breakdown restarts and an optional stopping test.

:func:`lanczos_tridiag` builds the tridiagonal projection of a symmetric
operator (see its docstring for the breakdown handling). :func:`lanczos_ritz`
runs the same iteration but stops as soon as the wanted Ritz pairs are
accurate: after :math:`m` steps the Ritz pair :math:`(\theta_i, Q^\top s_i)`
of :math:`T_m = S \Theta S^\top` has the residual

.. math:: \|H Q^\top s_i - \theta_i Q^\top s_i\| = \beta_m |s_{m-1, i}|,

exactly with full reorthogonalisation (Parlett, *The Symmetric Eigenvalue
Problem*, ch. 13), so the test costs no extra Hessian-vector product: only
an eigendecomposition of the small :math:`T_m`, which is negligible beside
an HVP. Extreme eigenvalues of a network's Hessian typically converge in
ten to twenty steps (``benchmarks/landscape.py``), so a fixed Krylov
dimension of 64 wasted most of the work.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxstat._validate import check_key, check_positive_int

__all__ = ["lanczos_tridiag", "lanczos_ritz"]


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


def _lanczos_step(matvec, n_iter, key, dtype):
    """One Lanczos step ``j``: the body shared by the fixed-size and the stopping iterations."""
    eps = jnp.finfo(dtype).eps

    def orthogonalise(Q, v):
        # One classical Gram-Schmidt pass; rows of Q not filled yet are zero.
        h = Q @ v
        return v - h @ Q, h

    def restart(Q, j):
        n = Q.shape[1]
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

    return step


def _initial(v0, n_iter, dtype):
    n = v0.shape[0]
    return (jnp.zeros((n_iter, n), dtype), jnp.zeros(n_iter, dtype), jnp.zeros(n_iter, dtype),
            (v0 / jnp.linalg.norm(v0)).astype(dtype), jnp.zeros((), dtype))


def _tridiagonal(alphas, betas):
    off = betas[:-1]
    return jnp.diag(alphas) + jnp.diag(off, 1) + jnp.diag(off, -1)


def _lanczos(matvec, v0, n_iter, key):
    dtype = jnp.result_type(v0, float)
    step = _lanczos_step(matvec, n_iter, key, dtype)
    Q, alphas, betas, _, _ = jax.lax.fori_loop(0, n_iter, step, _initial(v0, n_iter, dtype))
    return Q, _tridiagonal(alphas, betas)


def ritz_pairs(alphas, betas, m, k: int, which: str):
    """Ritz values, vectors (in the Lanczos basis) and residuals of the wanted pairs after ``m`` steps.

    ``alphas``/``betas`` have the fixed length ``n_iter``; entries from
    ``m`` on are unfilled. They are replaced by a decoupled block at the
    mean of the filled diagonal, whose eigenvectors live on the unfilled
    rows only and are masked out, so one fixed-size ``eigh`` serves every ``m``.
    Returns ``(theta (K,), S (n_iter, K), residual bound (K,))``, K = k or 2k
    ("both": the k largest descending, then the k smallest ascending).
    """
    n_iter = alphas.shape[0]
    rows = jnp.arange(n_iter)
    filled = rows < m
    centre = jnp.sum(jnp.where(filled, alphas, 0)) / jnp.maximum(m, 1)
    T = _tridiagonal(jnp.where(filled, alphas, centre), jnp.where(rows < m - 1, betas, 0))
    theta, S = jnp.linalg.eigh(T)  # ascending
    valid = jnp.sum(jnp.where(filled[:, None], S * S, 0), axis=0) > 0.5
    top = jnp.argsort(jnp.where(valid, -theta, jnp.inf))[:k]
    bottom = jnp.argsort(jnp.where(valid, theta, jnp.inf))[:k]
    idx = {"largest": top, "smallest": bottom}.get(which)
    if idx is None:
        idx = jnp.concatenate([top, bottom])
    # beta_{m-1} couples q_{m-1} to the next basis vector: the residual of every Ritz pair.
    residual = jnp.abs(betas[jnp.maximum(m - 1, 0)] * S[jnp.maximum(m - 1, 0), idx])
    return theta[idx], S[:, idx], residual


def lanczos_ritz(matvec, v0, n_iter: int, k: int, which: str, *, tol, key=None, min_iter: int | None = None):
    r"""Lanczos until the wanted ``k`` Ritz pairs have relative residual bound <= ``tol`` (or ``n_iter`` steps).

    A pair counts as converged when :math:`\beta_m |s_{m-1,i}| \le \mathrm{tol}\,
    \max(|\theta_i|, \varepsilon_{\rm floor})` with the floor
    :math:`16\,\varepsilon \max_j |\theta_j|` (a float32 Hessian cannot
    resolve residuals below round-off of its norm). The test runs after
    every step from ``min_iter`` (default ``k`` per end) on. After a
    breakdown (an exactly invariant Krylov space, so possibly an exact
    multiple eigenvalue) it is switched off and all ``n_iter`` steps run:
    residuals cannot show copies of an eigenvalue that only a restart reaches.

    Returns ``(Q, theta, S, m)``: the basis (unfilled rows zero), the wanted
    Ritz values and their vectors in the basis, and the steps taken.

    Example: the top eigenvalue of a diagonal operator, to 1e-5:

    >>> import jax, jax.numpy as jnp
    >>> d = jnp.linspace(0.0, 1.0, 200).at[-1].set(2.0)
    >>> Q, theta, S, m = lanczos_ritz(lambda v: d * v, jnp.ones(200), 100, 1, "largest", tol=1e-5)
    >>> round(float(theta[0]), 4), int(m) < 100
    (2.0, True)
    """
    n_iter = check_positive_int(n_iter, "n_iter")
    if key is not None:
        check_key(key)
    v0 = jnp.asarray(v0)
    dtype = jnp.result_type(v0, float)
    k_total = 2 * k if which == "both" else k
    min_iter = k_total if min_iter is None else min_iter
    floor = 16 * jnp.finfo(dtype).eps
    step = _lanczos_step(matvec, n_iter, key, dtype)

    def converged(alphas, betas, m):
        theta, _, residual = ritz_pairs(alphas, betas, m, k, which)
        scale = jnp.maximum(jnp.abs(theta), floor * jnp.max(jnp.abs(theta)))
        return jnp.all(residual <= tol * scale)

    def stage(capacity):
        def cond(carry):
            j, done, _ = carry
            return (j < capacity) & ~done

        def body(carry):
            j, _, lanczos = carry
            lanczos = step(j, lanczos)
            _, alphas, betas, _, _ = lanczos
            # A breakdown (beta = 0) means an invariant subspace: H may have exact multiple
            # eigenvalues whose further copies only later restarts reach, which no residual can
            # reveal. Then the iteration runs to n_iter, as lanczos_tridiag does.
            exact_invariant = jnp.any((betas == 0) & (jnp.arange(capacity) <= j))
            # the test (an eigh) runs only where it can stop the iteration
            done = jax.lax.cond((tol > 0) & (j + 1 >= min_iter) & ~exact_invariant,
                                lambda: converged(alphas, betas, j + 1), lambda: jnp.asarray(False))
            return j + 1, done, lanczos

        return cond, body

    def grow(lanczos, capacity):
        Q, alphas, betas, q, scale = lanczos
        pad = capacity - Q.shape[0]
        return (jnp.pad(Q, ((0, pad), (0, 0))), jnp.pad(alphas, (0, pad)), jnp.pad(betas, (0, pad)), q, scale)

    # Stages of growing capacity: the basis Q and the tridiagonal are only as large as the
    # stage, so neither the reorthogonalisation (a pass over Q per step) nor the test's eigh
    # pays for the cap n_iter while the iteration is short. The eigh matters most: LAPACK's
    # (OpenBLAS) eigh above 64 x 64 goes multithreaded, and on a busy 2-core machine a 96 x 96
    # one took 80 ms against 0.3 ms at 64 x 64 (a 96-row stage doubled the whole call).
    capacities = sorted({c for c in (16, 32, 64, 128, 256) if k_total <= c < n_iter} | {n_iter})
    carry = (jnp.int32(0), jnp.asarray(False), _initial(v0, capacities[0], dtype))
    for capacity in capacities:
        j, done, lanczos = carry
        cond, body = stage(capacity)
        carry = jax.lax.while_loop(cond, body, (j, done, grow(lanczos, capacity)))
    m, _, (Q, alphas, betas, _, _) = carry

    def final_at(capacity):
        # the Ritz pairs from the tridiagonal of the stage the iteration ended in
        def pairs(alphas, betas, m):
            theta, S, _ = ritz_pairs(alphas[:capacity], betas[:capacity], m, k, which)
            return theta, jnp.pad(S, ((0, n_iter - capacity), (0, 0)))

        return pairs

    stage_of_m = jnp.searchsorted(jnp.asarray(capacities), m)
    theta, S = jax.lax.switch(stage_of_m, [final_at(c) for c in capacities], alphas, betas, m)
    return Q, theta, S, m
