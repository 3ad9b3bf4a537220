"""Directions, slices, interpolation and Bézier curves, against exact answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.flatten_util import ravel_pytree

from jaxstat.landscape.directions import normalize_like, pca_directions, random_direction, tree_dot, tree_norm
from jaxstat.landscape.slices import bezier_curve, curve_loss, interpolate, line, plane
from jaxstat.nets import loss_fn, mlp


def _params():
    rng = np.random.default_rng(0)
    shapes = {"dense": {"kernel": (5, 3), "bias": (3,)}, "conv": {"kernel": (3, 3, 2, 4), "scale": (4,)}}
    return jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s), jnp.float32), shapes, is_leaf=lambda s: isinstance(s, tuple))


def _filter_norms(a):
    return np.linalg.norm(np.asarray(a).reshape(-1, a.shape[-1]), axis=0)


def test_filter_normalization_matches_each_filter_norm():
    params = _params()
    d = random_direction(jax.random.key(1), params, normalize="filter")
    for name in ("dense", "conv"):
        np.testing.assert_allclose(_filter_norms(d[name]["kernel"]), _filter_norms(params[name]["kernel"]), rtol=1e-5)
    # biases and norm scales are zeroed by default (Li et al.'s ignore="biasbn")
    assert not np.any(d["dense"]["bias"]) and not np.any(d["conv"]["scale"])
    kept = random_direction(jax.random.key(1), params, normalize="filter", ignore=None)
    np.testing.assert_allclose(np.linalg.norm(kept["dense"]["bias"]), np.linalg.norm(params["dense"]["bias"]), rtol=1e-5)
    # the same Gaussian draw underlies both: kernels agree
    np.testing.assert_array_equal(kept["conv"]["kernel"], d["conv"]["kernel"])


def test_layer_and_no_normalization():
    params = _params()
    d = random_direction(jax.random.key(2), params, normalize="layer")
    for name in ("dense", "conv"):
        np.testing.assert_allclose(np.linalg.norm(d[name]["kernel"]), np.linalg.norm(params[name]["kernel"]), rtol=1e-5)
    assert not np.any(d["dense"]["bias"])
    raw = random_direction(jax.random.key(2), params, normalize=None)
    # normalize=None is a plain N(0, 1) draw over every parameter, biases included
    flat = np.asarray(ravel_pytree(raw)[0])
    # the sample sd of n i.i.d. N(0, 1) draws has standard error 1/sqrt(2n); 4 of them two-sided
    # is the tolerance, a false-failure probability of 6e-5 (a hand-picked 0.2 was ~3 sd here)
    assert np.all(flat != 0) and abs(flat.std() - 1) < 4 / np.sqrt(2 * flat.size)
    # rescaling the raw draw by layer gives exactly the "layer" direction
    again = normalize_like(raw, params, normalize="layer")
    np.testing.assert_allclose(ravel_pytree(again)[0], ravel_pytree(d)[0], rtol=1e-6)


def test_normalize_like_exact_values_and_zero_filters():
    w = {"k": jnp.array([[3.0, 0.0], [4.0, 0.0]])}
    d = {"k": jnp.array([[1.0, 1.0], [0.0, 1.0]])}
    out = normalize_like(d, w)["k"]
    np.testing.assert_allclose(out, [[5.0, 0.0], [0.0, 0.0]])  # a zero weight filter gives a zero direction filter


def test_random_direction_on_nnx_state_keeps_structure_and_dtype():
    model = mlp(jax.random.key(0), (6, 4, 3))
    _, params, _ = nnx.split(model, nnx.Param, ...)
    d = random_direction(jax.random.key(5), params)
    assert jax.tree.structure(d) == jax.tree.structure(params)
    for layer_d, layer_p in zip(d["layers"].values(), params["layers"].values()):
        np.testing.assert_allclose(_filter_norms(layer_d["kernel"][...]), _filter_norms(layer_p["kernel"][...]), rtol=1e-5)
        assert layer_d["kernel"][...].dtype == layer_p["kernel"][...].dtype


# ---- slices on an exact quadratic --------------------------------------------------------------------


def _quadratic():
    params = {"a": jnp.array([0.5, -1.0, 2.0]), "b": {"c": jnp.array([[1.0, 0.0], [-0.5, 0.3]])}}
    x0, unravel = ravel_pytree(params)
    n = x0.size
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(n, n)))
    A = (q * np.array([3.0, 2.0, 1.0, 0.5, -0.5, -1.0, -2.5])) @ q.T  # a spectrum of both signs

    def loss(p):
        x = ravel_pytree(p)[0]
        return 0.5 * x @ jnp.asarray(A, x.dtype) @ x

    rng = np.random.default_rng(1)
    d1 = unravel(jnp.asarray(rng.normal(size=n), jnp.float32))
    d2 = unravel(jnp.asarray(rng.normal(size=n), jnp.float32))
    return loss, params, d1, d2, A


def _exact(A, *vectors_and_coeffs):
    x = sum(c * np.asarray(ravel_pytree(v)[0], np.float64) for v, c in vectors_and_coeffs)
    return 0.5 * x @ A @ x


def test_plane_equals_the_analytic_quadratic():
    loss, params, d1, d2, A = _quadratic()
    alphas, betas = jnp.linspace(-1, 1, 7), jnp.linspace(-2, 1, 5)
    out = plane(loss, params, d1, d2, alphas, betas)
    assert out.shape == (7, 5)
    exact = np.array([[_exact(A, (params, 1.0), (d1, a), (d2, b)) for b in np.asarray(betas)] for a in np.asarray(alphas)])
    np.testing.assert_allclose(out, exact, rtol=1e-5, atol=1e-5)


def test_line_equals_the_analytic_quadratic():
    loss, params, d1, _, A = _quadratic()
    alphas = jnp.linspace(-3, 3, 13)
    exact = [_exact(A, (params, 1.0), (d1, a)) for a in np.asarray(alphas)]
    np.testing.assert_allclose(line(loss, params, d1, alphas), exact, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("chunk_size", [1, 4, 7, 1000])
def test_chunked_equals_unchunked(chunk_size):
    loss, params, d1, d2, _ = _quadratic()
    alphas, betas = jnp.linspace(-1, 1, 5), jnp.linspace(-1, 1, 3)
    np.testing.assert_allclose(plane(loss, params, d1, d2, alphas, betas, chunk_size=chunk_size),
                               plane(loss, params, d1, d2, alphas, betas), rtol=1e-6)
    np.testing.assert_allclose(line(loss, params, d1, alphas, chunk_size=chunk_size),
                               line(loss, params, d1, alphas), rtol=1e-6)


def test_plane_on_an_mlp_loss_matches_direct_evaluation():
    x = jax.random.normal(jax.random.key(0), (20, 6))
    y = jnp.arange(20) % 3
    f, params = loss_fn(mlp(jax.random.key(1), (6, 5, 3)), x, y)
    d1 = random_direction(jax.random.key(2), params)
    d2 = random_direction(jax.random.key(3), params)
    out = plane(f, params, d1, d2, jnp.array([0.0, 0.5]), jnp.array([-1.0, 0.0]), chunk_size=3)
    np.testing.assert_allclose(out[0, 1], f(params), rtol=1e-6)
    moved = jax.tree.map(lambda p, u, v: p + 0.5 * u - v, params, d1, d2)
    np.testing.assert_allclose(out[1, 0], f(moved), rtol=1e-5)


# ---- PCA of a trajectory -----------------------------------------------------------------------------


def test_pca_recovers_a_known_planar_trajectory():
    final = {"w": jnp.ones((4, 3)), "b": jnp.zeros(5)}
    flat_final, unravel = ravel_pytree(final)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(17, 2)))
    u, v = q[:, 0], q[:, 1]
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    coords = np.stack([3 * np.cos(t), np.sin(t)], axis=1)  # an ellipse: variance 9 along u, 1 along v
    traj = np.asarray(flat_final) + coords @ q.T
    r = pca_directions(jnp.asarray(traj, jnp.float32), final, n=2)
    np.testing.assert_allclose(abs(float(tree_dot(r.directions[0], unravel(jnp.asarray(u, jnp.float32))))), 1, atol=1e-5)
    np.testing.assert_allclose(abs(float(tree_dot(r.directions[1], unravel(jnp.asarray(v, jnp.float32))))), 1, atol=1e-5)
    np.testing.assert_allclose(r.explained_variance_ratio, [0.9, 0.1], rtol=1e-5)
    np.testing.assert_allclose(np.abs(r.coordinates), np.abs(coords), atol=1e-5)
    for d in r.directions:
        np.testing.assert_allclose(float(tree_norm(d)), 1, rtol=1e-6)
    # the same trajectory given as a stacked pytree gives the same answer
    stacked = jax.vmap(unravel)(jnp.asarray(traj, jnp.float32))
    r2 = pca_directions(stacked, final, n=2)
    np.testing.assert_allclose(ravel_pytree(r2.directions[0])[0], ravel_pytree(r.directions[0])[0], atol=1e-6)


# ---- interpolation and mode connectivity -------------------------------------------------------------


def test_interpolation_endpoints_equal_the_two_losses():
    loss, params, d1, _, A = _quadratic()
    other = jax.tree.map(lambda p, d: p + d, params, d1)
    out = interpolate(loss, params, other, jnp.array([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(out[0], loss(params), rtol=1e-6)
    np.testing.assert_allclose(out[2], loss(other), rtol=1e-6)
    np.testing.assert_allclose(out[1], _exact(A, (params, 1.0), (d1, 0.25)), rtol=1e-5)


def test_bezier_with_the_midpoint_control_is_the_straight_line_and_training_bends_it():
    def loss(p):  # two minima, at x = ±1 on the axis, joined by a ring of minima |p| = 1
        return (jnp.sum(p["x"] ** 2) - 1.0) ** 2

    a, b = {"x": jnp.array([1.0, 0.0])}, {"x": jnp.array([-1.0, 0.0])}
    ts = jnp.linspace(0, 1, 11)
    mid = jax.tree.map(lambda u, v: (u + v) / 2, a, b)
    straight = curve_loss(loss, a, b, mid, ts)
    np.testing.assert_allclose(straight.curve, straight.line, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(straight.line, (np.asarray(1 - 2 * ts) ** 2 - 1) ** 2, rtol=1e-5, atol=1e-6)
    start = {"x": jnp.array([0.0, 0.3])}  # off the symmetric point, where the gradient vanishes
    r = bezier_curve(jax.random.key(0), loss, a, b, n_steps=400, control=start)
    assert r.losses.shape == (400,) and float(r.losses[-20:].mean()) < float(r.losses[:20].mean())
    bent = curve_loss(loss, a, b, r.control, ts)
    assert float(bent.curve.max()) < 0.1 * float(bent.line.max())
    np.testing.assert_allclose(np.asarray(bent.curve)[[0, -1]], [loss(a), loss(b)], atol=1e-6)


# ---- bad input ---------------------------------------------------------------------------------------


def test_bad_directions_and_losses_are_refused():
    loss, params, d1, d2, _ = _quadratic()
    alphas = jnp.linspace(-1, 1, 3)
    with pytest.raises(ValueError, match="direction must have the pytree structure"):
        line(loss, params, {"a": d1["a"]}, alphas)
    with pytest.raises(ValueError, match=r"d2\['b'\]\['c'\] must have the shape"):
        plane(loss, params, d1, {"a": d2["a"], "b": {"c": jnp.zeros((3, 2))}}, alphas, alphas)
    with pytest.raises(ValueError, match="scalar"):
        line(lambda p: p["a"], params, d1, alphas)
    with pytest.raises(ValueError, match="finite"):
        plane(lambda p: loss(p) * jnp.nan, params, d1, d2, alphas, alphas)
    with pytest.raises(ValueError, match="xs must be a non-empty 1-D array"):
        line(loss, params, d1, jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="ys must be a non-empty 1-D array"):
        plane(loss, params, d1, d2, alphas, jnp.zeros(0))
    with pytest.raises(ValueError, match="chunk_size"):
        line(loss, params, d1, alphas, chunk_size=0)
    with pytest.raises(ValueError, match="normalize"):
        random_direction(jax.random.key(0), params, normalize="unit")
    with pytest.raises(ValueError, match="ignore"):
        random_direction(jax.random.key(0), params, ignore="bias")
    with pytest.raises(ValueError, match="direction"):
        normalize_like({"a": d1["a"]}, params)
    with pytest.raises(ValueError, match="params_b"):
        interpolate(loss, params, {"a": params["a"]}, alphas)
    with pytest.raises(ValueError, match="snapshots"):
        pca_directions(jnp.zeros((3, 5)), params)
    with pytest.raises(ValueError, match="n must be at most"):
        pca_directions(jnp.zeros((3, 7)), params, n=4)


# ---- Hessian directions ------------------------------------------------------------------------------


def test_hessian_directions_are_the_extreme_eigenvectors_of_a_known_quadratic():
    from jaxstat.landscape.directions import hessian_directions

    loss, params, _, _, A = _quadratic()  # spectrum 3, 2, 1, 0.5, -0.5, -1, -2.5 over a nested pytree
    r = hessian_directions(jax.random.key(0), loss, params)
    np.testing.assert_allclose(np.asarray(r.eigenvalues), [3.0, -2.5], rtol=1e-4)
    assert np.all(np.asarray(r.residuals) < 1e-4)
    _, V = np.linalg.eigh(A)
    for d, exact in ((r.top, V[:, -1]), (r.bottom, V[:, 0])):
        assert jax.tree.structure(d) == jax.tree.structure(params)
        x = np.asarray(ravel_pytree(d)[0], np.float64)
        np.testing.assert_allclose(np.linalg.norm(x), 1.0, rtol=1e-5)
        np.testing.assert_allclose(abs(x @ exact), 1.0, atol=1e-4)  # the same eigenvector, up to sign
        assert x[np.argmax(np.abs(x))] > 0  # the sign convention
    # through the saddle at the origin the loss falls along `bottom` as ½ λ_min α² and rises along `top`
    zero = jax.tree.map(jnp.zeros_like, params)
    alphas = jnp.array([-2.0, 1.0])
    np.testing.assert_allclose(line(loss, zero, r.bottom, alphas), 0.5 * -2.5 * alphas**2, rtol=1e-4)
    np.testing.assert_allclose(line(loss, zero, r.top, alphas), 0.5 * 3.0 * alphas**2, rtol=1e-4)
