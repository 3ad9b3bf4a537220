"""Directions in parameter space: random (filter-, layer- or un-normalized), PCA and Hessian.

A direction is a pytree shaped like the parameters. A raw Gaussian direction
has a scale unrelated to the weights it perturbs, and networks with
scale-invariant layers would look flat or sharp just by their weight norms.
Li, Xu, Taylor, Studer and Goldstein (2018, "Visualizing the loss landscape of
neural nets") fix this with **filter normalization**: each filter ``d_j`` of the
direction is rescaled to the norm of the matching filter ``w_j`` of the weights,

    d_j  <-  d_j · ||w_j|| / ||d_j||.

Convention (jaxstat-wide, Flax layouts): the **last axis** of an array of rank
>= 2 indexes filters. A Dense kernel ``(in, out)`` has one filter per output
unit, the column ``w[:, j]``; a Conv kernel ``(kh, kw, in, out)`` one per output
channel, ``w[..., j]``. Arrays of rank <= 1 (biases, norm scales) are zeroed
by default (``ignore="biasbn"``, as in Li et al.); with ``ignore=None`` a whole
1-D array counts as one filter (Li et al.'s reference code copies ``w``
instead, which is not a random direction). ``"layer"`` rescales each whole
array to the array's norm.

``pca_directions`` returns the top principal directions of a training
trajectory relative to its end point, also as in Li et al. (section 7). ``hessian_directions`` returns the
eigenvectors of the largest and of the most negative Hessian eigenvalue
(Böttcher and Wheeler), the plane in which a saddle shows as a saddle.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from jaxstat._validate import check_finite, check_key, check_positive_int, is_concrete
from jaxstat.landscape._checks import check_choice, check_like, check_params
from jaxstat.landscape.curvature import hessian_eigs

__all__ = ["random_direction", "normalize_like", "pca_directions", "PCADirections",
           "hessian_directions", "HessianDirections", "tree_dot", "tree_norm"]

_NORMALIZE = ("filter", "layer", None)
_IGNORE = ("biasbn", None)


def _check_tree_pair(a, b):
    ta, tb = jax.tree.structure(a), jax.tree.structure(b)
    if ta != tb:
        raise ValueError(f"b must have the pytree structure of a; got {tb}, expected {ta}")
    if not jax.tree.leaves(a):
        raise ValueError("a must be a pytree with at least one array leaf; got none")
    for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(b)):
        if jnp.shape(x) != jnp.shape(y):
            where = jax.tree_util.keystr(path)
            raise ValueError(f"b{where} must have the shape of a{where}, {jnp.shape(x)}; got {jnp.shape(y)}")


def tree_dot(a, b):
    """``Σ_leaves Σ_i a_i b_i``: the Euclidean inner product of two like-shaped pytrees.

    >>> import jax.numpy as jnp
    >>> float(tree_dot({"w": jnp.ones(2), "b": jnp.array(3.0)}, {"w": jnp.array([1.0, 2.0]), "b": jnp.array(2.0)}))
    9.0
    """
    _check_tree_pair(a, b)
    parts = jax.tree.leaves(jax.tree.map(lambda u, v: jnp.vdot(u, v), a, b))
    return sum(parts[1:], parts[0])


def tree_norm(a):
    """``sqrt(tree_dot(a, a))``.

    >>> import jax.numpy as jnp
    >>> float(tree_norm({"w": jnp.array([3.0]), "b": jnp.array(4.0)}))
    5.0
    """
    return jnp.sqrt(tree_dot(a, a))


def _rescale(d, w, axes):
    # Norms over ``axes`` leave one norm per filter; a zero direction slice
    # (probability zero for Gaussians, but possible for user directions)
    # stays zero instead of becoming NaN.
    dn = jnp.sqrt(jnp.sum(d * d, axis=axes, keepdims=True))
    wn = jnp.sqrt(jnp.sum(w * w, axis=axes, keepdims=True))
    return jnp.where(dn > 0, d * (wn / jnp.where(dn > 0, dn, 1)), 0).astype(d.dtype)


def _normalize_leaf(d, w, normalize, ignore):
    if normalize is None:
        return d
    if d.ndim <= 1 and ignore == "biasbn":
        return jnp.zeros_like(d)
    if normalize == "layer" or d.ndim <= 1:
        return _rescale(d, w, None)
    return _rescale(d, w, tuple(range(d.ndim - 1)))


def normalize_like(direction, params, normalize="filter", ignore="biasbn"):
    """Rescale ``direction`` to the scale of ``params`` (the normalization step of ``random_direction``).

    Args:
      direction: a pytree shaped like ``params``.
      params: the parameters whose filter/array norms set the scale.
      normalize: ``"filter"`` (each last-axis slice of a rank >= 2 array to the
        norm of the same slice of ``params``), ``"layer"`` (each array to its
        array's norm) or None (unchanged).
      ignore: ``"biasbn"`` zeroes rank <= 1 leaves when normalizing; None
        normalizes them as single filters. Has no effect with ``normalize=None``.

    >>> import jax.numpy as jnp
    >>> w = {"kernel": jnp.array([[3.0, 0.0], [4.0, 1.0]]), "bias": jnp.ones(2)}
    >>> d = {"kernel": jnp.array([[1.0, 2.0], [0.0, 0.0]]), "bias": jnp.ones(2)}
    >>> out = normalize_like(d, w)
    >>> out["kernel"].tolist(), out["bias"].tolist()
    ([[5.0, 1.0], [0.0, 0.0]], [0.0, 0.0])
    """
    check_choice(normalize, "normalize", _NORMALIZE)
    check_choice(ignore, "ignore", _IGNORE)
    check_params(params)
    direction = check_like(direction, params, "direction")
    return _normalize_tree(direction, params, normalize, ignore)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _normalize_tree(direction, params, normalize, ignore):
    # One compiled program instead of a few eager ops per leaf: big nets have many leaves.
    return jax.tree.map(lambda d, w: _normalize_leaf(d, w, normalize, ignore), direction, params)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _random_tree(key, params, normalize, ignore):
    # One draw for all leaves, cut into pieces: a sampler per leaf would compile
    # one threefry program per leaf, which dominates the cost for small nets.
    leaves, treedef = jax.tree.flatten(params)
    sizes = [math.prod(jnp.shape(w)) for w in leaves]
    flat = jax.random.normal(key, (sum(sizes),), jnp.result_type(*leaves))
    pieces = jnp.split(flat, list(itertools.accumulate(sizes))[:-1])
    gauss = [g.reshape(jnp.shape(w)).astype(jnp.result_type(w)) for g, w in zip(pieces, leaves)]
    return _normalize_tree(jax.tree.unflatten(treedef, gauss), params, normalize, ignore)


def random_direction(key, params, normalize="filter", ignore="biasbn"):
    """A Gaussian direction shaped like ``params``, normalized as Li et al. (2018).

    Every entry is drawn i.i.d. ``N(0, 1)`` in the dtype of its parameter, then
    rescaled by ``normalize_like(d, params, normalize, ignore)``: with
    ``"filter"`` each filter (last-axis slice of a rank >= 2 array: a Dense
    column, a Conv output channel) gets the norm of the same slice of
    ``params``; with ``"layer"`` each array gets the array's norm; with None
    the direction is a plain isotropic Gaussian over every parameter. With a
    normalization and ``ignore="biasbn"`` (default), biases and other rank <= 1
    leaves are zero.

    Args:
      key: a PRNG key.
      params: a pytree of float arrays (a dict, an ``nnx.State``, ...).
      normalize: ``"filter"``, ``"layer"`` or None.
      ignore: ``"biasbn"`` or None.

    Returns:
      A pytree with the structure, shapes and dtypes of ``params``.

    >>> import jax, jax.numpy as jnp
    >>> params = {"w": jnp.arange(6.0).reshape(3, 2), "b": jnp.ones(2)}
    >>> d = random_direction(jax.random.key(0), params)
    >>> jnp.allclose(jnp.linalg.norm(d["w"], axis=0), jnp.linalg.norm(params["w"], axis=0)).item()
    True
    >>> d["b"].tolist()
    [0.0, 0.0]
    """
    check_key(key)
    check_choice(normalize, "normalize", _NORMALIZE)
    check_choice(ignore, "ignore", _IGNORE)
    check_params(params)
    return _random_tree(key, params, normalize, ignore)


class PCADirections(NamedTuple):
    """What ``pca_directions`` returns.

    Attributes:
      directions: a tuple of ``n`` pytrees shaped like the parameters, orthonormal
        (``tree_dot(d_i, d_j) = δ_ij``), ordered by decreasing variance.
      explained_variance_ratio: ``(n,)`` fraction of ``Σ_t ||θ_t - θ_final||²`` along each.
      coordinates: ``(T, n)`` the snapshots projected on the directions,
        ``tree_dot(θ_t - θ_final, d_i)``: the trajectory drawn in the plane.
    """

    directions: tuple
    explained_variance_ratio: jax.Array
    coordinates: jax.Array


def pca_directions(snapshots, final_params, n=2) -> PCADirections:
    """Principal directions of a trajectory about its end point (Li et al. 2018, §7).

    With ``M`` the ``(T, P)`` matrix whose rows are ``θ_t - θ_final`` (not
    mean-centred: the end point is the origin of the plot), the directions are
    the top ``n`` right singular vectors of ``M``; explained variance ratios are
    ``s_i² / Σ_j s_j²``. Each direction's sign is fixed so that its largest-magnitude
    entry is positive.

    Args:
      snapshots: either a ``(T, P)`` array of flattened parameters in
        ``jax.flatten_util.ravel_pytree(final_params)`` order (as
        ``jaxstat.nets.train(..., snapshot_every=k).snapshots``), or a pytree
        like ``final_params`` whose leaves carry a leading ``T`` axis.
      final_params: the end point, a pytree of float arrays.
      n: number of directions, 1 <= n <= min(T, P).

    >>> import jax.numpy as jnp
    >>> final = {"a": jnp.zeros(3), "b": jnp.zeros((1, 1))}
    >>> traj = jnp.array([[2.0, 0, 0, 0], [0, 1.0, 0, 0], [-2.0, 0, 0, 0]])
    >>> r = pca_directions(traj, final, n=2)
    >>> r.directions[0]["a"].tolist(), [round(v, 3) for v in r.explained_variance_ratio.tolist()]
    ([1.0, 0.0, 0.0], [0.889, 0.111])
    """
    check_params(final_params, "final_params")
    flat_final, unravel = ravel_pytree(final_params)
    if isinstance(snapshots, (jax.Array,)) or hasattr(snapshots, "__array__"):
        M = jnp.asarray(snapshots)
        if M.ndim != 2 or M.shape[1] != flat_final.shape[0]:
            raise ValueError(
                f"snapshots must be a (T, {flat_final.shape[0]}) array of flattened params or a pytree "
                f"like final_params with a leading axis; got shape {M.shape}"
            )
    else:
        ts = jax.tree.structure(snapshots)
        if ts != jax.tree.structure(final_params):
            raise ValueError(f"snapshots must have the pytree structure of final_params; got {ts}")
        lead = {jnp.shape(x)[0] if jnp.ndim(x) else None for x in jax.tree.leaves(snapshots)}
        if len(lead) != 1 or None in lead:
            raise ValueError(f"snapshots leaves must share one leading (time) axis; got leading sizes {lead}")
        for s, w in zip(jax.tree.leaves(snapshots), jax.tree.leaves(final_params)):
            if jnp.shape(s)[1:] != jnp.shape(w):
                raise ValueError(f"snapshots leaves must be shaped (T, *param.shape); got {jnp.shape(s)} "
                                 f"for a parameter of shape {jnp.shape(w)}")
        M = jax.vmap(lambda t: ravel_pytree(t)[0])(snapshots)
    n = check_positive_int(n, "n")
    if n > min(M.shape):
        raise ValueError(f"n must be at most min(T, P) = {min(M.shape)}; got {n}")
    M = M.astype(flat_final.dtype)
    check_finite(M, "snapshots")
    if is_concrete(M):
        if not bool(jnp.any(M != flat_final)):
            raise ValueError(
                "snapshots never leave final_params (every row equals the end point): a trajectory that "
                "never moved has no principal directions"
            )
    vt, ratio, coords = _pca(M, flat_final, n)
    return PCADirections(tuple(unravel(v) for v in vt), ratio, coords)


@functools.partial(jax.jit, static_argnums=2)
def _pca(M, flat_final, n):
    M = M - flat_final
    _, s, vt = jnp.linalg.svd(M, full_matrices=False)
    vt = vt[:n]
    # SVD signs are arbitrary; pin them so results are reproducible across backends.
    sign = jnp.sign(vt[jnp.arange(n), jnp.argmax(jnp.abs(vt), axis=1)])
    vt = vt * sign[:, None]
    return vt, s[:n] ** 2 / jnp.sum(s**2), M @ vt.T


class HessianDirections(NamedTuple):
    """What ``hessian_directions`` returns.

    Attributes:
      top: a unit-norm pytree shaped like the parameters, the eigenvector of
        the largest Hessian eigenvalue.
      bottom: the same for the smallest (most negative) eigenvalue.
      eigenvalues: ``(2,)`` ``[lambda_max, lambda_min]``.
      residuals: ``(2,)`` ``||H v - lambda v||`` for each, the error bar of each eigenvalue.
    """

    top: object
    bottom: object
    eigenvalues: jax.Array
    residuals: jax.Array


def hessian_directions(key, loss, params, n_iter=None) -> HessianDirections:
    r"""The eigenvectors of the largest and of the most negative Hessian eigenvalue, as directions.

    Böttcher and Wheeler propose these instead of random directions: a random
    direction ``d`` sees the curvature ``d^T H d``, whose mean over the unit
    sphere is ``tr(H)/n``, so a random plane through a saddle almost always
    looks convex; the plane of ``(v_max, v_min)`` shows the steepest upward
    curvature beside the downward one when ``lambda_min < 0``. Computed by
    ``hessian_eigs(key, loss, params, 1, "both", n_iter=n_iter)``
    (Lanczos with full reorthogonalisation); each vector has unit norm over
    all leaves together and its sign is fixed so that its largest-magnitude
    entry is positive.

    Args:
      key: PRNG key for the Lanczos start vector.
      loss: ``loss(params) -> scalar`` over any pytree.
      params: the point where the Hessian is taken.
      n_iter: Krylov dimension (see ``hessian_eigs``); raise it when a residual is large.

    Returns:
      :class:`HessianDirections` ``(top, bottom, eigenvalues, residuals)``.

    >>> import jax, jax.numpy as jnp
    >>> loss = lambda p: 0.5 * (3.0 * p["a"][0] ** 2 - p["a"][1] ** 2) + p["b"] ** 2
    >>> r = hessian_directions(jax.random.key(0), loss, {"a": jnp.zeros(2), "b": jnp.array(0.0)})
    >>> [round(float(v), 4) for v in r.eigenvalues], r.bottom["a"].round(4).tolist()
    ([3.0, -1.0], [0.0, 1.0])
    """
    eig = hessian_eigs(key, loss, params, 1, "both", n_iter=n_iter)

    def pick(i):
        v = jax.tree.map(lambda x: x[i], eig.eigenvectors)
        flat = ravel_pytree(v)[0]
        sign = jnp.sign(flat[jnp.argmax(jnp.abs(flat))])
        return jax.tree.map(lambda x: x * sign.astype(x.dtype), v)

    return HessianDirections(pick(0), pick(1), eig.eigenvalues, eig.residuals)
