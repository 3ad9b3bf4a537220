r"""Training RBMs by contrastive divergence (CD-k) and persistent CD (PCD).

The log-likelihood gradient of an RBM is a difference of two expectations of
the free-energy gradient,

.. math:: -\nabla_\theta \log p(v) = \nabla_\theta F(v)
          - \mathbb{E}_{v' \sim p}\left[\nabla_\theta F(v')\right],

so one minibatch step minimises the surrogate loss

.. math:: L(\theta) = \frac{1}{B}\sum_{b} F_\theta(v_b)
          - \frac{1}{C}\sum_{c} F_\theta(\operatorname{sg}(v'_c)),

with ``sg`` the stop-gradient and ``v'`` the negative ("model") samples of
``C`` Gibbs chains. ``jax.grad(L)`` is the update: for the weights it is
``-(<v p(h|v)>_data - <v p(h|v)>_model)``, the textbook
``<v h>_data - <v h>_model`` with each ``h`` replaced by its conditional
mean (a Rao–Blackwellised estimate, the same one scikit-learn uses);
``test_boltzmann_train.py`` checks the equality. No gradient is written by
hand, so Gaussian–Bernoulli RBMs (``sigma`` included) train with the same
code.

- **CD-k** (``persistent=False``): each step's chains start at the data
  minibatch and run ``k`` block-Gibbs sweeps.
- **PCD** (``persistent=True``, Tieleman 2008): the chains ("fantasy
  particles") carry over from step to step and epoch to epoch, ``k`` sweeps
  per step under the current parameters.

Speed (see ``benchmarks/boltzmann.py``): an epoch is one compiled
``lax.scan`` over its minibatches. The chains' state between steps is their
hidden layer, as in scikit-learn's ``BernoulliRBM``, so the ``p(h|v')`` of
the next sweep is the product the gradient computes anyway; data and chains
go through the free energy as one stacked batch (three matrix products per
PCD-1 step); softplus gets the derivative rule ``sigmoid``; an epoch's
random numbers are drawn before its scan, and its shuffle is done by NumPy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxstat._validate import check_key, check_positive_int
from jaxstat.boltzmann.rbm import (  # _hidden_input, _visible_quadratic: the terms of free_energy
    RBM,
    _hidden_input,
    _visible_quadratic,
    check_params,
    check_visible,
    free_energy,
    hidden_probs,
    visible_probs,
)
from jaxstat.mcmc.base import uniform_open

__all__ = ["FitResult", "cd_gradient", "contrastive_loss", "default_optimizer", "fit"]


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes:
      params: the trained :class:`~jaxstat.boltzmann.RBM`.
      chains: ``(n_chains, n_visible)`` the last negative-phase visible
        samples (PCD's fantasy particles; pass them back as ``chains=`` to
        continue training).
      opt_state: the optimizer state (pass back as ``opt_state=``).
      history: ``observe(params)`` after each epoch, stacked along a leading
        axis of length ``n_epochs``; ``None`` without ``observe``.
    """

    params: RBM
    chains: jax.Array
    opt_state: Any
    history: Any


def default_optimizer() -> optax.GradientTransformation:
    """Plain SGD with learning rate 0.1, scikit-learn ``BernoulliRBM``'s default.

    Momentum is an optax option: ``optax.sgd(0.05, momentum=0.9)``.
    """
    return _DEFAULT_OPTIMIZER


_DEFAULT_OPTIMIZER = optax.sgd(0.1)


def contrastive_loss(params: RBM, v_data, v_model) -> jax.Array:
    r"""``mean F(v_data) - mean F(sg(v_model))``: ``jax.grad`` of it is the CD/PCD update.

    Its value is not a log-likelihood (the log Z terms are missing); only its
    gradient is meaningful.

    Args:
      params: an :class:`~jaxstat.boltzmann.RBM`.
      v_data: ``(B, n_visible)`` a data minibatch.
      v_model: ``(C, n_visible)`` negative samples (gradients are stopped).

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import rbm
    >>> p = rbm(jax.random.key(0), 3, 2)
    >>> float(contrastive_loss(p, jnp.ones((4, 3)), jnp.ones((2, 3))))
    0.0
    """
    v_model = jax.lax.stop_gradient(v_model)
    return jnp.mean(free_energy(params, v_data)) - jnp.mean(free_energy(params, v_model))


@jax.custom_jvp
def _softplus(x):
    return jax.nn.softplus(x)


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    # softplus' = sigmoid. jax.nn.softplus differentiates through logaddexp,
    # whose derivative compiled to twice the rest of a training step on CPU;
    # this sigmoid is also the one hidden_probs computes, so XLA shares it.
    (x,), (dx,) = primals, tangents
    return _softplus(x), jax.nn.sigmoid(x) * dx


def _free_energy(params: RBM, v):
    """:func:`~jaxstat.boltzmann.free_energy` (same formula, same values) with the cheap softplus rule."""
    return _visible_quadratic(params, v) - jnp.sum(_softplus(_hidden_input(params, v)), axis=-1)


def _gradient(params: RBM, v_data, v_model):
    """``jax.grad(contrastive_loss)`` and ``p(h | v_model)``, in fewer products.

    Data and chains are stacked into one batch with weights ``1/B`` and
    ``-1/C``, so each layer costs one matrix product instead of two; the
    gradient is that of :func:`contrastive_loss` exactly, and
    ``p(h | v_model)`` is the same product as in the gradient's forward
    pass, which XLA computes once.
    """
    both = jnp.concatenate([v_data, jax.lax.stop_gradient(v_model)])
    n, c = v_data.shape[0], v_model.shape[0]
    weights = jnp.concatenate([jnp.full((n,), 1 / n, both.dtype), jnp.full((c,), -1 / c, both.dtype)])
    grads = jax.grad(lambda p: _free_energy(p, both) @ weights)(params)
    return grads, hidden_probs(params, both)[n:]


def _noise(key, params: RBM, shape):
    """Per-sweep randomness: uniforms for binary units, normals for Gaussian visible ones."""
    # The fusible Threefry of jaxstat.mcmc: half the cost of jax.random.uniform
    # here. Comparing logit(u) < x instead of u < p was slower (two logs per
    # variate cost more than the sigmoid they save).
    k_h, k_v = jax.random.split(key)
    dtype = params.W.dtype
    u_h = uniform_open(k_h, (*shape, params.n_hidden), dtype)
    if params.sigma is None:
        return u_h, uniform_open(k_v, (*shape, params.n_visible), dtype)
    return u_h, jax.random.normal(k_v, (*shape, params.n_visible), dtype)


def _h_from(params: RBM, v, u_h):
    return (u_h < hidden_probs(params, v)).astype(v.dtype)


def _v_from(params: RBM, h, z_v):
    mean = visible_probs(params, h)
    if params.sigma is None:
        return (z_v < mean).astype(h.dtype)
    return mean + params.sigma * z_v


def _step(optimizer, k, params, opt_state, h, v_data, u_h, z_v):
    """One minibatch update; ``h`` is the chains' hidden layer; noise is ``(k, C, .)``."""
    for i in range(k):  # k is small and static: unrolled sweeps h -> v -> h
        v_model = _v_from(params, h, z_v[i])
        if i < k - 1:
            h = _h_from(params, v_model, u_h[i])
    grads, p_h = _gradient(params, v_data, v_model)
    # Sampled with the parameters the gradient saw: p(h | v_model) is a
    # product the gradient computed anyway.
    h = (u_h[k - 1] < p_h).astype(h.dtype)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, h, v_model


@functools.partial(jax.jit, static_argnames=("optimizer", "batch_size", "k", "persistent", "observe"))
def _epoch(key, epoch, params, opt_state, h, v, data, order, *, optimizer, batch_size, k, persistent, observe):
    n_batches = order.shape[0] // batch_size
    k_noise = jax.random.fold_in(key, epoch)
    batches = data[order].reshape(n_batches, batch_size, data.shape[1])
    # CD draws its k hidden layers at the data, PCD k-1 inside the sweeps and
    # one at the end: k hidden and k visible layers per step either way.
    noise = _noise(k_noise, params, (n_batches, k, h.shape[0]))

    def body(carry, xs):
        params, opt_state, h, _ = carry
        v_data, u_h, z_v = xs
        if not persistent:
            h = _h_from(params, v_data, u_h[0])
            u_h = jnp.roll(u_h, -1, axis=0)  # the first layer is used up
        params, opt_state, h, v_model = _step(optimizer, k, params, opt_state, h, v_data, u_h, z_v)
        return (params, opt_state, h, v_model), None

    (params, opt_state, h, v), _ = jax.lax.scan(body, (params, opt_state, h, v), (batches, *noise))
    observed = None if observe is None else observe(params)
    return params, opt_state, h, v, observed


@functools.lru_cache(maxsize=64)
def _with_decay(optimizer, weight_decay: float):
    # Decay W only: decaying the biases would pull the visible biases away
    # from the data's base rates for no regularising benefit (Hinton's guide).
    if weight_decay == 0.0:
        return optimizer
    mask = lambda p: RBM(W=True, a=False, b=False, sigma=None if p.sigma is None else False)
    return optax.chain(optax.add_decayed_weights(weight_decay, mask=mask), optimizer)


def cd_gradient(key, params: RBM, v, k: int = 1, chains=None):
    r"""The CD-k (or, given ``chains``, PCD) gradient for one minibatch, by autodiff.

    The negative samples ``v'`` come from ``k`` block-Gibbs sweeps starting at
    the data ``v`` (CD) or at ``chains`` (PCD); the gradient is
    ``jax.grad`` of :func:`contrastive_loss`, which equals

    .. math:: -\left(\langle v\, p(h|v)^\top \rangle_{\text{data}}
              - \langle v'\, p(h|v')^\top \rangle_{\text{model}}\right)

    for ``W`` (and the same with ``v`` or ``p(h|v)`` alone for ``a`` and ``b``):
    a descent direction for the negative log-likelihood.

    Args:
      key: PRNG key for the Gibbs sweeps.
      params: an :class:`~jaxstat.boltzmann.RBM`.
      v: ``(B, n_visible)`` data minibatch.
      k: Gibbs sweeps (>= 1).
      chains: ``(C, n_visible)`` starting points of persistent chains, or ``None``.

    Returns:
      ``(grads, v_model)``: an ``RBM`` of gradients and the ``(C, n_visible)``
      negative samples they used.

    >>> import jax, jax.numpy as jnp
    >>> from jaxstat.boltzmann import rbm
    >>> p = rbm(jax.random.key(0), 4, 3)
    >>> g, v_model = cd_gradient(jax.random.key(1), p, jnp.ones((5, 4)), k=2)
    >>> g.W.shape, v_model.shape
    ((4, 3), (5, 4))
    """
    key = check_key(key)
    params = check_params(params)
    v = check_visible(params, v, "v")
    k = check_positive_int(k, "k")
    start = v if chains is None else check_visible(params, chains, "chains")
    if v.ndim != 2 or start.ndim != 2:
        raise ValueError(f"v and chains must have shape (n, n_visible); got {tuple(v.shape)}, {tuple(start.shape)}")
    return _cd_gradient(key, params, v, start, k)


@functools.partial(jax.jit, static_argnames="k")
def _cd_gradient(key, params, v, start, k):
    u_h, z_v = _noise(key, params, (k, start.shape[0]))
    v_model = start
    for i in range(k):
        v_model = _v_from(params, _h_from(params, v_model, u_h[i]), z_v[i])
    return _gradient(params, v, v_model)[0], v_model


@functools.partial(jax.jit, static_argnames="n_chains")
def _start(key, params, data, v, n_chains):
    """Chains' first states: ``v`` or random data rows, and hidden layers sampled from them."""
    k_v, k_h = jax.random.split(key)
    if v is None:
        v = data[jax.random.randint(k_v, (n_chains,), 0, data.shape[0])]
    return _h_from(params, v, uniform_open(k_h, (v.shape[0], params.n_hidden), v.dtype)), v


def fit(
    key,
    params: RBM,
    data,
    *,
    n_epochs: int,
    batch_size: int = 20,
    optimizer: optax.GradientTransformation | None = None,
    k: int = 1,
    persistent: bool = True,
    weight_decay: float = 0.0,
    n_chains: int | None = None,
    chains=None,
    opt_state=None,
    observe: Callable[[RBM], Any] | None = None,
) -> FitResult:
    """Train an RBM on ``data`` by PCD (default) or CD-k with an optax optimizer.

    Each epoch shuffles the data (a fresh permutation drawn from ``key``), splits
    it into ``n_samples // batch_size`` minibatches (the remainder, a
    different one each epoch, sits out) and runs one compiled ``lax.scan``
    of updates over them; see the module docstring for the gradient.

    Args:
      key: PRNG key (shuffling and Gibbs sampling).
      params: the initial :class:`~jaxstat.boltzmann.RBM`, e.g. from
        ``rbm(key, n_v, n_h, visible_bias=base_rate_bias(data))``.
      data: ``(n_samples, n_visible)``; {0, 1} for Bernoulli visible units.
      n_epochs: passes over the data (>= 1).
      batch_size: samples per update, <= n_samples.
      optimizer: an optax ``GradientTransformation`` minimising the loss;
        default :func:`default_optimizer` (SGD, learning rate 0.1). Momentum,
        Adam, schedules: pass e.g. ``optax.sgd(0.05, momentum=0.9)``.
      k: block-Gibbs sweeps per update (CD-k / PCD-k).
      persistent: ``True`` for PCD, ``False`` for CD-k.
      weight_decay: L2 coefficient λ, applied to ``W`` only (gradient
        ``+ λ W``, via ``optax.add_decayed_weights``); biases are not decayed.
      n_chains: PCD fantasy particles (default ``batch_size``); CD uses one
        chain per minibatch sample, so it must be ``None`` there.
      chains: ``(n_chains, n_visible)`` PCD chains to resume from (a previous
        ``FitResult.chains``); default: ``n_chains`` random data samples.
      opt_state: optimizer state to resume from (a previous ``FitResult.opt_state``).
      observe: optional ``observe(params) -> pytree`` evaluated (compiled)
        after each epoch, e.g. a pseudo-log-likelihood on held-out data.

    Returns:
      :class:`FitResult` ``(params, chains, opt_state, history)``.

    Each distinct combination of ``optimizer``, ``batch_size``, ``k``,
    ``persistent``, ``observe`` and array shapes compiles one epoch function;
    ``n_epochs`` and ``key`` do not recompile.

    >>> import jax, jax.numpy as jnp, optax
    >>> from jaxstat.boltzmann import rbm, base_rate_bias, reconstruction_error
    >>> data = jnp.array([[1, 1, 0, 0], [0, 0, 1, 1]] * 50, jnp.float32)
    >>> p0 = rbm(jax.random.key(0), 4, 2, scale=0.1, visible_bias=base_rate_bias(data))
    >>> r = fit(jax.random.key(1), p0, data, n_epochs=20, batch_size=10,
    ...         optimizer=optax.sgd(0.1, momentum=0.9),
    ...         observe=lambda p: reconstruction_error(p, data))
    >>> r.params.W.shape, r.chains.shape, r.history.shape
    ((4, 2), (10, 4), (20,))
    >>> bool(r.history[-1] < r.history[0])   # mean-field reconstructions improve
    True
    """
    key = check_key(key)
    params = check_params(params)
    n_epochs = check_positive_int(n_epochs, "n_epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    k = check_positive_int(k, "k")
    data = check_visible(params, data, "data")
    if data.ndim != 2:
        raise ValueError(f"data must have shape (n_samples, n_visible); got shape {tuple(data.shape)}")
    if batch_size > data.shape[0]:
        raise ValueError(f"batch_size must be <= the number of samples in data ({data.shape[0]}); got {batch_size}")
    if not isinstance(persistent, (bool, np.bool_)):
        raise ValueError(f"persistent must be True (PCD) or False (CD-k); got {persistent!r}")
    if isinstance(weight_decay, bool) or not (
        isinstance(weight_decay, (int, float, np.integer, np.floating)) and 0 <= weight_decay < np.inf
    ):
        raise ValueError(f"weight_decay must be a finite number >= 0; got {weight_decay!r}")
    optimizer = default_optimizer() if optimizer is None else optimizer
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ValueError(f"optimizer must be an optax GradientTransformation; got {type(optimizer).__name__}")
    if observe is not None and not callable(observe):
        raise ValueError(f"observe must be a function params -> pytree, or None; got {type(observe).__name__}")
    optimizer = _with_decay(optimizer, float(weight_decay))

    key, k_init, k_shuffle = jax.random.split(key, 3)
    # Shuffled on the host: XLA's CPU sort (jax.random.permutation) took
    # longer than all of an epoch's updates on the digits. The NumPy
    # generator is seeded from key, so results stay a function of key.
    rng = np.random.default_rng(np.asarray(jax.random.bits(k_shuffle, (4,))))
    n_used = (data.shape[0] // batch_size) * batch_size
    if persistent:
        if chains is not None:
            if n_chains is not None:
                raise ValueError("pass n_chains or chains, not both; chains sets the number of chains")
            v = check_visible(params, chains, "chains")
            if v.ndim != 2:
                raise ValueError(f"chains must have shape (n_chains, n_visible); got shape {tuple(v.shape)}")
        else:
            n_chains = batch_size if n_chains is None else check_positive_int(n_chains, "n_chains")
            v = None
    else:
        if n_chains is not None or chains is not None:
            raise ValueError(
                "n_chains and chains are for persistent=True; CD-k restarts one chain at each "
                f"minibatch sample; got n_chains={n_chains!r}, chains of shape {np.shape(chains)}"
            )
        v = data[:batch_size]
    h, v = _start(k_init, params, data, v, n_chains)
    opt_state = optimizer.init(params) if opt_state is None else opt_state

    history = []
    for epoch in range(n_epochs):
        order = rng.permutation(data.shape[0])[:n_used].astype(np.int32)
        params, opt_state, h, v, observed = _epoch(
            key, epoch, params, opt_state, h, v, data, order,
            optimizer=optimizer, batch_size=batch_size, k=k, persistent=bool(persistent), observe=observe,
        )
        history.append(observed)
    history = None if observe is None else jax.tree.map(lambda *xs: jnp.stack(xs), *history)
    return FitResult(params, v, opt_state, history)
