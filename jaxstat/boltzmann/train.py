r"""Training RBMs by contrastive divergence (CD-k), persistent CD (PCD) and PT-PCD.

The gradient (a surrogate loss whose ``jax.grad`` is the CD update) lives in
:mod:`jaxstat.boltzmann.contrastive`; here it is driven over epochs, one
compiled ``lax.scan`` per epoch, with an optax optimizer.

- **CD-k** (``persistent=False``): each step's chains start at the data
  minibatch and run ``k`` block-Gibbs sweeps.
- **PCD** (``persistent=True``, Tieleman 2008): the chains ("fantasy
  particles") carry over from step to step and epoch to epoch, ``k`` sweeps
  per step under the current parameters.
- **PT-PCD** (``tempering=betas``, Desjardins, Courville, Bengio, Vincent
  and Delalleau 2010): each fantasy particle is a ladder of replicas at
  inverse temperatures ``betas`` (the last one 1), moved by
  :func:`jaxstat.boltzmann.block_gibbs` and exchanged by
  :func:`jaxstat.mcmc.parallel_tempering` (non-reversible); the negative
  samples are the replicas at beta = 1. Hot replicas cross between modes
  that one Gibbs chain leaves rarely.

Which to use: on the tour's 64 x 64 RBM on the digits, the dips of PCD-1's
test log-likelihood (4 nats at the end of epoch 15) were not AIS misleading
(forward and reverse AIS with 30 times more temperatures agreed to 0.02
nats) nor chains that stopped mixing (the frozen models mixed in a few
sweeps), but particles lagging a model that moves fast: for 5 updates at a
time the model piled its mass on one digit class and the particles followed
late. More sweeps per update (``k=5``) cut the epoch-to-epoch swings from 4.2
to under 1 nat and gave a higher curve at every epoch but the last, for 3.4x
the (small) training time; ten-rung PT fantasy particles helped less (worst
dip 2 nats). ``docs/boltzmann.md`` has the numbers.

Speed (see ``benchmarks/boltzmann.py``): an epoch is one compiled
``lax.scan`` over its minibatches. The chains' state between steps is their
hidden layer, as in scikit-learn's ``BernoulliRBM``, so the ``p(h|v')`` of
the next sweep is the product the gradient computes anyway; data and chains
go through the free energy as one stacked batch (three matrix products per
PCD-1 step); softplus gets the derivative rule ``sigmoid``; an epoch's
random numbers are drawn before its scan, and its shuffle is done by NumPy.

Resuming: epoch ``e`` draws its shuffle and its Gibbs noise from
``fold_in(key, e)``, and its chains start from the visible states alone
(their hidden layer is drawn afresh from them). So ``fit(key, ...,
n_epochs=3)`` and ``fit(key, ..., n_epochs=2)`` continued by ``fit(key,
..., n_epochs=1, first_epoch=2, chains=r.chains, opt_state=r.opt_state)``
give bit-identical parameters (CD-k and PCD; PT-PCD restarts its ladders'
bookkeeping and resumes statistically, not bit for bit).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxstat._static import static  # re-created but equal callables share one compilation
from jaxstat._validate import check_key, check_positive_int
from jaxstat.boltzmann import _core
from jaxstat.boltzmann._training import (
    check_batch_size,
    check_observe,
    check_opt_state,
    check_optimizer,
    default_optimizer,
    stack_history,
)
from jaxstat.boltzmann.contrastive import stacked_gradient, update_step
from jaxstat.boltzmann.gibbs import block_gibbs
from jaxstat.boltzmann.rbm import RBM, check_params, check_visible
from jaxstat.mcmc.base import uniform_open
from jaxstat.mcmc.tempering import check_ladder, parallel_tempering

__all__ = ["FitResult", "default_optimizer", "fit"]


class FitResult(NamedTuple):
    """What :func:`fit` returns (the same fields as :class:`~jaxstat.boltzmann.LearnResult`).

    Attributes:
      params: the trained :class:`~jaxstat.boltzmann.RBM`.
      chains: ``(n_chains, n_visible)`` the last negative-phase visible
        samples (PCD's fantasy particles; pass them back as ``chains=`` to
        continue training); ``(n_chains, R, n_visible)`` with ``tempering``.
      opt_state: the optimizer state (pass back as ``opt_state=``).
      history: ``observe(params)`` after each epoch, stacked along a leading
        axis of length ``n_epochs``; ``None`` without ``observe``.
    """

    params: RBM
    chains: jax.Array
    opt_state: Any
    history: Any


@functools.partial(jax.jit, static_argnames=("optimizer", "batch_size", "k", "persistent", "observe"))
def _epoch(keys, epoch, params, opt_state, v, data, order, *, optimizer, batch_size, k, persistent, observe):
    k_noise, k_start = jax.random.fold_in(keys[0], epoch), jax.random.fold_in(keys[1], epoch)
    n_batches = order.shape[0] // batch_size
    batches = data[order].reshape(n_batches, batch_size, data.shape[1])
    # The chains enter an epoch as visible states and draw their hidden layer
    # here: the epoch is then a function of (params, opt_state, v) and its keys
    # alone, which makes a resumed run bit-identical to an uninterrupted one.
    h = _core.sample_hidden(params, v, uniform_open(k_start, (v.shape[0], params.n_hidden), v.dtype))
    # CD draws its k hidden layers at the data, PCD k-1 inside the sweeps and
    # one at the end: k hidden and k visible layers per step either way.
    noise = _core.sweep_noise(k_noise, params, (n_batches, k, h.shape[0]))

    def body(carry, xs):
        params, opt_state, h, _ = carry
        v_data, u_h, z_v = xs
        if not persistent:
            h = _core.sample_hidden(params, v_data, u_h[0])
            u_h = jnp.roll(u_h, -1, axis=0)  # the first layer is used up
        params, opt_state, h, v_model = update_step(optimizer, k, params, opt_state, h, v_data, u_h, z_v)
        return (params, opt_state, h, v_model), None

    (params, opt_state, h, v), _ = jax.lax.scan(body, (params, opt_state, h, v), (batches, *noise))
    observed = None if observe is None else observe(params)
    return params, opt_state, v, observed


@functools.partial(jax.jit, static_argnames=("optimizer", "batch_size", "k", "observe"))
def _epoch_tempered(key, epoch, params, opt_state, ladders, betas, data, order, *, optimizer, batch_size, k,
                    observe):
    """A PT-PCD epoch: ``ladders`` is a batch of TemperingStates, one per fantasy particle."""
    n_batches = order.shape[0] // batch_size
    batches = data[order].reshape(n_batches, batch_size, data.shape[1])
    keys = jax.random.split(jax.random.fold_in(key, epoch), n_batches)
    n_chains = ladders.replica.shape[0]

    def body(carry, xs):
        params, opt_state, ladders = carry
        v_data, k_step = xs
        # The sampler is built from the current parameters: it is data, no recompilation.
        pt = parallel_tempering(block_gibbs(params), betas)

        def sweep(states, key):
            return jax.vmap(pt.step)(jax.random.split(key, n_chains), states)[0], None

        ladders, _ = jax.lax.scan(sweep, ladders, jax.random.split(k_step, k))
        grads, _ = stacked_gradient(params, v_data, ladders.spins[:, -1])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, ladders), None

    (params, opt_state, ladders), _ = jax.lax.scan(body, (params, opt_state, ladders), (batches, keys))
    observed = None if observe is None else observe(params)
    return params, opt_state, ladders, observed


@functools.lru_cache(maxsize=64)
def _with_decay(optimizer, weight_decay: float):
    # Decay W only: decaying the biases would pull the visible biases away
    # from the data's base rates for no regularising benefit (Hinton's guide).
    if weight_decay == 0.0:
        return optimizer
    mask = lambda p: RBM(W=True, a=False, b=False, sigma=None if p.sigma is None else False)
    return optax.chain(optax.add_decayed_weights(weight_decay, mask=mask), optimizer)


def _order(k_shuffle, epoch, n_samples, n_used):
    """Epoch ``epoch``'s minibatch order, a function of the key and the epoch index alone."""
    # Shuffled on the host: XLA's CPU sort (jax.random.permutation) took
    # longer than all of an epoch's updates on the digits. The NumPy
    # generator is seeded from fold_in(key, epoch), so results stay a function of key.
    rng = np.random.default_rng(np.asarray(jax.random.bits(jax.random.fold_in(k_shuffle, epoch), (4,))))
    return rng.permutation(n_samples)[:n_used].astype(np.int32)


def fit(
    key,
    params: RBM,
    data,
    *,
    n_epochs: int,
    batch_size: int | None = 20,
    optimizer: optax.GradientTransformation | None = None,
    k: int = 1,
    persistent: bool = True,
    weight_decay: float = 0.0,
    n_chains: int | None = None,
    chains=None,
    opt_state=None,
    observe: Callable[[RBM], Any] | None = None,
    tempering=None,
    first_epoch: int = 0,
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
      batch_size: samples per update, <= n_samples; ``None``: the whole data
        set (full batch).
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
      opt_state: optimizer state to resume from (a previous
        ``FitResult.opt_state``, from the same ``optimizer`` and
        ``weight_decay``); a state of another structure is refused.
      observe: optional ``observe(params) -> pytree`` evaluated (compiled)
        after each epoch, e.g. a pseudo-log-likelihood on held-out data.
      tempering: ``None``, or a ladder of inverse temperatures ending at 1
        (strictly increasing, e.g. ``jnp.linspace(0.2, 1.0, 10)``): PT-PCD,
        each fantasy particle a parallel-tempering ladder (PCD only; ``k``
        exchange rounds of one Gibbs sweep per rung per update). Its
        ``chains`` are then ``(n_chains, R, n_visible)``, one state per rung.
      first_epoch: the index of the first epoch run (>= 0): epoch ``e``
        draws its randomness from ``fold_in(key, e)``, so resuming with the
        same ``key``, ``first_epoch`` = the epochs already run, and the
        previous ``chains`` and ``opt_state`` continues the run exactly.

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
    first_epoch = check_positive_int(first_epoch, "first_epoch", minimum=0)
    k = check_positive_int(k, "k")
    data = check_visible(params, data, "data")
    if data.ndim != 2 or data.shape[0] < 1:
        raise ValueError(f"data must have shape (n_samples, n_visible) with n_samples >= 1; got shape {tuple(data.shape)}")
    batch_size = check_batch_size(batch_size, data.shape[0])
    if not isinstance(persistent, (bool, np.bool_)):
        raise ValueError(f"persistent must be True (PCD) or False (CD-k); got {persistent!r}")
    if isinstance(weight_decay, bool) or not (
        isinstance(weight_decay, (int, float, np.integer, np.floating)) and 0 <= weight_decay < np.inf
    ):
        raise ValueError(f"weight_decay must be a finite number >= 0; got {weight_decay!r}")
    optimizer = _with_decay(check_optimizer(optimizer, default_optimizer()), float(weight_decay))
    observe = check_observe(observe)
    if tempering is not None:
        betas = check_ladder(tempering, "tempering").astype(params.W.dtype)
        if not persistent:
            raise ValueError("tempering (PT fantasy particles) needs persistent=True; CD-k restarts at the data")
        if abs(float(betas[-1]) - 1.0) > 1e-6:
            raise ValueError(f"tempering must end at beta = 1 (the model being trained); got {float(betas[-1])!r}")

    k_init, k_shuffle, k_noise, k_start = jax.random.split(key, 4)
    n_used = (data.shape[0] // batch_size) * batch_size
    if persistent:
        if chains is not None:
            if n_chains is not None:
                raise ValueError("pass n_chains or chains, not both; chains sets the number of chains")
            v = check_visible(params, chains, "chains")
            want = 3 if tempering is not None else 2
            if v.ndim != want:
                shape = "(n_chains, R, n_visible)" if tempering is not None else "(n_chains, n_visible)"
                raise ValueError(f"chains must have shape {shape}; got shape {tuple(v.shape)}")
        else:
            n_chains = batch_size if n_chains is None else check_positive_int(n_chains, "n_chains")
            # chains start at random data rows
            v = data[jax.random.randint(k_init, (n_chains,), 0, data.shape[0])]
    else:
        if n_chains is not None or chains is not None:
            raise ValueError(
                "n_chains and chains are for persistent=True; CD-k restarts one chain at each "
                f"minibatch sample; got n_chains={n_chains!r}, chains of shape {np.shape(chains)}"
            )
        v = data[:batch_size]
    opt_state = check_opt_state(opt_state, optimizer, params)
    epochs = range(first_epoch, first_epoch + n_epochs)
    if tempering is not None:
        return _fit_tempered(k_noise, k_shuffle, params, data, betas, v, opt_state, n_used, epochs, optimizer,
                             batch_size, k, observe)

    history = []
    for epoch in epochs:
        order = _order(k_shuffle, epoch, data.shape[0], n_used)
        params, opt_state, v, observed = _epoch(
            (k_noise, k_start), epoch, params, opt_state, v, data, order,
            optimizer=static(optimizer), batch_size=batch_size, k=k, persistent=bool(persistent),
            observe=static(observe),
        )
        history.append(observed)
    return FitResult(params, v, opt_state, stack_history(history))


def _fit_tempered(k_noise, k_shuffle, params, data, betas, v, opt_state, n_used, epochs, optimizer,
                  batch_size, k, observe):
    """The epochs of PT-PCD (see :func:`fit`); ``v`` is ``(n_chains, n_visible)`` data rows or
    ``(n_chains, R, n_visible)`` chains."""
    n_rungs = betas.shape[0]
    if v.ndim == 2:  # every rung of a particle starts at one random data row
        v = jnp.broadcast_to(v[:, None], (v.shape[0], n_rungs, data.shape[1]))
    elif v.shape[1] != n_rungs:
        raise ValueError(f"chains must have one state per rung, shape (n_chains, {n_rungs}, n_visible); "
                         f"got shape {tuple(v.shape)}")
    pt = parallel_tempering(block_gibbs(params), betas)
    ladders = jax.vmap(pt.init)(v)
    history = []
    for epoch in epochs:
        order = _order(k_shuffle, epoch, data.shape[0], n_used)
        params, opt_state, ladders, observed = _epoch_tempered(
            k_noise, epoch, params, opt_state, ladders, betas, data, order,
            optimizer=static(optimizer), batch_size=batch_size, k=k, observe=static(observe),
        )
        history.append(observed)
    return FitResult(params, ladders.spins, opt_state, stack_history(history))
