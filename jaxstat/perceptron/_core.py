"""What the perceptron modules share: input checks and Rosenblatt's rule on masked data.

:func:`train_impl` is the one implementation of the rule; :func:`~jaxstat.perceptron.train`,
:func:`~jaxstat.perceptron.train_multiclass`, :func:`~jaxstat.perceptron.separability_sweep`
and :func:`~jaxstat.perceptron.teacher_student` all run it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import as_float_array, check_key, is_concrete


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


def check_x(x):
    """Validate inputs ``x`` of shape (P, N): float, at least one sample and feature, finite."""
    x = as_float_array(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (P, N) (P samples of N features); got shape {tuple(x.shape)}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x must have at least one sample and one feature; got shape {tuple(x.shape)}")
    if is_concrete(x) and not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError("x must be finite; got NaN or inf entries")
    return x


def check_data(x, y):
    """Validate ``x`` of shape (P, N) and labels ``y`` of shape (P,) in {-1, +1}."""
    x = check_x(x)
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


def bias_scale(x):
    # R^2 with R = max_i |x_i|: the bias input is R rather than 1 (see train).
    # Padded (masked) rows are zero, so they never set R.
    r2 = jnp.max(jnp.sum(x * x, axis=1))
    return jnp.where(r2 > 0, r2, jnp.ones_like(r2))


def train_impl(x, y, mask, lr, key, max_epochs, pocket, shuffle, bias):
    """Rosenblatt's rule on the rows of ``x`` where ``mask`` is True.

    The mask lets the sweeps of :mod:`jaxstat.perceptron.capacity` and
    :mod:`jaxstat.perceptron.teacher` run data sets of different sizes in one
    vmapped call: a masked sample never updates and never counts as an
    error, so a padded problem trains exactly as the unpadded one. Masked
    rows of ``x`` must be zero (they would otherwise set the bias scale).
    """
    p, n = x.shape
    r2 = bias_scale(x)

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
    # Under jit/vmap labels, inputs and lr cannot be checked with an error: labels other
    # than ±1 (0/1 classes), non-finite inputs on unmasked rows or an lr that is not
    # finite and > 0 make w and b NaN, never a plausible hyperplane.
    valid = jnp.all(~mask | ((jnp.abs(y) == 1) & jnp.all(jnp.isfinite(x), axis=1)))
    valid = valid & (lr > 0) & jnp.isfinite(lr)
    return TrainResult(jnp.where(valid, w, jnp.nan), jnp.where(valid, b, jnp.nan), errors)


def check_flag(value, name):
    """A Python/NumPy bool (flags select compiled code paths, so they are static)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_lr(lr, dtype):
    """A finite scalar learning rate > 0 (only the shape is checked when traced)."""
    if jnp.ndim(lr) != 0:
        raise ValueError(f"lr must be a scalar; got shape {jnp.shape(lr)}")
    if is_concrete(lr) and not (float(lr) > 0 and math.isfinite(float(lr))):
        raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
    return jnp.asarray(lr, dtype)


def shuffle_key(key):
    """``(shuffle, key)``: an optional key turns shuffling on (the library's rule for optional
    randomness); without one a fixed, unused key keeps one traced signature."""
    if key is None:
        return False, jax.random.key(0)
    return True, check_key(key)


def n_patterns(alphas, n):
    """``P = round(alpha N)`` rounded half up (not to even), shape ``(len(n), len(alphas))``."""
    return np.floor(alphas[None, :] * n[:, None] + 0.5).astype(np.int64)
