"""Flax NNX feedforward nets, an optax training loop, and the bridge to ``loss(params)``.

``mlp`` builds a multilayer perceptron ``x -> W_L σ(... σ(W_1 x + b_1) ...) + b_L``
(no activation after the last layer: it returns logits). ``widths=(n_in, n_out)``
is the one-layer perceptron. ``train`` fits it with any optax optimizer by
softmax cross-entropy on integer labels, full-batch or by minibatches (shuffled
when a ``key`` is given), and records the loss and accuracy after every epoch
(``TrainResult.history``) and, on request, flattened
parameter snapshots along the trajectory (the input of
``jaxstat.landscape.directions.pca_directions``).

The landscape tools take a loss as a pure function of a pytree of parameters;
``loss_fn`` and ``batched_loss_fn`` build that closure from an NNX model and
data: ``f, params = loss_fn(model, x, y)`` with ``params`` the model's
``nnx.Param`` state (an ``nnx.State`` pytree) and ``f(params)`` the mean
cross-entropy over the batch.

Training is compiled: the model is split once with ``nnx.split`` into a static
graph definition and array state, an epoch is a ``lax.scan`` over minibatches
and the whole run a ``lax.scan`` over epochs, inside one ``jit``.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.flatten_util import ravel_pytree

from jaxstat._static import static
from jaxstat._validate import as_float_array, check_finite, check_key, check_positive_int, is_concrete

__all__ = ["MLP", "mlp", "train", "TrainResult", "TrainHistory", "loss_fn", "batched_loss_fn", "cross_entropy", "accuracy"]

_ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid,
                "gelu": jax.nn.gelu, "identity": lambda z: z}


class MLP(nnx.Module):
    """A stack of ``nnx.Linear`` layers with an activation between them (none after the last)."""

    def __init__(self, widths, activation, rngs: nnx.Rngs):
        self.widths = tuple(widths)
        self.activation = activation
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(self.widths[:-1], self.widths[1:])])

    def __call__(self, x):
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        return last(x)


def mlp(key, widths=(64, 128, 128, 10), activation="tanh") -> MLP:
    """A Flax NNX multilayer perceptron returning logits.

    Layer ``l`` computes ``z_l = σ(z_{l-1} W_l + b_l)`` with kernels ``W_l`` of
    shape ``(widths[l-1], widths[l])`` (Flax's (in, out) convention) and LeCun
    normal initialization; the last layer has no activation. Two widths give
    the perceptron ``x W + b``.

    Args:
      key: a PRNG key or an ``nnx.Rngs``.
      widths: layer sizes ``(n_in, hidden..., n_out)``, at least two positive integers.
      activation: ``"tanh"``, ``"relu"``, ``"sigmoid"``, ``"gelu"``, ``"identity"`` or a callable.

    Returns:
      An ``MLP``; ``model(x)`` maps ``(..., n_in)`` to ``(..., n_out)``.

    >>> import jax
    >>> model = mlp(jax.random.key(0), widths=(64, 32, 10), activation="relu")
    >>> model(jax.numpy.zeros((5, 64))).shape
    (5, 10)
    >>> [layer.kernel[...].shape for layer in model.layers]
    [(64, 32), (32, 10)]
    """
    if isinstance(key, nnx.Rngs):
        rngs = key
    else:
        rngs = nnx.Rngs(params=check_key(key))
    try:
        widths = tuple(widths)
    except TypeError:
        raise ValueError(f"widths must be a sequence of at least two positive integers; got {widths!r}") from None
    if len(widths) < 2:
        raise ValueError(f"widths must have at least two entries (inputs and outputs); got {widths!r}")
    widths = tuple(check_positive_int(w, f"widths[{i}]") for i, w in enumerate(widths))
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)} or a callable; got {activation!r}")
        activation = _ACTIVATIONS[activation]
    elif not callable(activation):
        raise ValueError(f"activation must be a name or a callable; got {type(activation).__name__}")
    return MLP(widths, activation, rngs)


def _check_logits_labels(logits, labels):
    """Shapes always; label values when concrete. Returns ``(logits, labels, valid)``.

    ``valid`` is False where a (traced) label lies outside ``[0, n_classes)``:
    there optax's one-hot would be all zeros and give a finite, plausible loss.
    """
    logits = as_float_array(logits, "logits")
    labels = jnp.asarray(labels)
    if logits.ndim < 1 or logits.shape[-1] < 1:
        raise ValueError(f"logits must have a trailing class axis, shape (..., n_classes); got shape {logits.shape}")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f"labels must be integer class labels; got dtype {labels.dtype}")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"labels must have the shape of logits without its class axis, {logits.shape[:-1]}; got {labels.shape}"
        )
    n_classes = logits.shape[-1]
    if is_concrete(labels) and labels.size:
        host = np.asarray(labels)  # NumPy: inside a jit trace jnp.min of a constant would be staged
        lo, hi = int(host.min()), int(host.max())
        if lo < 0 or hi >= n_classes:
            hint = " (for ±1 labels use (y + 1) // 2)" if lo == -1 else ""
            raise ValueError(f"labels must lie in [0, {n_classes}) for {n_classes} classes; got {lo} to {hi}{hint}")
    return logits, labels, (labels >= 0) & (labels < n_classes)


def cross_entropy(logits, labels):
    """Per-sample softmax cross-entropy ``-log softmax(logits)[label]``, shape ``labels.shape``.

    A label outside ``[0, n_classes)`` raises a ValueError; inside ``jit`` or
    ``vmap``, where it cannot be checked, its sample's loss is NaN.

    >>> import jax.numpy as jnp
    >>> cross_entropy(jnp.zeros((2, 4)), jnp.array([0, 3])).tolist() == [float(jnp.log(4.0))] * 2
    True
    """
    logits, labels, valid = _check_logits_labels(logits, labels)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    return jnp.where(valid, ce, jnp.nan)


def accuracy(logits, labels):
    """Fraction of rows whose argmax equals the label (the mean over all leading axes).

    A label outside ``[0, n_classes)`` raises a ValueError; inside ``jit`` or
    ``vmap`` such a label makes the accuracy NaN.

    >>> import jax.numpy as jnp
    >>> round(float(accuracy(jnp.array([[2.0, 1.0], [0.0, 1.0], [3.0, 0.0]]), jnp.array([0, 1, 1]))), 4)
    0.6667
    """
    logits, labels, valid = _check_logits_labels(logits, labels)
    hits = (jnp.argmax(logits, axis=-1) == labels).astype(logits.dtype)
    return jnp.where(jnp.all(valid), jnp.mean(hits), jnp.nan)


def _check_data(model, x, y):
    x = as_float_array(x, "x")
    y = jnp.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (samples, features); got shape {x.shape}")
    check_finite(x, "x")
    if y.shape != (x.shape[0],) or not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(f"y must be integer labels of shape ({x.shape[0]},); got {y.dtype} of shape {y.shape}")
    if not isinstance(model, nnx.Module):
        raise ValueError(f"model must be a Flax NNX Module; got {type(model).__name__}")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one sample; got 0 rows")
    try:  # the model's output shape (abstractly: no state such as batch statistics is touched)
        n_classes = nnx.eval_shape(lambda m, xs: m(xs), model, x[:1]).shape[-1]
    except TypeError as err:
        raise ValueError(f"x has {x.shape[1]} features per sample, which the model does not accept: {err}") from None
    if is_concrete(y):
        lo, hi = int(jnp.min(y)), int(jnp.max(y))
        if lo < 0 or hi >= n_classes:
            hint = " (for ±1 labels use (y + 1) // 2)" if lo == -1 else ""
            raise ValueError(
                f"y must be class labels in [0, {n_classes}) for a model with {n_classes} outputs; "
                f"got labels from {lo} to {hi}{hint}"
            )
    return x, y


def _split(model):
    # Params are what training and the landscape move; everything else
    # (e.g. batch statistics) is held fixed, as in evaluation mode.
    return nnx.split(model, nnx.Param, ...)


def loss_fn(model, x, y) -> tuple[Callable, nnx.State]:
    """The mean cross-entropy over one batch as a pure function of the parameters.

    Returns ``(f, params)`` with ``params = nnx.split(model, nnx.Param, ...)[1]``
    (an ``nnx.State`` pytree) and ``f(params) = (1/n) Σ_i -log softmax(model_params(x_i))[y_i]``,
    a closure over the graph definition, the non-parameter state and the batch.

    >>> import jax
    >>> model = mlp(jax.random.key(0), (4, 3))
    >>> x, y = jax.numpy.ones((2, 4)), jax.numpy.array([0, 2])
    >>> f, params = loss_fn(model, x, y)
    >>> bool(jax.numpy.isclose(f(params), cross_entropy(model(x), y).mean()))
    True
    """
    x, y = _check_data(model, x, y)
    graphdef, params, rest = _split(model)

    def f(p):
        return jnp.mean(cross_entropy(nnx.merge(graphdef, p, rest)(x), y))

    return f, params


def batched_loss_fn(model, x, y, batch_size) -> tuple[Callable, nnx.State]:
    """Like ``loss_fn`` but evaluated in chunks of ``batch_size`` samples (``lax.map``).

    The result is the exact mean over all ``n`` samples: the last chunk is
    padded and its padding weighted by zero, so memory is bounded by one chunk
    whatever ``n``.

    >>> import jax
    >>> model = mlp(jax.random.key(0), (4, 3))
    >>> x, y = jax.random.normal(jax.random.key(1), (7, 4)), jax.numpy.arange(7) % 3
    >>> f, params = batched_loss_fn(model, x, y, batch_size=3)
    >>> bool(jax.numpy.isclose(f(params), loss_fn(model, x, y)[0](params)))
    True
    """
    x, y = _check_data(model, x, y)
    batch_size = check_positive_int(batch_size, "batch_size")
    n = x.shape[0]
    n_chunks = math.ceil(n / batch_size)
    pad = n_chunks * batch_size - n
    xs = jnp.pad(x, ((0, pad), (0, 0))).reshape(n_chunks, batch_size, -1)
    ys = jnp.pad(y, (0, pad)).reshape(n_chunks, batch_size)
    ws = (jnp.arange(n_chunks * batch_size) < n).reshape(n_chunks, batch_size).astype(x.dtype)
    graphdef, params, rest = _split(model)

    def f(p):
        def chunk(c):
            xc, yc, wc = c
            return jnp.sum(wc * cross_entropy(nnx.merge(graphdef, p, rest)(xc), yc))

        return jnp.sum(jax.lax.map(chunk, (xs, ys, ws))) / n

    return f, params


class TrainHistory(NamedTuple):
    """Per-epoch record of :func:`train`: ``loss`` and ``accuracy``, each ``(n_epochs,)``,
    on the full training set after the epoch's updates."""

    loss: jax.Array
    accuracy: jax.Array


class TrainResult(NamedTuple):
    """What :func:`train` returns.

    Attributes:
      params: the trained parameters, an ``nnx.State`` (``nnx.split(model, nnx.Param, ...)[1]``),
        the pytree ``loss_fn`` and the landscape tools take.
      model: the trained model (a new object; the input model is left as it was).
      opt_state: the optimizer state after the last step (pass it back as ``opt_state=`` to continue).
      history: a :class:`TrainHistory` ``(loss, accuracy)``, each ``(n_epochs,)``.
      snapshots: ``(n_snapshots, n_params)`` flattened parameters at epochs
        ``0, k, 2k, ...`` (``k = snapshot_every``; epoch 0 is the initial point),
        or ``None``; ``unravel(snapshots[i])`` turns a row back into a params pytree.
      unravel: inverse of the flattening (``jax.flatten_util.ravel_pytree`` order).
    """

    params: nnx.State
    model: nnx.Module
    opt_state: object
    history: TrainHistory
    snapshots: jax.Array | None
    unravel: Callable


def train(model, x, y, optimizer=None, n_epochs=100, batch_size=None, *, key=None, snapshot_every=None,
          opt_state=None) -> TrainResult:
    """Fit a classifier by softmax cross-entropy on integer labels with an optax optimizer.

    Each epoch takes ``n // batch_size`` optimizer steps on minibatches (the
    last ``n mod batch_size`` samples sit the epoch out), or a single
    full-batch step when ``batch_size`` is None. With ``key`` the minibatches
    come from a fresh random permutation every epoch; without it they take the
    samples in order, the same every epoch (randomness is an option that
    ``key`` turns on; full-batch training draws nothing). The run is one
    compiled ``lax.scan``.

    Args:
      model: a Flax NNX module mapping ``(n, d)`` inputs to ``(n, classes)`` logits.
      x: inputs ``(n, d)``, finite.
      y: int labels ``(n,)`` in ``[0, classes)``.
      optimizer: any ``optax.GradientTransformation`` (default ``optax.adam(1e-2)``).
      n_epochs: number of epochs, >= 1.
      batch_size: None for full batch, or an int in [1, n].
      key: optional PRNG key that turns on shuffling of the minibatches.
      snapshot_every: None, or record flattened parameters every that many epochs.
      opt_state: optional optimizer state to continue from (``TrainResult.opt_state``
        of a run with the same optimizer and model).

    Returns:
      A :class:`TrainResult` ``(params, model, opt_state, history, snapshots, unravel)``;
      the input ``model`` is not modified.

    >>> import jax, optax
    >>> from jaxstat.datasets import digits
    >>> x, y = digits()
    >>> model = mlp(jax.random.key(0), (64, 10))
    >>> r = train(model, x, y, optax.adam(0.05), n_epochs=20, snapshot_every=10)
    >>> r.history.loss.shape, r.snapshots.shape, bool(r.history.accuracy[-1] > 0.9)
    ((20,), (3, 650), True)
    """
    x, y = _check_data(model, x, y)
    optimizer = optax.adam(1e-2) if optimizer is None else optimizer
    if not isinstance(optimizer, optax.GradientTransformation):
        raise ValueError(f"optimizer must be an optax GradientTransformation; got {type(optimizer).__name__}")
    n_epochs = check_positive_int(n_epochs, "n_epochs")
    n = x.shape[0]
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size > n:
            raise ValueError(f"batch_size must be at most the number of samples {n}; got {batch_size}")
    shuffle = key is not None
    key = check_key(key) if shuffle else jax.random.key(0)  # unused without shuffling
    if snapshot_every is not None:
        snapshot_every = check_positive_int(snapshot_every, "snapshot_every")

    graphdef, params, rest = _split(model)
    _, unravel = ravel_pytree(params)
    fresh = optimizer.init(params)
    if opt_state is None:
        opt_state = fresh
    else:
        got, want = jax.tree.structure(opt_state), jax.tree.structure(fresh)
        shapes_ok = got == want and all(
            jnp.shape(a) == jnp.shape(b) for a, b in zip(jax.tree.leaves(opt_state), jax.tree.leaves(fresh)))
        if not shapes_ok:
            raise ValueError(
                "opt_state must be the state of this optimizer for this model (e.g. TrainResult.opt_state of a "
                f"run with the same optimizer); got a state of structure {got}, expected {want}"
            )
    (new_params, new_state), (loss_hist, acc_hist), snaps = _train_run(
        params, rest, opt_state, jax.random.split(key, n_epochs), x, y, graphdef=graphdef,
        optimizer=static(optimizer), batch_size=batch_size, shuffle=shuffle, snapshot_every=snapshot_every)
    return TrainResult(new_params, nnx.merge(graphdef, new_params, rest), new_state,
                       TrainHistory(loss_hist, acc_hist), snaps, unravel)


@functools.partial(jax.jit, static_argnames=("graphdef", "optimizer", "batch_size", "shuffle", "snapshot_every"))
def _train_run(params, rest, opt_state, keys, x, y, *, graphdef, optimizer, batch_size, shuffle, snapshot_every):
    """The whole run of :func:`train`, one compiled program per model structure, optimizer
    structure (a re-created equal optimizer hits the cache), data shapes and settings; the data
    are arguments, not constants, so new data of the same shapes reuse it too."""
    n, n_epochs = x.shape[0], keys.shape[0]
    n_batches = 1 if batch_size is None else n // batch_size

    def batch_loss(p, xb, yb):
        return jnp.mean(cross_entropy(nnx.merge(graphdef, p, rest)(xb), yb))

    def step(carry, batch):
        p, s = carry
        grads = jax.grad(batch_loss)(p, *batch)
        updates, s = optimizer.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), None

    def epoch(carry, k):
        if batch_size is None:
            batches = (x[None], y[None])
        else:
            order = jax.random.permutation(k, n) if shuffle else jnp.arange(n)
            idx = order[: n_batches * batch_size].reshape(n_batches, batch_size)
            batches = (x[idx], y[idx])
        carry, _ = jax.lax.scan(step, carry, batches)
        logits = nnx.merge(graphdef, carry[0], rest)(x)
        return carry, (jnp.mean(cross_entropy(logits, y)), accuracy(logits, y))

    carry = (params, opt_state)
    if snapshot_every is None:
        carry, hist = jax.lax.scan(epoch, carry, keys)
        return carry, hist, None
    n_blocks, n_tail = divmod(n_epochs, snapshot_every)

    def block(c, ks):
        c, h = jax.lax.scan(epoch, c, ks)
        return c, (h, ravel_pytree(c[0])[0])

    first = ravel_pytree(params)[0]
    carry, (hist, snaps) = jax.lax.scan(block, carry, keys[: n_blocks * snapshot_every].reshape(n_blocks, snapshot_every))
    hist = jax.tree.map(lambda h: h.reshape(-1), hist)
    if n_tail:
        carry, tail = jax.lax.scan(epoch, carry, keys[n_blocks * snapshot_every:])
        hist = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), hist, tail)
    return carry, hist, jnp.concatenate([first[None], snaps])
