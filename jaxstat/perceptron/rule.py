"""Rosenblatt's perceptron rule and its pocket variant, as one compiled loop.

A perceptron with weights ``w`` (shape ``(N,)``) and bias ``b`` labels an
input ``x`` by the side of the hyperplane ``w . x + b = 0`` it lies on:

.. math:: \\hat y(x) = \\operatorname{sign}(w \\cdot x + b) \\in \\{-1, +1\\},

with ``sign(0) = -1``. Labels are ``y = ±1``, as spins elsewhere in jaxstat.
A sample is *misclassified* by ``(w, b)`` when ``y (w . x + b) <= 0``: a point
on the boundary counts as an error, so zero training errors certifies
*strict* linear separability.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxstat._validate import as_float_array, check_positive_int
from jaxstat.perceptron._core import (
    TrainResult,
    check_data,
    check_flag,
    check_lr,
    shuffle_key,
    train_impl,
)

__all__ = ["TrainResult", "predict", "train", "training_errors"]


def predict(w, b, x) -> jax.Array:
    """Labels ``sign(x @ w + b)`` in {-1, +1} (a point on the boundary gets -1).

    Args:
      w: weights, shape ``(N,)``.
      b: bias, a scalar.
      x: inputs, shape ``(..., N)``.

    Returns:
      int32 labels of shape ``x.shape[:-1]``.

    >>> import jax.numpy as jnp
    >>> predict(jnp.array([1.0, -1.0]), 0.5, jnp.array([[2.0, 1.0], [0.0, 3.0]])).tolist()
    [1, -1]
    """
    w = as_float_array(w, "w")
    x = as_float_array(x, "x")
    if w.ndim != 1 or x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"x must have shape (..., N) with N = len(w) = {w.shape[0] if w.ndim == 1 else '?'} "
            f"and w shape (N,); got x shape {tuple(x.shape)}, w shape {tuple(w.shape)}"
        )
    if jnp.ndim(b) != 0:
        raise ValueError(f"b must be a scalar; got shape {jnp.shape(b)}")
    return jnp.where(x @ w + b > 0, 1, -1).astype(jnp.int32)


def training_errors(w, b, x, y) -> jax.Array:
    """Number of samples with ``y (w . x + b) <= 0`` (boundary points count as errors).

    Args:
      w: weights, shape ``(N,)``.
      b: the bias, a scalar.
      x: inputs, shape ``(P, N)``.
      y: labels ±1, shape ``(P,)``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
      >>> int(js.perceptron.training_errors(jnp.array([1.0, 0.0]), 0.0, x, jnp.array([1.0, 1.0, -1.0])))
      1
    """
    x, y = check_data(x, y)
    w = as_float_array(w, "w")
    if w.shape != x.shape[1:]:
        raise ValueError(f"w must have shape {x.shape[1:]} (one weight per input of x); got {w.shape}")
    b = as_float_array(b, "b")
    if b.shape != ():
        raise ValueError(f"b must be a scalar bias; got shape {b.shape}")
    return jnp.sum(y * (x @ w + b) <= 0).astype(jnp.int32)


_train_jit = jax.jit(train_impl, static_argnames=("max_epochs", "pocket", "shuffle", "bias"))


def train(x, y, lr=1.0, max_epochs=1000, pocket=False, key=None, bias=True) -> TrainResult:
    """Train a perceptron with Rosenblatt's rule until no sample is misclassified.

    Starting from ``w = 0, b = 0``, each epoch visits every sample once (in
    order, or in a fresh random order when a ``key`` is given) and, when sample
    ``i`` is misclassified (``y_i (w . x_i + b) <= 0``), updates

    .. math:: w \\leftarrow w + \\eta\\, y_i x_i, \\qquad b \\leftarrow b + \\eta\\, y_i R^2,
              \\qquad R = \\max_i \\lVert x_i \\rVert .

    This is Rosenblatt's rule on the augmented input ``(x, R)`` with weight
    ``(w, b / R)`` (the primal perceptron of Cristianini & Shawe-Taylor).
    With a bias input of ``R`` rather than 1 the convergence bound
    (Novikoff: at most ``(2R / γ)^2`` updates for margin ``γ``) does not
    depend on the units of ``x``; with a bias input of 1, data in grams such
    as :func:`jaxstat.datasets.fruit` would need millions of updates. The
    boundary is ``w . x + b = 0`` either way. Because the start is zero the
    learning rate only rescales ``(w, b)``; it is kept for the textbook form.
    With ``bias=False`` the bias stays 0: a hyperplane through the origin,
    the perceptron of Gardner's capacity and of teacher-student learning.

    Training stops after the first epoch with zero errors or after
    ``max_epochs``. The epoch loop is one compiled ``lax.while_loop`` around a
    ``lax.scan`` over samples; ``train`` works under ``jax.vmap`` (over data
    sets, learning rates or keys; labels are then checked only for shape, and
    labels other than ±1 or non-finite inputs make ``w`` and ``b`` NaN).

    Args:
      x: inputs, shape ``(P, N)``.
      y: labels in {-1, +1}, shape ``(P,)``.
      lr: learning rate ``η > 0``.
      max_epochs: the most epochs to run (static: the length of ``errors``).
      pocket: keep Gallant's "pocket" weights: of all ``(w, b)`` visited, the
        one with the fewest training errors is returned instead of the last
        iterate (for non-separable data). Every visited iterate is scored on
        the full training set, an extra ``O(P N)`` per sample.
      key: optional PRNG key; given, the samples are visited in a new random
        order each epoch (without one, in order: deterministic).
      bias: learn a bias ``b``; ``False`` keeps ``b = 0``.

    Returns:
      A :class:`TrainResult` that unpacks as ``w, b, errors``; it also
      reports ``.converged`` (zero training errors reached: the data are
      strictly linearly separable, a certificate) and ``.n_epochs``. When
      ``converged`` is False nothing is proven: use
      :func:`~jaxstat.perceptron.linearly_separable` to decide.

    >>> import jax.numpy as jnp
    >>> x = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> y = jnp.array([-1, -1, -1, 1])              # AND is separable
    >>> w, b, errors = train(x, y, max_epochs=100)
    >>> predict(w, b, x).tolist()
    [-1, -1, -1, 1]
    >>> result = train(x, jnp.array([-1, 1, 1, -1]), max_epochs=50)   # XOR is not
    >>> bool(result.converged), int(result.n_epochs)
    (False, 50)
    >>> float(train(x, y, bias=False).b)            # through the origin
    0.0
    """
    x, y = check_data(x, y)
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    pocket = check_flag(pocket, "pocket")
    bias = check_flag(bias, "bias")
    shuffle, key = shuffle_key(key)
    lr = check_lr(lr, x.dtype)
    mask = jnp.ones(x.shape[:1], bool)
    return _train_jit(x, y, mask, lr, key, max_epochs=max_epochs, pocket=pocket, shuffle=shuffle, bias=bias)
