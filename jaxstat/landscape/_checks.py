"""Boundary checks shared by the landscape tools.

A landscape function receives ``loss(params) -> scalar`` and a pytree of
parameters. Everything a user can get wrong about that pair (a loss that is
not a scalar, a NaN at the centre, a direction shaped unlike the parameters)
is caught here with a ValueError that names the argument, before XLA sees it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxstat._validate import check_finite, is_concrete


def check_params(params, name: str = "params"):
    """A non-empty pytree of float32/float64 arrays; returns it with array leaves."""
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"{name} must be a pytree with at least one array leaf; got {params!r:.80}")
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        dtype = jnp.result_type(leaf)
        if dtype not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
            where = jax.tree_util.keystr(path) or "(root)"
            raise ValueError(
                f"{name} must hold float32 or float64 arrays (the loss is differentiated in them); "
                f"got dtype {dtype} at {name}{where}"
            )
    return params


def n_params(params) -> int:
    """Total number of scalars in the pytree."""
    return int(sum(math.prod(jnp.shape(x)) for x in jax.tree_util.tree_leaves(params)))


def check_loss(loss, params, name: str = "loss"):
    """``loss(params)`` must be a real scalar, and finite at the centre when concrete.

    The shape is checked abstractly (no FLOPs); the value is checked by one
    evaluation when ``params`` are concrete, because a NaN at the centre makes
    every curvature estimate NaN without saying why.
    """
    if not callable(loss):
        raise ValueError(f"{name} must be a callable loss(params) -> scalar; got {type(loss).__name__}")
    try:
        out = jax.eval_shape(loss, params)
    except Exception as err:  # the user's function failed on these params: say where
        raise ValueError(f"{name}(params) failed on the given params: {type(err).__name__}: {err}") from err
    if not hasattr(out, "shape") or out.shape != ():
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"{name}(params) must return a scalar; got shape {shape}")
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(f"{name}(params) must return a real float scalar; got dtype {out.dtype}")
    leaves = jax.tree_util.tree_leaves(params)
    if all(is_concrete(x) for x in leaves):
        # Concrete params inside a caller's jit (a closure): evaluate eagerly, not staged into the trace.
        with jax.ensure_compile_time_eval():
            value = float(loss(params))
        if not math.isfinite(value):
            raise ValueError(f"{name}(params) must be finite at the centre params; got {value}")
    return loss


def check_like(v, params, name: str, params_name: str = "params"):
    """``v`` must have the pytree structure and leaf shapes of ``params``.

    Returns ``v`` with each leaf cast to the dtype of the matching parameter,
    so products with the Hessian keep the parameters' precision.
    """
    tv, tp = jax.tree_util.tree_structure(v), jax.tree_util.tree_structure(params)
    if tv != tp:
        raise ValueError(f"{name} must have the pytree structure of {params_name}; got {tv}, expected {tp}")
    pv = jax.tree_util.tree_flatten_with_path(v)[0]
    pp = jax.tree_util.tree_leaves(params)
    out = []
    for (path, a), b in zip(pv, pp):
        if jnp.shape(a) != jnp.shape(b):
            where = jax.tree_util.keystr(path)
            raise ValueError(
                f"{name}{where} must have the shape of {params_name}{where}, {jnp.shape(b)}; got {jnp.shape(a)}"
            )
        if jnp.issubdtype(jnp.result_type(a), jnp.complexfloating):
            raise ValueError(f"{name}{jax.tree_util.keystr(path)} must be real; got {jnp.result_type(a)}")
        a = jnp.asarray(a, dtype=jnp.result_type(b))
        out.append(check_finite(a, f"{name}{jax.tree_util.keystr(path)}"))
    return jax.tree_util.tree_unflatten(tv, out)


def check_choice(value, name: str, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_positive_float(value, name: str):
    try:
        x = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a positive number; got {value!r}") from err
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return x


def check_tolerance(value, name: str):
    """A tolerance: a finite number >= 0 (0 switches early stopping off)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number >= 0; got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number >= 0; got {value!r}") from err
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return x


def flat_problem(loss, params):
    """``(x0, unravel, loss_flat)``: the loss as a function of one flat vector.

    The Krylov methods work on flat vectors (matfree ravels anyway); one
    ravel here keeps shapes and dtypes in one place.
    """
    x0, unravel = ravel_pytree(params)

    def loss_flat(x):
        return loss(unravel(x))

    return x0, unravel, loss_flat


def hvp_flat(loss_flat, x0):
    """Forward-over-reverse Hessian-vector product on flat vectors."""
    grad = jax.grad(loss_flat)

    def matvec(v):
        return jax.jvp(grad, (x0,), (v.astype(x0.dtype),))[1]

    return matvec


def as_numpy_scalar(x):
    return np.asarray(x).item()
