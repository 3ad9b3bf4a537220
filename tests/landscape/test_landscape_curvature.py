"""hvp, dense Hessian and Lanczos eigenpairs against exact answers.

The quadratic L(x) = 1/2 x^T A x + c^T x over a nested pytree has Hessian A
everywhere, with a spectrum of both signs chosen here, so every answer is
known exactly. The MLP checks Lanczos against eigh of its dense Hessian.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxstat as js
from jaxstat.landscape import lanczos_tridiag as lanczos

# Distinct eigenvalues of both signs, with gaps so that the extreme pairs are
# well conditioned (eigenvector error ~ residual / gap).
SPECTRUM = np.array([-3.0, -2.1, -1.3, -0.7, -0.2, 0.1, 0.35, 0.6, 0.9, 1.2, 1.5, 1.8,
                     2.1, 2.4, 2.7, 3.1, 3.6, 4.2, 5.0, 6.1, 7.5])


def nested_params(dtype=jnp.float64, seed=0):
    """{"a": (3, 4), "b": [(5,), (2, 2)]}: 21 parameters at a random point."""
    rng = np.random.default_rng(seed)
    return {
        "a": jnp.asarray(rng.normal(size=(3, 4)), dtype),
        "b": [jnp.asarray(rng.normal(size=(5,)), dtype), jnp.asarray(rng.normal(size=(2, 2)), dtype)],
    }


def quadratic_problem(spectrum=SPECTRUM, dtype=jnp.float64, seed=1):
    """(loss, params, A, U) with A = U diag(spectrum) U^T dense in every basis.

    A random rotation matters: for a diagonal A Rademacher probes would give
    the exact trace with zero variance, and the error bars would be untested.
    """
    params = nested_params(dtype)
    n = ravel_pytree(params)[0].size
    assert n == len(spectrum)
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = (U * spectrum) @ U.T
    A = 0.5 * (A + A.T)
    c = rng.normal(size=n)
    A_j, c_j = jnp.asarray(A, dtype), jnp.asarray(c, dtype)

    def loss(p):
        x = ravel_pytree(p)[0]
        return 0.5 * x @ (A_j @ x) + c_j @ x

    return loss, params, A, U


def mlp_problem(dtype=jnp.float64, seed=0):
    """A 4-12-8-3 tanh MLP (191 parameters) with cross-entropy on random data."""
    rng = np.random.default_rng(seed)
    sizes = [4, 12, 8, 3]
    params = {}
    for i, (m, k) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{i}"] = jnp.asarray(rng.normal(size=(m, k)) / np.sqrt(m), dtype)
        params[f"b{i}"] = jnp.asarray(0.1 * rng.normal(size=(k,)), dtype)
    x = jnp.asarray(rng.normal(size=(40, 4)), dtype)
    y = jnp.asarray(rng.integers(0, 3, size=40))

    def loss(p):
        h = x
        for i in range(len(sizes) - 1):
            h = h @ p[f"W{i}"] + p[f"b{i}"]
            if i < len(sizes) - 2:
                h = jnp.tanh(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    return loss, params


def test_hvp_equals_A_v_on_nested_pytree():
    with jax.enable_x64(True):
        loss, params, A, _ = quadratic_problem()
        v = nested_params(seed=5)
        out = js.landscape.hvp(loss, params, v)
        assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(params)
        flat_v, unravel = ravel_pytree(v)
        np.testing.assert_allclose(ravel_pytree(out)[0], A @ np.asarray(flat_v), rtol=1e-12, atol=1e-12)


def test_hvp_keeps_float32():
    loss, params, _, _ = quadratic_problem(dtype=jnp.float32)
    out = js.landscape.hvp(loss, params, nested_params(jnp.float32, seed=5))
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(out))


def test_dense_hessian_is_A():
    with jax.enable_x64(True):
        loss, params, A, _ = quadratic_problem()
        np.testing.assert_allclose(js.landscape.hessian(loss, params), A, atol=1e-12)


@pytest.mark.parametrize("which", ["largest", "smallest", "both"])
def test_hessian_eigs_quadratic_extreme_pairs(which):
    with jax.enable_x64(True):
        loss, params, A, U = quadratic_problem()
        k = 3
        r = js.landscape.hessian_eigs(jax.random.key(0), loss, params, k, which, tol=1e-10)
        top = np.arange(len(SPECTRUM) - 1, len(SPECTRUM) - 1 - k, -1)
        bottom = np.arange(k)
        idx = {"largest": top, "smallest": bottom, "both": np.concatenate([top, bottom])}[which]
        np.testing.assert_allclose(r.eigenvalues, SPECTRUM[idx], rtol=1e-4)
        vecs = jax.vmap(lambda t: ravel_pytree(t)[0])(r.eigenvectors)
        assert vecs.shape == (len(idx), len(SPECTRUM))
        overlaps = np.abs(np.sum(np.asarray(vecs) * U[:, idx].T, axis=1))
        np.testing.assert_allclose(overlaps, 1.0, atol=1e-6)
        assert np.all(np.asarray(r.residuals) < 1e-6)
        # the eigenvectors come back shaped like the parameters, leading axis m
        assert r.eigenvectors["b"][1].shape == (len(idx), 2, 2)


def test_hessian_eigs_mlp_against_dense_eigh():
    with jax.enable_x64(True):
        loss, params = mlp_problem()
        H = np.asarray(js.landscape.hessian(loss, params))
        exact = np.linalg.eigvalsh(H)
        k = 3
        r = js.landscape.hessian_eigs(jax.random.key(1), loss, params, k, "both")  # default n_iter = 64 < n = 191
        expected = np.concatenate([exact[::-1][:k], exact[:k]])
        # the bottom of an MLP spectrum is small and crowded: compare on the
        # scale of the spectrum as well as relatively
        scale = np.max(np.abs(exact))
        assert np.all(np.abs(np.asarray(r.eigenvalues) - expected) <= 1e-4 * np.maximum(np.abs(expected), 1e-2 * scale))
        # the residual bounds the distance to the nearest exact eigenvalue
        dist = np.min(np.abs(np.asarray(r.eigenvalues)[:, None] - exact[None, :]), axis=1)
        assert np.all(dist <= np.asarray(r.residuals) + 1e-10)


def test_hessian_eigs_float32_top_pair():
    loss, params, _, _ = quadratic_problem(dtype=jnp.float32)
    r = js.landscape.hessian_eigs(jax.random.key(0), loss, params, 1)
    assert r.eigenvalues.dtype == jnp.float32
    np.testing.assert_allclose(r.eigenvalues, SPECTRUM[-1:], rtol=1e-4)


# --- Lanczos breakdown: Hessians with few distinct eigenvalues ---------------
# The Krylov space of a matrix with d distinct eigenvalues is invariant after d
# steps. Lanczos without a breakdown test normalised the round-off left there
# into the next basis vector, lost orthogonality and returned Ritz values near
# +-2800 for a Hessian of norm 1 (the bug these tests pin down). The answers
# come from eigh of the explicit Hessian in float64. Tolerance: n eps ||H||,
# twice Higham's gamma_n = n u (u = eps/2), the worst-case relative rounding of
# a length-n float32 inner product, which is how every entry of T and every
# residual is computed; observed errors are 10-100 times smaller.


def few_eigenvalues_problem(spectrum, rotate, seed=0):
    """(loss, params, H): L(x) = 1/2 x^T A x over a two-leaf float32 pytree.

    A = diag(spectrum) in the parameter basis (Hessian-vector products are
    then exact, the harshest case: the round-off after a breakdown lies in
    the span of the basis) or rotated by a random orthogonal matrix.
    """
    n = len(spectrum)
    rng = np.random.default_rng(seed)
    A = np.diag(spectrum)
    if rotate:
        U, _ = np.linalg.qr(rng.normal(size=(n, n)))
        A = (U * spectrum) @ U.T
        A = 0.5 * (A + A.T)
    A_j = jnp.asarray(A, jnp.float32)
    params = {"w": jnp.zeros((10, n // 20), jnp.float32), "b": jnp.zeros(n - 10 * (n // 20), jnp.float32)}

    def loss(p):
        x = ravel_pytree(p)[0]
        return 0.5 * x @ (A_j @ x)

    H = np.asarray(js.landscape.hessian(loss, params), np.float64)
    return loss, params, H


def float32_tol(H):
    return len(H) * np.finfo(np.float32).eps * np.linalg.norm(H, 2)


def flat_vectors(r):
    return np.asarray(jax.vmap(lambda t: ravel_pytree(t)[0])(r.eigenvectors), np.float64)


def test_hessian_eigs_two_distinct_eigenvalues_float32():
    # The bug report's Hessian at n = 200: diag(-1, 1, ..., 1), the Krylov space closes after 2 steps
    loss, params, H = few_eigenvalues_problem(np.r_[-1.0, np.ones(199)], rotate=False)
    exact, U = np.linalg.eigh(H)
    tol = float32_tol(H)  # 2.4e-5
    r = js.landscape.hessian_eigs(jax.random.key(0), loss, params, 1, "both")  # default n_iter = 64
    np.testing.assert_allclose(r.eigenvalues, [exact[-1], exact[0]], rtol=0, atol=tol)
    assert np.all(np.asarray(r.residuals) <= tol)
    # the simple eigenvalue -1 has eigenvector +-e_0; eigenvector error <= residual / gap (gap 2)
    assert abs(flat_vectors(r)[1] @ U[:, 0]) >= 1 - tol


@pytest.mark.parametrize("rotate", [False, True], ids=["diagonal", "rotated"])
def test_hessian_eigs_k_beyond_distinct_eigenvalues_gives_genuine_pairs(rotate):
    # 3 distinct eigenvalues (3 x4, -2 x8, 0.5 x108), k = 6 > 3 per end: the
    # restarts must find the multiple eigenvalues again, with orthonormal vectors
    spectrum = np.r_[np.full(4, 3.0), np.full(8, -2.0), np.full(108, 0.5)]
    spectrum = np.random.default_rng(1).permutation(spectrum)
    loss, params, H = few_eigenvalues_problem(spectrum, rotate)
    exact = np.linalg.eigvalsh(H)
    tol = float32_tol(H)  # 4.3e-5
    k = 6
    r = js.landscape.hessian_eigs(jax.random.key(2), loss, params, k, "both")
    vals, res, V = np.asarray(r.eigenvalues, np.float64), np.asarray(r.residuals, np.float64), flat_vectors(r)
    # every returned value is an eigenvalue, and they are the k extreme ones with multiplicity
    assert np.all(np.min(np.abs(vals[:, None] - exact[None, :]), axis=1) <= tol)
    np.testing.assert_allclose(vals, np.r_[exact[::-1][:k], exact[:k]], rtol=0, atol=tol)
    np.testing.assert_allclose(vals, [3, 3, 3, 3, 0.5, 0.5, -2, -2, -2, -2, -2, -2], rtol=0, atol=tol)
    # residuals are small, and honest: recomputed in float64 from the explicit Hessian
    assert np.all(res <= tol)
    honest = np.linalg.norm(V @ H - vals[:, None] * V, axis=1)
    np.testing.assert_allclose(res, honest, rtol=0, atol=tol)
    # duplicates of a multiple eigenvalue come with orthonormal eigenvectors
    np.testing.assert_allclose(V @ V.T, np.eye(2 * k), rtol=0, atol=tol)


def test_lanczos_tridiag_breakdown_restarts_keep_the_basis_orthonormal():
    # diag(-1, 1, ..., 1) from v0 = (1, ..., n): breakdown after 2 steps, then restarts
    n, m = 40, 12
    d = jnp.ones(n, jnp.float32).at[0].set(-1.0)

    def matvec(v):
        return d * v

    v0 = jnp.arange(1.0, n + 1.0, dtype=jnp.float32)
    tol = n * np.finfo(np.float32).eps  # n eps ||H|| as above, ||H|| = 1

    def both(v):  # restarts from coordinate axes (no key) and random ones
        return lanczos(matvec, v, m), lanczos(matvec, v, m, key=jax.random.key(3))

    runs = jax.jit(both)(v0)
    # vmapped (the restart branch becomes a select) must agree with the unbatched run
    batched = jax.vmap(both)(jnp.stack([v0, 2 * v0]))
    for (Q, T), (Qb, Tb) in zip(runs, batched):
        np.testing.assert_allclose(Qb[0], Q, atol=tol)
        np.testing.assert_allclose(Tb[1], T, atol=tol)
    for Q, T in runs:
        np.testing.assert_allclose(Q @ Q.T, np.eye(m), atol=tol)
        theta, S = np.linalg.eigh(np.asarray(T, np.float64))
        assert np.all(np.minimum(np.abs(theta + 1), np.abs(theta - 1)) <= tol)
        assert np.sum(np.abs(theta + 1) <= tol) == 1  # -1 is simple; the restarts find more of +1
        # Gauss quadrature (SLQ) is untouched: the weight at -1 is v0's squared component along e_0
        w = S[0] ** 2
        np.testing.assert_allclose(w[np.argmin(theta)], 1 / np.sum(np.arange(1, n + 1) ** 2), rtol=tol)
        np.testing.assert_allclose(np.sum(w), 1, atol=tol)


# --- bad input -------------------------------------------------------------


def test_hvp_rejects_direction_with_other_structure_or_shape():
    loss, params, _, _ = quadratic_problem(dtype=jnp.float32)
    with pytest.raises(ValueError, match="v must have the pytree structure of params"):
        js.landscape.hvp(loss, params, {"a": params["a"], "b": params["b"][0]})
    bad = {"a": jnp.zeros((4, 3)), "b": params["b"]}
    with pytest.raises(ValueError, match=r"v\['a'\] must have the shape of params\['a'\], \(3, 4\); got \(4, 3\)"):
        js.landscape.hvp(loss, params, bad)


def test_hessian_eigs_rejects_k_too_large():
    loss, params, _, _ = quadratic_problem(dtype=jnp.float32)
    with pytest.raises(ValueError, match="k must satisfy k <= the number of parameters 21; got k=22"):
        js.landscape.hessian_eigs(jax.random.key(0), loss, params, 22)
    with pytest.raises(ValueError, match=r"k must satisfy 2k .* <= the number of parameters 21; got k=11"):
        js.landscape.hessian_eigs(jax.random.key(0), loss, params, 11, "both")
    with pytest.raises(ValueError, match="n_iter must satisfy"):
        js.landscape.hessian_eigs(jax.random.key(0), loss, params, 2, n_iter=30)
    with pytest.raises(ValueError, match="which must be one of"):
        js.landscape.hessian_eigs(jax.random.key(0), loss, params, 2, "top")


def test_loss_must_be_a_finite_scalar_at_the_centre():
    _, params, _, _ = quadratic_problem(dtype=jnp.float32)
    v = nested_params(jnp.float32, seed=3)
    with pytest.raises(ValueError, match=r"loss\(params\) must return a scalar; got shape \(3, 4\)"):
        js.landscape.hvp(lambda p: p["a"] ** 2, params, v)
    with pytest.raises(ValueError, match=r"loss\(params\) must be finite at the centre params; got nan"):
        js.landscape.hessian_eigs(jax.random.key(0), lambda p: jnp.sum(p["a"]) * jnp.nan, params, 1)
    with pytest.raises(ValueError, match="params must hold float32 or float64"):
        js.landscape.hvp(lambda p: jnp.sum(p["a"]), {"a": jnp.arange(3)}, {"a": jnp.arange(3)})
