r"""Multi-spin coding: the checkerboard sampler on bit-packed spins, 32 to a word.

``checkerboard(model, packed=True)`` stores each colour of a periodic lattice
as uint32 words (layout in :mod:`jaxstat.mcmc._packing`) and updates 32
spins with each word operation:

1. **Unsatisfied bonds.** For a site and one of its 2d neighbours the bond is
   unsatisfied when :math:`s_i \oplus s_j \oplus [J_{ij} < 0]` is 1, so
   ``u_k = S ^ N_k ^ neg_k`` marks 32 bonds at once.
2. **Their number** :math:`a \in \{0..2d\}` by bit-sliced adders over the 2d
   masks; the energy change of a flip is :math:`\Delta E = 2|J|(2d - 2a)`,
   so ``a`` picks one of 2d + 1 acceptance probabilities :math:`p_a`.
3. **The decision** :math:`u < p_a` for a 24-bit uniform ``u`` per site,
   compared *bit-sliced*: random words are the bit planes of 32 sites'
   uniforms, most significant first, and each threshold
   :math:`T_a = \mathrm{round}(p_a 2^{24})` is compared lane-wise by the
   usual less-than / equal recurrence. A flip is accepted with probability
   exactly :math:`T_a / 2^{24}`: ``p_a`` to within :math:`2^{-25}`, the same
   resolution as the float32 uniforms of the float path. Metropolis needs
   the d classes with :math:`\Delta E > 0` (the others always flip); the heat
   bath compares all 2d + 1.

Random bits come from the library's fused Threefry-2x32-20 (the generator
of JAX's default keys), counter-based and keyed per (seed, sweep, colour,
word, plane), so a sweep's bits depend on nothing but the key and the
site: the same on any device count. Each site uses 24 bits per sweep
against 32 in the float path, and everything else is a handful of word
operations per 32 sites, so the random bits are most of the cost.

The energy is kept exactly: :math:`E = -|J| (N_b - 2U)` with ``N_b = d N``
bonds and ``U`` the unsatisfied ones, counted by ``population_count`` on
the second colour's masks after its flips (every bond has one end there).

Supported: periodic lattices in any dimension with even sides, uniform
couplings or per-bond :math:`\pm J` (one magnitude), no field. Other models
are refused with a ValueError naming the supported cases.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import ising
from jaxstat._cpu import threefry2x32
from jaxstat._validate import invalid_beta_to_nan, is_concrete
from jaxstat.mcmc._packing import Layout
from jaxstat.mcmc.base import Sampler, SweepInfo, as_beta, one_configuration, register_sampler, static_field

__all__ = ["PackedCheckerboard", "PackedState", "pack_spins", "unpack_spins"]

_U = jnp.uint32
PLANES = 24  # bits of each site's uniform: acceptance probabilities are multiples of 2^-24
_ONE = 1 << PLANES


class PackedState(NamedTuple):
    """State of the packed checkerboard sampler.

    Attributes:
      words: uint32 ``(2, W, *rows)``: colour 0's and colour 1's spins, 32
        (or fewer, see :mod:`jaxstat.mcmc._packing`) to a word.
      energy: the energy, exact (kept from integer bond counts).

    ``state.spins`` unpacks the configuration (±1, the model's dtype), so a
    packed state reads like any other sampler's. The lattice shape is a class
    attribute (``state.site_shape``): states of one shape share one class.
    """

    words: jax.Array
    energy: jax.Array

    site_shape = None  #: the lattice shape (set on the per-shape subclass)

    @property
    def spins(self):
        """The ±1 configuration, unpacked on access (batch axes of ``words`` kept)."""
        return unpack_spins(self.words, self.site_shape, self.energy.dtype)


@functools.lru_cache(maxsize=None)
def _state_class(shape: tuple):
    """The subclass of :class:`PackedState` for one lattice shape (one class per shape, so
    equal shapes give equal pytree structures)."""
    return type("PackedState", (PackedState,), {"__slots__": (), "site_shape": shape})


def pack_spins(spins, shape=None):
    """±1 spins to the packed words of :func:`checkerboard` ``(..., packed=True)``.

    Args:
      spins: ±1 (or boolean, True = +1) array whose trailing axes are the
        lattice; leading axes (chains) are kept.
      shape: the lattice shape (default: all axes of ``spins``).

    Returns:
      uint32 words of shape ``(..., 2, W, *shape[:-1])``.

    Example:
      >>> import jax, jaxstat as js
      >>> s = js.ising.random_spins(jax.random.key(0), (4, 64))
      >>> w = js.mcmc.pack_spins(s)
      >>> w.shape, w.dtype, bool((js.mcmc.unpack_spins(w, (4, 64)) == s).all())
      ((2, 1, 4), dtype('uint32'), True)
    """
    spins = jnp.asarray(spins)
    shape = tuple(spins.shape) if shape is None else tuple(shape)
    _check_layout_shape(shape)
    if tuple(spins.shape[spins.ndim - len(shape):]) != shape:
        raise ValueError(f"spins must end with the lattice shape {shape}; got shape {tuple(spins.shape)}")
    return Layout(shape).pack(spins)


def unpack_spins(words, shape, dtype=jnp.float32):
    """Inverse of :func:`pack_spins`: words to ±1 spins of ``dtype``, shape ``(..., *shape)``.

    Example (a packed run's final configuration):
      >>> import jax, jaxstat as js
      >>> sampler = js.mcmc.checkerboard(js.ising.lattice((8, 8)), packed=True)
      >>> state, _ = js.mcmc.run(jax.random.key(0), sampler, js.ising.random_spins(jax.random.key(1), (8, 8)), 0.3, 5)
      >>> s = js.mcmc.unpack_spins(state.words, (8, 8))
      >>> s.shape, bool((s == state.spins).all())
      ((8, 8), True)
    """
    shape = tuple(shape)
    _check_layout_shape(shape)
    layout = Layout(shape)
    want = (2,) + layout.word_shape
    words = jnp.asarray(words)
    if words.dtype != jnp.uint32 or tuple(words.shape[words.ndim - len(want):]) != want:
        raise ValueError(f"words must be uint32 ending with shape {want} for lattice {shape}; "
                         f"got {words.dtype} {tuple(words.shape)}")
    return layout.unpack(words, dtype)


def _check_layout_shape(shape):
    if not shape or shape[-1] % 2 or shape[-1] < 2:
        raise ValueError(f"a packed lattice needs an even last side; got shape {shape}")


# --------------------------------------------------------------------------- #
# acceptance: thresholds per class and the bit-sliced comparison
# --------------------------------------------------------------------------- #
def flip_probabilities(rule: str, d: int, magnitude, beta):
    r"""Flip probability of a site with ``a = 0 .. 2d`` unsatisfied bonds, ``(2d + 1,)``.

    :math:`\Delta E_a = 2|J|(2d - 2a)`. Metropolis: :math:`\min(1, e^{-\beta\Delta E})`;
    heat bath: :math:`1 / (1 + e^{\beta \Delta E})`. At ``beta = inf`` a zero-field spin
    (:math:`\Delta E = 0`) keeps its value (the library's tie rule).
    """
    dE = 2.0 * magnitude * (2 * d - 2 * jnp.arange(2 * d + 1, dtype=magnitude.dtype))
    x = jnp.where(dE == 0, 0.0, beta * dE)  # inf * 0 would be NaN
    if rule == "metropolis":
        p = jnp.where(dE <= 0, 1.0, jnp.exp(-x))
    else:
        p = jax.nn.sigmoid(-x)
    return jnp.where(jnp.isinf(beta) & (dE == 0), 0.0, p)


def thresholds(p):
    """``round(p 2^24)`` as uint32 (``2^24`` means always)."""
    return jnp.round(jnp.clip(p.astype(jnp.float32), 0.0, 1.0) * _ONE).astype(_U)


def _random_planes(k0, k1, shape, colour):
    """The ``PLANES`` random words of every word of one colour, most significant plane first.

    Threefry-2x32 of the counter pair (word index, colour·2^16 + pair): each call gives two
    planes, so a site's 24-bit uniform is 12 encryptions shared by 32 sites.
    """
    index = jax.lax.iota(_U, int(np.prod(shape))).reshape(shape)
    for pair in range(PLANES // 2):
        a, b = threefry2x32(k0, k1, index, jnp.full(shape, (jnp.asarray(colour, _U) << _U(16)) + _U(pair)))
        yield a
        yield b


def below(planes, limits):
    """Bit-sliced ``u < T`` for each threshold ``T`` in ``limits`` (uint32 scalars), 32 lanes a word.

    ``planes`` yields the lanes' uniforms ``u`` bit plane by bit plane, most significant first.
    Returns one mask per threshold.
    """
    n = len(limits)
    less = [None] * n
    equal = [None] * n
    for p, plane in enumerate(planes):
        shift = _U(PLANES - 1 - p)
        for i, limit in enumerate(limits):
            t = _U(0) - ((limit >> shift) & _U(1))  # all ones where T's bit is 1
            if p == 0:
                less[i] = t & ~plane
                equal[i] = ~(plane ^ t)
            else:
                less[i] = less[i] | (equal[i] & t & ~plane)
                equal[i] = equal[i] & ~(plane ^ t)
    always = [_U(0) - (limit >> _U(PLANES)) for limit in limits]  # T = 2^24
    return [lt | al for lt, al in zip(less, always)]


def count_bits(masks):
    """Bit-sliced sum of 0/1 lanes: the binary digits (least significant first) of how many of
    ``masks`` have each lane set (a ripple-carry increment per mask)."""
    digits, most = [], 0
    for m in masks:
        carry = m
        for i in range(len(digits)):
            digits[i], carry = digits[i] ^ carry, digits[i] & carry
        most += 1
        if most >= 1 << len(digits):  # the count may need one more digit
            digits.append(carry)
    return digits


def equals(digits, value: int):
    """Lanes whose bit-sliced count equals ``value``."""
    out = None
    for i, digit in enumerate(digits):
        term = digit if (value >> i) & 1 else ~digit
        out = term if out is None else out & term
    return out


# --------------------------------------------------------------------------- #
# the sampler
# --------------------------------------------------------------------------- #
@register_sampler
class PackedCheckerboard(Sampler):
    """Checkerboard sampler on bit-packed spins (a pytree). Built by
    :func:`~jaxstat.mcmc.checkerboard` with ``packed=True``, which validates the model.

    Leaves: the model, the coupling magnitude ``|J|``, the packed negative-bond masks (per-bond
    couplings) or the sign word (uniform), and ``representable``, False when a traced model
    could not be checked and is not uniform or ±J without a field (every energy is then NaN).
    """

    model: Any
    magnitude: jax.Array
    negative: jax.Array
    representable: jax.Array
    rule: str = static_field(default="metropolis")

    @property
    def layout(self) -> Layout:
        return Layout(self.model.shape)

    def init(self, spins) -> PackedState:
        s = one_configuration(self.model, spins)
        words = self.layout.pack(s)
        energy = self._energy(sum(_popcount(words[1] ^ m, self.model.dtype) for m in self._masks(words, 1)))
        return _state_class(tuple(self.model.shape))(words=words, energy=energy)

    def _masks(self, words, colour: int):
        """The 2d neighbour words of colour ``colour``'s sites, each XOR its bonds' signs: XOR with
        the colour's own words, they mark the unsatisfied bonds."""
        layout = self.layout
        neighbours = layout.neighbours(words[1 - colour], colour)
        if self.negative.ndim == 0:  # uniform couplings: one sign for every bond
            return [n ^ self.negative for n in neighbours]
        return [n ^ self.negative[colour, k] for k, n in enumerate(neighbours)]

    def _energy(self, unsatisfied):
        """``-|J| (d N - 2 U)`` from the number ``U`` of unsatisfied bonds (in the model's dtype)."""
        model = self.model
        d, dtype = len(model.shape), model.dtype
        bonds = d * model.n
        if unsatisfied.dtype == jnp.int32 and bonds < 2**31:  # exact until the final rounding
            satisfied_minus_not = (bonds - 2 * unsatisfied).astype(dtype)
        else:
            satisfied_minus_not = jnp.asarray(bonds, dtype) - 2 * unsatisfied.astype(dtype)
        energy = -self.magnitude.astype(dtype) * satisfied_minus_not
        return jnp.where(self.representable, energy, jnp.nan).astype(dtype)

    def _half_sweep(self, words, colour, limits, tie, k0, k1):
        """Update colour ``colour``; returns its new words, flip mask and unsatisfied-bond masks.

        ``limits[a]`` is the threshold of class ``a`` (compared against the site's uniform);
        Metropolis passes the d classes with dE > 0 and ``tie = (at_zero, below_zero)``, the
        words all lanes of classes a = d and a > d flip with: ``at_zero`` all ones at finite
        beta and none at beta = inf (the tie rule), ``below_zero`` all ones unless J = 0,
        where every class has dE = 0 and follows ``at_zero``.
        """
        layout = self.layout
        own = words[colour]
        masks = [own ^ m for m in self._masks(words, colour)]  # bond unsatisfied
        digits = count_bits(masks)
        accept = below(_random_planes(k0, k1, layout.word_shape, colour), limits)
        flip = _any(equals(digits, a) & acc for a, acc in enumerate(accept))
        if tie is not None:
            d, (at_zero, below_zero) = layout.d, tie
            above = _any(equals(digits, a) for a in range(d + 1, 2 * d + 1))
            flip = flip | (equals(digits, d) & at_zero) | (above & below_zero)
        flip = flip & layout.valid
        return own ^ flip, flip, masks

    def step(self, key, state: PackedState, beta):
        model, layout = self.model, self.layout
        _check_packed_state(state, layout)
        beta = as_beta(beta, model.dtype)
        d = layout.d
        p = flip_probabilities(self.rule, d, self.magnitude.astype(model.dtype), beta)
        if self.rule == "metropolis":  # only the d classes with dE > 0 draw
            at_zero = jnp.where(jnp.isinf(beta), _U(0), _U(0xFFFFFFFF))
            limits, tie = list(thresholds(p[:d])), (at_zero, jnp.where(self.magnitude == 0, at_zero, _U(0xFFFFFFFF)))
        else:
            limits, tie = list(thresholds(p)), None
        k = jax.random.bits(key, (2,), _U)
        words = state.words
        new0, flip0, _ = self._half_sweep(words, 0, limits, tie, k[0], k[1])
        words = words.at[0].set(new0)
        new1, flip1, masks = self._half_sweep(words, 1, limits, tie, k[0], k[1])
        words = words.at[1].set(new1)
        # every bond has one end in colour 1: its masks after its own flips count them all
        unsatisfied = sum(_popcount(m ^ flip1, model.dtype) for m in masks)
        rate = (_popcount(flip0, model.dtype) + _popcount(flip1, model.dtype)).astype(model.dtype) / model.n
        energy = invalid_beta_to_nan(self._energy(unsatisfied), beta)
        new_state = _state_class(tuple(model.shape))(words=words, energy=energy)
        return new_state, SweepInfo(acceptance_rate=invalid_beta_to_nan(rate, beta))

    def observe(self, state):
        """The default record: the energy and the magnetization per spin (by popcount)."""
        n, dtype = self.model.n, self.model.dtype
        up = _popcount(state.words, dtype)
        return {"energy": state.energy, "magnetization": (2 * up - n).astype(dtype) / n}


def _any(masks):
    out = None
    for m in masks:
        out = m if out is None else out | m
    return out


def _popcount(words, dtype):
    """Set bits of all ``words``: an exact int32 while the lattice has fewer than 2^31 / (2d)
    spins, beyond that (a billion-spin lattice) each leading slice counted in int32 and the
    slices summed in ``dtype``."""
    counts = jax.lax.population_count(words).astype(jnp.int32)
    if words.size * 32 * 8 < 2**31 or words.ndim == 1:  # room for the sums of 2d <= 8 masks
        return jnp.sum(counts)
    return jnp.sum(jnp.sum(counts.reshape(words.shape[0], -1), axis=1).astype(dtype))


def _check_packed_state(state, layout: Layout):
    if not isinstance(state, PackedState):
        raise ValueError("state must be a PackedState from this sampler's init (checkerboard(..., packed=True)); "
                         f"got {type(state).__name__}")
    want = (2,) + layout.word_shape
    if tuple(state.words.shape) != want or state.site_shape != layout.shape:
        raise ValueError(f"state.words must have shape {want} for lattice {layout.shape} (vmap step over "
                         f"chains); got {tuple(state.words.shape)} for lattice {state.site_shape}")


def packed_checkerboard(model, rule: str) -> PackedCheckerboard:
    """Validate ``model`` for the packed sampler and build it (see :func:`checkerboard`)."""
    supported = ("supported: periodic lattices with even sides, uniform couplings or per-bond +-J "
                 "couplings of one magnitude, and no field")
    if not isinstance(model, ising.LatticeIsing):
        raise ValueError(f"packed=True needs a lattice model; got {type(model).__name__} ({supported})")
    if not all(model.periodic):
        raise ValueError(f"packed=True needs periodic boundaries; got periodic={model.periodic} ({supported})")
    if model.shape[-1] % 2:
        raise ValueError(f"packed=True needs an even last side; got shape {model.shape} ({supported})")
    J, h = model.J, model.h
    if jnp.ndim(h) != 0:
        raise ValueError(f"packed=True does not support a per-site field (h of shape {jnp.shape(h)}); {supported}")
    if J.ndim == 0:
        magnitude, negative = jnp.abs(J), jnp.where(J < 0, Layout(model.shape).valid, _U(0))
    else:
        magnitude = jnp.abs(J.reshape(-1)[0])
        negative = Layout(model.shape).bond_signs(J)
    representable = jnp.all(jnp.abs(J) == magnitude) & (h == 0)
    if is_concrete(representable) and not bool(representable):
        if jnp.any(h != 0):
            raise ValueError(f"packed=True does not support a field (h = {float(h)}); {supported}")
        values = np.unique(np.abs(np.asarray(J)))[:4]
        raise ValueError(f"packed=True needs couplings of one magnitude (uniform or +-J); got |J| values "
                         f"{values.tolist()}...; {supported}")
    return PackedCheckerboard(model=model, magnitude=magnitude, negative=negative, representable=representable,
                              rule=rule)
