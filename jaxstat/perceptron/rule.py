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

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, check_key, check_positive_int, is_concrete

__all__ = ["TrainResult", "train", "predict", "training_errors"]


class TrainResult(NamedTuple):
    """What :func:`train` returns; unpacks as ``w, b, errors``.

    Attributes:
      w: weights, shape ``(N,)``.
      b: bias, a scalar.
      errors: int32, shape ``(max_epochs,)``: ``errors[e]`` is the number of
        samples misclassified (hence updates made) during epoch ``e``. Training
        stops after the first epoch with zero errors; later entries are padded
        with 0, so the first 0 marks convergence.
    """

    w: jax.Array
    b: jax.Array
    errors: jax.Array

    @property
    def converged(self) -> jax.Array:
        """True when an epoch passed with zero errors (strictly separated training set)."""
        return jnp.any(self.errors == 0, axis=-1)

    @property
    def n_epochs(self) -> jax.Array:
        """Epochs run: the epoch of convergence (counted from 1), else ``max_epochs``."""
        first_zero = jnp.argmax(self.errors == 0, axis=-1) + 1
        return jnp.where(self.converged, first_zero, self.errors.shape[-1])


def _check_x(x):
    """Validate inputs ``x`` of shape (P, N): float, at least one sample and feature, finite."""
    x = as_float_array(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (P, N) (P samples of N features); got shape {tuple(x.shape)}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x must have at least one sample and one feature; got shape {tuple(x.shape)}")
    if is_concrete(x) and not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError("x must be finite; got NaN or inf entries")
    return x


def _check_data(x, y):
    """Validate ``x`` of shape (P, N) and labels ``y`` of shape (P,) in {-1, +1}."""
    x = _check_x(x)
    y_arr = jnp.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != x.shape[0]:
        raise ValueError(
            f"y must have shape (P,) = ({x.shape[0]},), one label per row of x; got shape {tuple(y_arr.shape)}"
        )
    if is_concrete(y_arr):
        values = np.asarray(y_arr)
        bad = ~((values == 1) | (values == -1))
        if bad.any():
            raise ValueError(
                f"y must contain only labels -1 and +1; got {int(bad.sum())} other value(s), "
                f"e.g. {values[bad].ravel()[0]!r}"
            )
    return x, y_arr.astype(x.dtype)


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
    x, y = _check_data(x, y)
    w = as_float_array(w, "w")
    if w.shape != x.shape[1:]:
        raise ValueError(f"w must have shape {x.shape[1:]} (one weight per input of x); got {w.shape}")
    b = as_float_array(b, "b")
    if b.shape != ():
        raise ValueError(f"b must be a scalar bias; got shape {b.shape}")
    return jnp.sum(y * (x @ w + b) <= 0).astype(jnp.int32)


def _bias_scale(x):
    # R^2 with R = max_i |x_i|: the bias input is R rather than 1 (see train).
    # Padded (masked) rows are zero, so they never set R.
    r2 = jnp.max(jnp.sum(x * x, axis=1))
    return jnp.where(r2 > 0, r2, jnp.ones_like(r2))


def _train_impl(x, y, mask, lr, key, max_epochs, pocket, shuffle, bias):
    """Rosenblatt's rule on the rows of ``x`` where ``mask`` is True.

    The mask lets the sweeps of :mod:`jaxstat.perceptron.capacity` and
    :mod:`jaxstat.perceptron.teacher` run data sets of different sizes in one
    vmapped call: a masked sample never updates and never counts as an
    error, so a padded problem trains exactly as the unpadded one. Masked
    rows of ``x`` must be zero (they would otherwise set the bias scale).
    """
    p, n = x.shape
    r2 = _bias_scale(x)

    def n_err(w, b):
        return jnp.sum(mask & (y * (x @ w + b) <= 0)).astype(jnp.int32)

    def sample_step(carry, i):
        w, b, n_mis, pw, pb, perr = carry
        wrong = mask[i] & (y[i] * (x[i] @ w + b) <= 0)
        step = jnp.where(wrong, lr * y[i], jnp.zeros_like(lr * y[i]))
        w = w + step * x[i]
        if bias:
            b = b + step * r2
        n_mis = n_mis + wrong.astype(jnp.int32)
        if pocket:
            # Gallant's pocket: every visited (w, b) is scored on the whole
            # training set; the best so far stays in the pocket.
            e = n_err(w, b)
            better = e < perr
            pw = jnp.where(better, w, pw)
            pb = jnp.where(better, b, pb)
            perr = jnp.where(better, e, perr)
        return (w, b, n_mis, pw, pb, perr), None

    def cond(state):
        epoch, done = state[0], state[1]
        return (epoch < max_epochs) & ~done

    def body(state):
        epoch, _, w, b, pw, pb, perr, errors = state
        if shuffle:
            order = jax.random.permutation(jax.random.fold_in(key, epoch), p)
        else:
            order = jnp.arange(p)
        carry = (w, b, jnp.int32(0), pw, pb, perr)
        (w, b, n_mis, pw, pb, perr), _ = jax.lax.scan(sample_step, carry, order)
        errors = errors.at[epoch].set(n_mis)
        return (epoch + 1, n_mis == 0, w, b, pw, pb, perr, errors)

    w0 = jnp.zeros((n,), x.dtype)
    b0 = jnp.zeros((), x.dtype)
    n_samples = jnp.sum(mask).astype(jnp.int32)
    state = (jnp.int32(0), jnp.bool_(False), w0, b0, w0, b0, n_samples,
             jnp.zeros((max_epochs,), jnp.int32))
    _, _, w, b, pw, pb, _, errors = jax.lax.while_loop(cond, body, state)
    if pocket:
        w, b = pw, pb
    return TrainResult(w, b, errors)


_train_jit = jax.jit(_train_impl, static_argnames=("max_epochs", "pocket", "shuffle", "bias"))


def _check_flag(value, name):
    """A Python/NumPy bool (flags select compiled code paths, so they are static)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _check_lr(lr, dtype):
    """A finite scalar learning rate > 0 (only the shape is checked when traced)."""
    if jnp.ndim(lr) != 0:
        raise ValueError(f"lr must be a scalar; got shape {jnp.shape(lr)}")
    if is_concrete(lr) and not (float(lr) > 0 and math.isfinite(float(lr))):
        raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
    return jnp.asarray(lr, dtype)


def _shuffle_key(shuffle, key):
    """The key for ``shuffle=True``; a fixed unused key otherwise (one traced signature)."""
    if not shuffle:
        return jax.random.key(0)
    if key is None:
        raise ValueError("key must be a JAX PRNG key such as jax.random.key(0) when shuffle=True; got None")
    return check_key(key)


def train(x, y, lr=1.0, max_epochs=1000, pocket=False, key=None, shuffle=False, bias=True) -> TrainResult:
    """Train a perceptron with Rosenblatt's rule until no sample is misclassified.

    Starting from ``w = 0, b = 0``, each epoch visits every sample once (in
    order, or in a fresh random order when ``shuffle=True``) and, when sample
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
    sets, learning rates or keys; labels are then checked only for shape).

    Args:
      x: inputs, shape ``(P, N)``.
      y: labels in {-1, +1}, shape ``(P,)``.
      lr: learning rate ``η > 0``.
      max_epochs: the most epochs to run (static: the length of ``errors``).
      pocket: keep Gallant's "pocket" weights: of all ``(w, b)`` visited, the
        one with the fewest training errors is returned instead of the last
        iterate (for non-separable data). Every visited iterate is scored on
        the full training set, an extra ``O(P N)`` per sample.
      key: a PRNG key, required when ``shuffle=True``.
      shuffle: visit the samples in a new random order each epoch.
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
    x, y = _check_data(x, y)
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    pocket = _check_flag(pocket, "pocket")
    shuffle = _check_flag(shuffle, "shuffle")
    bias = _check_flag(bias, "bias")
    key = _shuffle_key(shuffle, key)
    lr = _check_lr(lr, x.dtype)
    mask = jnp.ones(x.shape[:1], bool)
    return _train_jit(x, y, mask, lr, key, max_epochs=max_epochs, pocket=pocket, shuffle=shuffle, bias=bias)
