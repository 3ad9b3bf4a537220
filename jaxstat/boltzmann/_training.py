"""What the two trainers, :func:`~jaxstat.boltzmann.fit` (RBM) and :func:`~jaxstat.boltzmann.learn`
(fully connected machine), share: one validation of their optimizer, optimizer state and
``observe``, and one way of stacking a history (internal)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxstat._validate import check_positive_int

__all__ = ["check_batch_size", "check_observe", "check_opt_state", "check_optimizer", "default_optimizer", "stack_history"]


def default_optimizer() -> optax.GradientTransformation:
    """Plain SGD with learning rate 0.1 (scikit-learn ``BernoulliRBM``'s default): both trainers' default.

    Momentum is an optax option: ``optax.sgd(0.05, momentum=0.9)``.

    >>> import optax
    >>> isinstance(default_optimizer(), optax.GradientTransformation)
    True
    """
    # A fresh object each time is fine: the trainers' compile caches compare optimizers by
    # structure (jaxstat._static.Static), not identity.
    return optax.sgd(0.1)


def check_optimizer(optimizer, default) -> optax.GradientTransformation:
    """``optimizer``, or ``default`` when it is None; anything without ``init``/``update`` is refused."""
    optimizer = default if optimizer is None else optimizer
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise ValueError(
            f"optimizer must be an optax GradientTransformation such as optax.sgd(0.05); got {type(optimizer).__name__}"
        )
    return optimizer


def _describe(tree) -> str:
    leaves = jax.tree.leaves(tree)
    return f"{jax.tree.structure(tree)} with leaf shapes {[tuple(jnp.shape(x)) for x in leaves]}"


def check_opt_state(opt_state, optimizer, params):
    """``optimizer.init(params)`` when ``opt_state`` is None; else ``opt_state``, if it has that state's
    tree structure, leaf shapes and dtypes (a state from another optimizer or other parameters is refused)."""
    if opt_state is None:
        return optimizer.init(params)
    expected = jax.eval_shape(optimizer.init, params)
    same = jax.tree.structure(opt_state) == jax.tree.structure(expected)
    if same:
        same = all(
            tuple(jnp.shape(x)) == tuple(e.shape) and jnp.result_type(x) == e.dtype
            for x, e in zip(jax.tree.leaves(opt_state), jax.tree.leaves(expected))
        )
    if not same:
        raise ValueError(
            "opt_state must be the state of this optimizer for these parameters (a previous result's "
            f"opt_state, trained with the same optimizer); expected {_describe(expected)}, got {_describe(opt_state)}"
        )
    return opt_state


def check_observe(observe):
    if observe is not None and not callable(observe):
        raise ValueError(f"observe must be a function params -> pytree, or None; got {type(observe).__name__}")
    return observe


def check_batch_size(batch_size, n_samples: int) -> int:
    """A minibatch size in [1, n_samples]; None means the whole data set (full batch)."""
    if batch_size is None:
        return n_samples
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > n_samples:
        raise ValueError(f"batch_size must be <= the number of samples in data ({n_samples}); got {batch_size}")
    return batch_size


def stack_history(observed: list):
    """Per-epoch (or per-step) records stacked along a new leading axis; None when nothing was observed."""
    if not observed or observed[0] is None:
        return None
    return jax.tree.map(lambda *xs: jnp.stack(xs), *observed)
