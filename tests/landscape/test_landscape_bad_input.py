"""Bad input to every public function of jaxstat.landscape is never silent.

Called directly, each case raises a ValueError that names the argument (the
``match``). Under ``jax.jit``/``jax.vmap``, where values are tracers and cannot
be checked, an invalid value (a NaN direction, a NaN step) gives NaN in every
output it reaches, never a plausible number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxstat as js

L = js.landscape
KEY = jax.random.key(0)
A = jnp.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]])  # dense: every entry couples


def loss(p):
    return 0.5 * p["w"] @ A @ p["w"] + jnp.sum(p["b"] ** 2)


P = {"w": jnp.ones(3), "b": jnp.zeros(2)}
OTHER = {"w": -jnp.ones(3), "b": jnp.ones(2)}
WRONG_TREE = {"w": jnp.ones(3)}
WRONG_SHAPE = {"w": jnp.ones(4), "b": jnp.zeros(2)}
NAN_TREE = {"w": jnp.array([1.0, jnp.nan, 1.0]), "b": jnp.zeros(2)}
XS = jnp.linspace(-1.0, 1.0, 5)

CASES = {
    # curvature
    "hvp v of another structure": (lambda: L.hvp(loss, P, WRONG_TREE), "v must have the pytree structure"),
    "hvp v of another shape": (lambda: L.hvp(loss, P, WRONG_SHAPE), r"v\['w'\] must have the shape"),
    "hvp NaN v": (lambda: L.hvp(loss, P, NAN_TREE), r"v\['w'\] must be finite"),
    "hvp non-scalar loss": (lambda: L.hvp(lambda p: p["w"], P, P), "loss.* must return a scalar"),
    "hessian max_params 0": (lambda: L.hessian(loss, P, max_params=0), "max_params"),
    "hessian too many params": (lambda: L.hessian(loss, P, max_params=4), "max_params=4"),
    "hessian loss not callable": (lambda: L.hessian(3.0, P), "loss must be a callable"),
    "hessian integer params": (lambda: L.hessian(loss, {"w": jnp.ones(3, int), "b": jnp.zeros(2)}), "params"),
    "hessian NaN at the centre": (lambda: L.hessian(loss, NAN_TREE), "loss.* must be finite at the centre"),
    "hessian empty params": (lambda: L.hessian(loss, {}), "params must be a pytree with at least one"),
    "hessian_eigs which": (lambda: L.hessian_eigs(KEY, loss, P, 1, "top"), "which"),
    "hessian_eigs k 0": (lambda: L.hessian_eigs(KEY, loss, P, 0), "k must be an integer >= 1"),
    "hessian_eigs k too large": (lambda: L.hessian_eigs(KEY, loss, P, 3, "both"), "k must satisfy"),
    "hessian_eigs loss as key": (lambda: L.hessian_eigs(loss, P, KEY, 1), "key must be a JAX PRNG key"),
    "hessian_eigs n_iter too large": (lambda: L.hessian_eigs(KEY, loss, P, 1, n_iter=9), "n_iter"),
    "lanczos_tridiag 2-D v0": (lambda: L.lanczos_tridiag(lambda v: v, jnp.ones((3, 3)), 2), "v0"),
    "lanczos_tridiag n_iter > n": (lambda: L.lanczos_tridiag(lambda v: v, jnp.ones(3), 5), "n_iter"),
    "lanczos_tridiag matvec": (lambda: L.lanczos_tridiag(A, jnp.ones(3), 2), "matvec"),
    # trace and density
    "hessian_trace method": (lambda: L.hessian_trace(KEY, loss, P, 10, "xtrace"), "method"),
    "hessian_trace n_samples 1": (lambda: L.hessian_trace(KEY, loss, P, 1), "n_samples"),
    "hessian_trace raw uint32 not a key": (lambda: L.hessian_trace(jnp.zeros(3, jnp.uint32), loss, P), "key"),
    "hessian_trace batch_size 0": (lambda: L.hessian_trace(KEY, loss, P, batch_size=0), "batch_size"),
    "random_projection_curvature method": (lambda: L.random_projection_curvature(KEY, loss, P, method="fd"),
                                           "method"),
    "random_projection_curvature step": (lambda: L.random_projection_curvature(KEY, loss, P, step=0.0), "step"),
    "spectral_density 2-D grid": (lambda: L.spectral_density(KEY, loss, P, grid=jnp.ones((2, 2))), "grid"),
    "spectral_density NaN grid": (lambda: L.spectral_density(KEY, loss, P, grid=jnp.array([0.0, jnp.nan])),
                                  "grid must be finite"),
    "spectral_density sigma": (lambda: L.spectral_density(KEY, loss, P, sigma=-1.0), "sigma"),
    "spectral_density n_grid": (lambda: L.spectral_density(KEY, loss, P, n_grid=1), "n_grid"),
    "slq_nodes_weights 1-D probes": (lambda: L.slq_nodes_weights(lambda v: v, jnp.ones(3), 2), "probes"),
    "slq_nodes_weights n_iter > n": (lambda: L.slq_nodes_weights(lambda v: v, jnp.ones((2, 3)), 4), "n_iter"),
    # flatness
    "epsilon_sharpness epsilon 0": (lambda: L.epsilon_sharpness(KEY, loss, P, 0.0), "epsilon"),
    "epsilon_sharpness epsilon NaN": (lambda: L.epsilon_sharpness(KEY, loss, P, float("nan")), "epsilon"),
    "epsilon_sharpness step_size": (lambda: L.epsilon_sharpness(KEY, loss, P, 0.1, step_size=-1.0), "step_size"),
    "epsilon_sharpness n_steps": (lambda: L.epsilon_sharpness(KEY, loss, P, 0.1, n_steps=0), "n_steps"),
    "epsilon_sharpness int key": (lambda: L.epsilon_sharpness(0, loss, P, 0.1), "key"),
    "sharpness loss as key": (lambda: L.sharpness(loss, P, KEY), "key must be a JAX PRNG key"),
    "sharpness epsilon": (lambda: L.sharpness(KEY, loss, P, epsilon=-1.0), "epsilon"),
    "sharpness n_samples": (lambda: L.sharpness(KEY, loss, P, n_samples=1), "n_samples"),
    "sharpness n_iter": (lambda: L.sharpness(KEY, loss, P, n_iter=100), "n_iter"),
    "sharpness NaN centre": (lambda: L.sharpness(KEY, loss, NAN_TREE), "loss.* must be finite"),
    # directions
    "random_direction normalize": (lambda: L.random_direction(KEY, P, "filters"), "normalize"),
    "random_direction ignore": (lambda: L.random_direction(KEY, P, "filter", "bias"), "ignore"),
    "random_direction int key": (lambda: L.random_direction(1, P), "key"),
    "random_direction int params": (lambda: L.random_direction(KEY, {"w": jnp.ones(3, int)}), "params"),
    "normalize_like direction tree": (lambda: L.normalize_like(WRONG_TREE, P), "direction"),
    "normalize_like NaN direction": (lambda: L.normalize_like(NAN_TREE, P), "direction"),
    "pca_directions n 0": (lambda: L.pca_directions(jnp.ones((3, 5)), P, 0), "n must be an integer"),
    "pca_directions n too large": (lambda: L.pca_directions(jnp.arange(15.0).reshape(3, 5), P, 4), "n must be at most"),
    "pca_directions width": (lambda: L.pca_directions(jnp.ones((3, 4)), P), "snapshots must be a"),
    "pca_directions NaN": (lambda: L.pca_directions(jnp.full((3, 5), jnp.nan), P), "snapshots must be finite"),
    "pca_directions never moved": (lambda: L.pca_directions(jnp.tile(ravel_pytree(P)[0], (4, 1)), P),
                                   "snapshots never"),
    "pca_directions pytree leading axes": (lambda: L.pca_directions({"w": jnp.ones((3, 3)), "b": jnp.ones((2, 2))}, P),
                                           "leading"),
    "hessian_directions int key": (lambda: L.hessian_directions(0, loss, P), "key"),
    "hessian_directions n_iter 1": (lambda: L.hessian_directions(KEY, loss, P, n_iter=1), "n_iter"),
    "hessian_directions NaN params": (lambda: L.hessian_directions(KEY, loss, NAN_TREE), "loss.* must be finite"),
    "hessian_directions loss as key": (lambda: L.hessian_directions(loss, P, KEY), "key"),
    "tree_dot structures": (lambda: L.tree_dot(P, WRONG_TREE), "b must have the pytree structure of a"),
    "tree_dot shapes": (lambda: L.tree_dot(P, WRONG_SHAPE), r"b\['w'\] must have the shape of a\['w'\]"),
    "tree_norm empty tree": (lambda: L.tree_norm({}), "a must be a pytree with at least one"),
    # slices and curves
    "line direction tree": (lambda: L.line(loss, P, WRONG_TREE, XS), "direction"),
    "line NaN direction": (lambda: L.line(loss, P, NAN_TREE, XS), "direction"),
    "line 2-D xs": (lambda: L.line(loss, P, P, XS[:, None]), "xs"),
    "line NaN xs": (lambda: L.line(loss, P, P, XS.at[2].set(jnp.nan)), "xs must be finite"),
    "line chunk_size": (lambda: L.line(loss, P, P, XS, chunk_size=0), "chunk_size"),
    "plane d2 shape": (lambda: L.plane(loss, P, P, WRONG_SHAPE, XS, XS), "d2"),
    "plane empty ys": (lambda: L.plane(loss, P, P, P, XS, jnp.ones(0)), "ys"),
    "interpolate params_b": (lambda: L.interpolate(loss, P, WRONG_TREE, XS), "params_b"),
    "bezier_curve loss as key": (lambda: L.bezier_curve(loss, P, OTHER, P), "key"),
    "bezier_curve n_steps": (lambda: L.bezier_curve(KEY, loss, P, OTHER, n_steps=0), "n_steps"),
    "bezier_curve n_samples": (lambda: L.bezier_curve(KEY, loss, P, OTHER, n_samples=0), "n_samples"),
    "bezier_curve optimizer": (lambda: L.bezier_curve(KEY, loss, P, OTHER, optimizer="adam"), "optimizer"),
    "bezier_curve params_b": (lambda: L.bezier_curve(KEY, loss, P, WRONG_TREE), "params_b"),
    "bezier_curve NaN control": (lambda: L.bezier_curve(KEY, loss, P, OTHER, control=NAN_TREE), "control"),
    "bezier_curve NaN end point": (lambda: L.bezier_curve(KEY, loss, P, NAN_TREE), "params_b"),
    "curve_loss empty ts": (lambda: L.curve_loss(loss, P, OTHER, P, jnp.ones(0)), "ts"),
    "curve_loss control shape": (lambda: L.curve_loss(loss, P, OTHER, WRONG_SHAPE, XS), "control"),
    "bezier_point control tree": (lambda: L.bezier_point(P, OTHER, WRONG_TREE, 0.5), "control"),
    "bezier_point vector t": (lambda: L.bezier_point(P, OTHER, P, jnp.ones(2)), "t must be a scalar"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_a_value_error_naming_the_argument(name):
    call, match = CASES[name]
    with pytest.raises(ValueError, match=match):
        call()


def test_every_public_function_has_a_bad_input_case():
    covered = {name.split()[0] for name in CASES}
    functions = {n for n in L.__all__ if callable(getattr(L, n)) and n[0].islower()}
    assert functions <= covered, sorted(functions - covered)


# --------------------------------------------------------------------------- #
# inside jit and vmap: NaN in every output the invalid value reaches
# --------------------------------------------------------------------------- #
def _all_nan(tree):
    return all(bool(jnp.all(jnp.isnan(x))) for x in jax.tree.leaves(tree))


def test_hvp_under_jit_with_a_nan_direction_is_nan():
    out = jax.jit(lambda v: L.hvp(loss, P, v))(NAN_TREE)
    assert bool(jnp.all(jnp.isnan(out["w"])))  # A is dense: the NaN reaches every entry of H v
    good = jax.jit(lambda v: L.hvp(loss, P, v))(OTHER)
    np.testing.assert_allclose(good["w"], A @ OTHER["w"], rtol=1e-6)


def test_line_vmapped_over_directions_gives_nan_only_for_the_bad_one():
    dirs = jax.tree.map(lambda a, b: jnp.stack([a, b]), OTHER, NAN_TREE)
    out = jax.vmap(lambda d: L.line(loss, P, d, XS))(dirs)
    assert bool(jnp.all(jnp.isnan(out[1])))  # even at xs = 0: 0 * NaN is NaN
    np.testing.assert_allclose(out[0], L.line(loss, P, OTHER, XS), rtol=1e-6)


def test_plane_under_jit_with_a_nan_coordinate_is_nan_on_that_row():
    out = jax.jit(lambda xs: L.plane(loss, P, OTHER, P, xs, XS))(XS.at[1].set(jnp.nan))
    assert bool(jnp.all(jnp.isnan(out[1])))
    assert bool(jnp.all(jnp.isfinite(out[jnp.array([0, 2, 3, 4])])))


def test_tree_dot_and_norm_under_jit_propagate_nan():
    assert np.isnan(float(jax.jit(L.tree_dot)(P, NAN_TREE)))
    assert np.isnan(float(jax.jit(L.tree_norm)(NAN_TREE)))
    assert float(jax.jit(L.tree_norm)({"w": jnp.array([3.0, 4.0])})) == pytest.approx(5.0)


def test_bezier_point_vmapped_over_t_with_a_nan_t():
    ts = jnp.array([0.0, jnp.nan, 1.0])
    pts = jax.vmap(lambda t: L.bezier_point(P, OTHER, P, t))(ts)
    assert _all_nan(jax.tree.map(lambda x: x[1], pts))
    np.testing.assert_array_equal(pts["w"][0], P["w"])
    np.testing.assert_array_equal(pts["w"][2], OTHER["w"])


def test_random_direction_vmapped_over_keys_is_valid_and_distinct():
    """Keys are the one argument meant to be vmapped: each key gives its own filter-normalized direction."""
    params = {"k": jnp.arange(6.0).reshape(3, 2) + 1}
    ds = jax.vmap(lambda k: L.random_direction(k, params))(jax.random.split(KEY, 3))
    norms = jnp.linalg.norm(ds["k"], axis=1)  # (3 keys, 2 filters)
    np.testing.assert_allclose(norms, jnp.broadcast_to(jnp.linalg.norm(params["k"], axis=0), (3, 2)), rtol=1e-5)
    assert not np.allclose(ds["k"][0], ds["k"][1])


def test_bezier_curve_refuses_another_optimizers_kind_of_state():
    """The control point's optimizer is any optax transformation; a plain function is refused by name."""
    with pytest.raises(ValueError, match="optimizer"):
        L.bezier_curve(KEY, loss, P, OTHER, optimizer=optax.adam)
