r"""The sampler protocol, the spin state, and the single-site acceptance rules.

A sampler is a pytree with two pure methods (blackjax's ``SamplingAlgorithm``,
optax's ``GradientTransformation``, equinox's modules-as-pytrees)::

    sampler = jaxstat.mcmc.glauber(model)
    state = sampler.init(spins)
    state, info = sampler.step(key, state, beta)   # one sweep

The model's arrays (couplings, fields) and, for replica exchange, the ladder
of betas are *leaves* of the sampler; sizes, the rule and the boundary
conditions are static fields. :func:`jaxstat.mcmc.run` and every compiled
helper take the sampler as a traced argument, so a new disorder sample or a
retuned ladder of the same shapes reuses the compiled program. ``beta`` is an
ordinary (traced) argument too, so a new temperature, a vmapped ladder or an
annealing schedule never recompiles. Keys are passed in, never stored. One
step is one sweep: N single-spin update attempts, or the move documented by
the sampler (one Wolff cluster, one Swendsen–Wang update, one exchange round).

Every state exposes ``spins`` and ``energy``; ``info`` is a NamedTuple whose
fields :func:`~jaxstat.mcmc.run` averages over each record.

Writing your own sampler: subclass :class:`Sampler` with
:func:`register_sampler` (a frozen dataclass registered as a pytree; mark
static fields with ``dataclasses.field(metadata=dict(static=True))``) and
define ``init`` and ``step``.

Rules, for a spin :math:`s_i` with local field :math:`h_i`:

* Metropolis: flip with probability :math:`\min(1, e^{-\beta \Delta E})`,
  :math:`\Delta E = 2 s_i h_i`, decided in log space.
* Glauber (heat bath): :math:`P(s_i = +1) = 1 / (1 + e^{-2\beta h_i})`.

Both are exact at ``beta = inf`` (zero-temperature dynamics, a quench):
each spin is set along its field, and a spin whose field is exactly zero
keeps its value (the library's tie rule, docs/conventions.md), so Metropolis
flips only when :math:`\Delta E < 0`. No NaN, no overflow.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxstat._kernels import as_spins
from jaxstat import ising
from jaxstat._validate import check_beta, check_key
from jaxstat._cpu import fast_sum, random_bits


def static_field(**kwargs):
    """A dataclass field that is static (part of the pytree structure, not a leaf).

    Example: see :func:`register_sampler`.
    """
    return dataclasses.field(metadata=dict(static=True), **kwargs)


def register_sampler(cls):
    """Make ``cls`` a frozen dataclass registered as a pytree.

    Fields are leaves unless declared with :func:`static_field`. Equality and
    hashing are by identity (``eq=False``): a sampler holds arrays, and the
    compile caches key on its structure and leaf shapes, never on its hash.

    Example (a sampler of your own: ``run`` and parallel tempering apply to it):
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> from jaxstat.mcmc import Sampler, SpinState, register_sampler, static_field
      >>> @register_sampler
      ... class FlipAll(Sampler):
      ...     # propose flipping every spin; accept by Metropolis (a toy for h = 0 models)
      ...     model: object
      ...     name: str = static_field(default="flip-all")
      ...     def init(self, spins):
      ...         return SpinState(spins=spins, field=None, energy=js.ising.energy(self.model, spins))
      ...     def step(self, key, state, beta):
      ...         flipped = -state.spins
      ...         e = js.ising.energy(self.model, flipped)
      ...         accept = jnp.log(jax.random.uniform(key)) < -beta * (e - state.energy)
      ...         new = jax.tree.map(lambda a, b: jnp.where(accept, a, b), SpinState(flipped, None, e), state)
      ...         return new, js.mcmc.SweepInfo(acceptance_rate=accept.astype(jnp.float32))
      >>> s = FlipAll(js.ising.lattice((4, 4)))
      >>> jax.tree.leaves(s) == jax.tree.leaves(s.model), s.name
      (True, 'flip-all')
      >>> _, trace = js.mcmc.run(jax.random.key(0), s, jnp.ones((4, 4)), 0.5, 10)
      >>> trace["energy"].shape
      (10,)
    """
    cls = dataclasses.dataclass(frozen=True, eq=False)(cls)
    if "step" in vars(cls):
        cls.step = _checks_key(cls.step)
    return jax.tree_util.register_dataclass(cls)


def _checks_key(step):
    """``step`` that refuses a non-key first argument (an int, a loss) with a clear error at trace
    time, before it reaches jax.random's internals."""

    @functools.wraps(step)
    def checked(self, key, *args, **kwargs):
        check_key(key)
        return step(self, key, *args, **kwargs)

    return checked


def default_observe(state) -> dict:
    """The default trace: the total energy ``E`` and the magnetization per spin ``m``.

    Example:
      >>> import jax.numpy as jnp, jaxstat as js
      >>> state = js.mcmc.checkerboard(js.ising.lattice((4, 4))).init(jnp.ones((4, 4)))
      >>> {k: float(v) for k, v in js.mcmc.default_observe(state).items()}
      {'energy': -32.0, 'magnetization': 1.0}
    """
    return {"energy": state.energy, "magnetization": fast_sum(state.spins) / state.spins.size}


class Sampler:
    """Base class of every jaxstat sampler (a pytree; see the module docstring).

    Subclasses define:

    * ``init(spins) -> state``: validate one configuration and build the state
      (caching what the step needs: local fields, energy).
    * ``step(key, state, beta) -> (state, info)``: one step. A sampler that
      carries its own ladder of betas (:func:`~jaxstat.mcmc.parallel_tempering`)
      takes ``step(key, state)`` and sets ``has_ladder = True``.
    * optionally ``observe(state) -> pytree``: what :func:`~jaxstat.mcmc.run`
      records by default (here: the total energy E and the magnetization per spin m).
    """

    has_ladder = False  #: True when the sampler holds its own betas (run then takes beta=None)

    @property
    def site_shape(self) -> tuple:
        """Shape of one configuration (the model's sites)."""
        return ising.site_shape(self.model)

    def init(self, spins):  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, key, state, beta):  # pragma: no cover - abstract
        raise NotImplementedError

    def observe(self, state):
        """The default record of :func:`~jaxstat.mcmc.run`: see :func:`default_observe`."""
        return default_observe(state)


class SpinState(NamedTuple):
    """State of a spin sampler (single-spin, checkerboard, cluster, Kawasaki).

    Attributes:
      spins: the configuration, shaped like the model's sites.
      field: cached local fields :math:`h_i(s)` (same shape), or ``None``
        where the sampler recomputes them.
      energy: cached energy :math:`E(s)`, a scalar. For an asymmetric model
        this is the formula's value, which is not conserved or minimized.
    """

    spins: jax.Array
    field: Any
    energy: jax.Array


class SweepInfo(NamedTuple):
    """Per-sweep diagnostics.

    Attributes:
      acceptance_rate: fraction of attempted single-spin updates that
        changed the spin.
    """

    acceptance_rate: jax.Array


RULES = ("metropolis", "glauber")


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    return rule


def uniform_open(key, shape, dtype):
    """Uniforms on the open interval (0, 1), cheaply, from raw random bits.

    ``(k + 1/2) 2^-b`` for a uniform b-bit integer k (b = 24 for float32, 53
    for float64): exact in the dtype, never 0 or 1, so ``log`` and ``logit``
    below are finite. The bits come from a fusible Threefry-2x32
    (:mod:`jaxstat._cpu`), the generator behind JAX's default keys;
    random numbers are most of the cost of a lattice sweep.
    """
    dtype = jnp.dtype(dtype)
    if dtype == jnp.float64:
        words = random_bits(key, (2,) + tuple(shape))
        hi = (words[0] >> 6).astype(dtype)  # 26 bits
        lo = (words[1] >> 5).astype(dtype)  # 27 bits
        return (hi * 2.0**27 + lo + 0.5) * (2.0 ** -53)
    k = random_bits(key, shape) >> 8
    return (k.astype(jnp.float32) + 0.5).astype(dtype) * jnp.asarray(2.0 ** -24, dtype)


# Each rule compares a precomputed variate of u with the field, so the one
# transcendental per site is paid once per sweep, not in every half-sweep:
#   Metropolis: u < exp(-beta dE)        <=>  beta dE < -log u
#   heat bath:  u < sigmoid(2 beta h)    <=>  logit(u) < 2 beta h
# Zero-temperature tie rule (docs/conventions.md), the same in every module:
# at beta = inf a spin whose local field is exactly zero keeps its value, so
# beta = inf is a quench that changes a spin only when the energy drops.


def metropolis_variate(u):
    """-log u: an Exp(1) variate (Metropolis accepts when beta dE < it)."""
    return -jnp.log(u)


def metropolis_from_variate(s, h, beta, v):
    """New spin(s) under Metropolis given ``v = -log u``."""
    dE = 2.0 * s * h
    # dE < 0 always flips; dE = 0 flips at finite beta (0 < v) and, by the
    # zero-temperature tie rule, not at beta = inf (inf * 0 is NaN, never < v).
    accept = (dE < 0) | (beta * dE < v)
    return jnp.where(accept, -s, s)


def glauber_variate(u):
    """logit(u): a logistic variate (heat bath sets +1 when it is < 2 beta h)."""
    return jnp.log(u) - jnp.log1p(-u)


def glauber_from_variate(s, h, beta, v):
    """New spin(s) under the heat-bath rule given ``v = logit(u)``."""
    # 2 beta h with beta = inf and h = 0 would be NaN. At finite beta a zero
    # field gives P(+1) = 1/2 (x = 0); at beta = inf the tie rule keeps the spin.
    x = jnp.where(h == 0, 0.0, 2.0 * beta * h)
    new = jnp.where(v < x, jnp.ones_like(s), -jnp.ones_like(s))
    return jnp.where((h == 0) & jnp.isinf(beta), s, new)


class Rule(NamedTuple):
    variate: Callable
    update: Callable


def update_rule(rule: str) -> Rule:
    if check_rule(rule) == "metropolis":
        return Rule(metropolis_variate, metropolis_from_variate)
    return Rule(glauber_variate, glauber_from_variate)


# XLA:CPU fuses a roll (slice + concatenate) of an array whose last axis is
# shorter than 128 into its consumer. The second half-sweep reads its
# neighbours' new spins through rolls, so the first half-sweep, the logarithm
# of its uniform included, was recomputed at every neighbour of every site:
# sweeps 5-9x slower (2D L = 64: 173 µs instead of 19 µs; 3D L = 64: 8.1 ms
# instead of 1.0 ms; 16 vmapped chains at L = 64 the same). A loop of two trips
# makes the first half's spins a buffer. On longer rows XLA keeps the rolls
# apart by itself, and there the loop's copy of its carry would cost 7-30%,
# so they keep straight-line code (benchmarks/RESULTS.md, 2026-12-03).
_ROLLS_FUSED_BELOW = 128


def two_half_sweeps(half_sweep, s):
    """Both half-sweeps of a checkerboard sweep: ``(spins after them, the second's fields)``.

    ``half_sweep(colour, s)`` updates the sites of ``colour`` (0 or 1, a Python int or a
    traced int32) and returns the new spins and the fields it used; the result is the same
    bit for bit whichever way it is run (see ``_ROLLS_FUSED_BELOW`` for why there are two).
    """
    if s.shape[-1] >= _ROLLS_FUSED_BELOW:
        s0, _ = half_sweep(0, s)
        return half_sweep(1, s0)
    return jax.lax.fori_loop(0, 2, lambda colour, carry: half_sweep(colour, carry[0]), (s, jnp.zeros_like(s)))


def check_state(state, shape, needs_field: bool):
    """Refuse a state made by another sampler's init (or a different model)."""
    if not isinstance(state, SpinState):
        raise ValueError(f"state must be a SpinState from this sampler's init; got {type(state).__name__}")
    if tuple(state.spins.shape) != tuple(shape):
        raise ValueError(
            f"state.spins must have this sampler's shape {tuple(shape)} (vmap step over chains); "
            f"got {tuple(state.spins.shape)}"
        )
    if needs_field and state.field is None:
        raise ValueError("state has no cached local fields: it was made by another sampler's init; "
                         "call this sampler's init(state.spins) first")


def one_configuration(model, spins):
    """``spins`` as one ±1 configuration of ``model`` in its dtype (validated when concrete)."""
    s = as_spins(model, spins)
    shape = ising.site_shape(model)
    if s.shape != shape:
        raise ValueError(
            f"spins must be one configuration of shape {shape} (vmap init over chains); got {s.shape}"
        )
    return s


def as_beta(beta, dtype):
    """Beta as a scalar array of the model's dtype (validated at the boundary)."""
    check_beta(beta)
    return jnp.asarray(beta, dtype)
