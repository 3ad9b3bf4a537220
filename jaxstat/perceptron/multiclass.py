r"""Multiclass classification with one perceptron per class (one-vs-rest).

For ``C`` classes, perceptron ``c`` learns whether a sample belongs to class
``c``: it is trained on labels :math:`y^{(c)}_\mu = +1` if
:math:`\ell_\mu = c` and :math:`-1` otherwise. A sample is assigned to the
class whose perceptron is most confident,

.. math:: \hat\ell(x) = \operatorname{argmax}_c \,(w_c \cdot x + b_c),

which also decides the samples that no perceptron, or several, claim. The
scores of different perceptrons are not calibrated against each other
(Rosenblatt's rule fixes only the direction of ``(w_c, b_c)``, not its
length), so the argmax is a heuristic; it is the one the course notes use.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, check_positive_int, is_concrete
from jaxstat.perceptron._core import (
    TrainResult,
    check_flag,
    check_lr,
    check_x,
    shuffle_key,
    train_impl,
)

__all__ = ["MulticlassResult", "predict_multiclass", "train_multiclass"]


class MulticlassResult(NamedTuple):
    """What :func:`train_multiclass` returns; unpacks as ``weights, biases, errors``.

    Attributes:
      weights: shape ``(C, N)``, row ``c`` the weights of class ``c``'s perceptron.
      biases: shape ``(C,)``.
      errors: int32, shape ``(C, max_epochs)``: updates per epoch of each
        perceptron, as ``TrainResult.errors``.
    """

    weights: jax.Array
    biases: jax.Array
    errors: jax.Array

    @property
    def converged(self) -> jax.Array:
        """Per class, shape ``(C,)``: that class was strictly separated from the rest."""
        return TrainResult(self.weights, self.biases, self.errors).converged


def _check_labels(labels, p, n_classes):
    arr = np.asarray(labels) if is_concrete(labels) else None
    if arr is None:
        raise ValueError("labels must be a concrete array (train_multiclass does not run under jit/vmap)")
    if arr.ndim != 1 or arr.shape[0] != p:
        raise ValueError(f"labels must have shape (P,) = ({p},), one class per row of x; got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) and not np.issubdtype(arr.dtype, np.bool_)):
        raise ValueError(f"labels must be integers in [0, n_classes); got dtype {arr.dtype}")
    if n_classes is None:
        if arr.min() < 0:
            raise ValueError(f"labels must be integers in [0, n_classes); got {arr.min()}")
        if arr.max() < 1:
            raise ValueError("labels must hold at least two classes when n_classes is not given; got only class 0")
        n_classes = int(arr.max()) + 1
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    bad = (arr < 0) | (arr >= n_classes)
    if bad.any():
        raise ValueError(f"labels must be integers in [0, n_classes) = [0, {n_classes}); got {arr[bad][0]}")
    return arr, n_classes


def train_multiclass(
    x, labels, n_classes=None, lr=1.0, max_epochs=1000, pocket=True, key=None
) -> MulticlassResult:
    """Train ``C`` one-vs-rest perceptrons, all in one vmapped call.

    Perceptron ``c`` is :func:`~jaxstat.perceptron.train` (with a bias) on
    labels ``+1`` where ``labels == c`` and ``-1`` elsewhere; the ``C`` runs
    share one compiled ``jax.vmap`` over classes (a class that converges
    early waits, unchanged, for the others). Pocket weights are on by
    default because one class is rarely linearly separable from all the
    others in real data; they cost ``O(P N)`` per sample and class.

    Args:
      x: inputs, shape ``(P, N)``.
      labels: integer classes in ``[0, n_classes)``, shape ``(P,)``.
      n_classes: ``C >= 2``; default ``max(labels) + 1``.
      lr: learning rate, as for :func:`~jaxstat.perceptron.train`.
      max_epochs: epoch cap, as for :func:`~jaxstat.perceptron.train`.
      pocket: keep the best weights seen (default True), as for
        :func:`~jaxstat.perceptron.train`.
      key: optional PRNG key, as for :func:`~jaxstat.perceptron.train`
        (with a ``key`` each class visits the samples in its own random order).

    Returns:
      A :class:`MulticlassResult` ``(weights (C, N), biases (C,), errors (C, max_epochs))``
      with ``.converged`` per class.

    >>> import jax.numpy as jnp
    >>> x = jnp.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [0.3, 0.2], [4.2, 0.1], [0.1, 3.8]])
    >>> labels = jnp.array([0, 1, 2, 0, 1, 2])
    >>> w, b, errors = train_multiclass(x, labels, max_epochs=100)
    >>> w.shape, predict_multiclass(w, b, x).tolist()
    ((3, 2), [0, 1, 2, 0, 1, 2])
    """
    x = check_x(x)
    labels, n_classes = _check_labels(labels, x.shape[0], n_classes)
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    pocket = check_flag(pocket, "pocket")
    shuffle, key = shuffle_key(key)
    keys = jax.random.split(key, n_classes)
    lr = check_lr(lr, x.dtype)
    y = np.where(labels[None, :] == np.arange(n_classes)[:, None], 1, -1)
    result = _multiclass_jit(x, jnp.asarray(y, x.dtype), lr, keys, max_epochs=max_epochs, pocket=pocket,
                             shuffle=shuffle)
    return MulticlassResult(result.w, result.b, result.errors)


def _multiclass_impl(x, y, lr, keys, max_epochs, pocket, shuffle):
    mask = jnp.ones(x.shape[:1], bool)
    one = lambda y_c, k: train_impl(x, y_c, mask, lr, k, max_epochs, pocket, shuffle, True)
    return jax.vmap(one)(y, keys)


_multiclass_jit = jax.jit(_multiclass_impl, static_argnames=("max_epochs", "pocket", "shuffle"))


def predict_multiclass(w, b, x) -> jax.Array:
    """Classes ``argmax_c (w_c . x + b_c)`` (ties go to the lowest class).

    Args:
      w: weights, shape ``(C, N)``.
      b: biases, shape ``(C,)``.
      x: inputs, shape ``(..., N)``.

    Returns:
      int32 classes of shape ``x.shape[:-1]``.

    >>> import jax.numpy as jnp
    >>> w = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> predict_multiclass(w, jnp.zeros(2), jnp.array([[2.0, 1.0], [0.0, 3.0]])).tolist()
    [0, 1]
    """
    w = as_float_array(w, "w")
    b = as_float_array(b, "b")
    x = as_float_array(x, "x")
    if w.ndim != 2:
        raise ValueError(f"w must have shape (C, N), one row per class; got shape {tuple(w.shape)}")
    if b.shape != w.shape[:1]:
        raise ValueError(f"b must have shape (C,) = ({w.shape[0]},), one bias per row of w; got shape {tuple(b.shape)}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"x must have shape (..., N) with N = w.shape[1] = {w.shape[1]}; got shape {tuple(x.shape)}")
    return jnp.argmax(x @ w.T + b, axis=-1).astype(jnp.int32)
