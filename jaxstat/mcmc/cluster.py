r"""Cluster moves for ferromagnetic lattices: Swendsen–Wang and Wolff.

Both rest on the Fortuin–Kasteleyn representation. Between aligned
neighbours :math:`x, y` a bond is activated with probability

.. math:: p_{xy} = 1 - e^{-2\beta J_{xy}},

never between anti-aligned ones; the clusters of active bonds can then be
flipped freely without changing the Boltzmann weight of the joint
spin–bond distribution. Near :math:`T_c` clusters are as large as the
correlated regions, so a cluster move decorrelates the lattice in a few
steps where local moves need :math:`\sim L^{2.17}` sweeps (the critical
slowing down the tour and ``benchmarks/cluster.py`` measure).

Fields enter exactly through a *ghost spin* :math:`s_g = +1` coupled to each
site by :math:`h_x`: a ghost bond is activated with probability
:math:`1 - e^{-2\beta |h_x|}` when :math:`h_x s_x > 0`, and the cluster that
holds the ghost never flips (Swendsen–Wang) or is flipped as its complement
(Wolff: flipping the ghost's cluster and then every spin is the same
physical move).

The bonds must be ferromagnetic, :math:`J_{xy} \ge 0`: with frustrated bonds
(spin glasses) the clusters percolate at every temperature and the moves
become useless, though still correct. :func:`swendsen_wang` and
:func:`wolff` refuse them; parallel tempering is the tool for frustrated
models.

Steps:

* :func:`swendsen_wang`: one step draws every bond and flips every cluster
  with probability 1/2: one sweep. Clusters are labelled with fixed shapes
  (``jaxstat/mcmc/_lattice.py``): by FastSV on the device, and on a CPU by a
  union–find custom call compiled on first use (:mod:`jaxstat._native`;
  about 4x faster there, the same roots, so the same chain).
* :func:`wolff`: one step grows one cluster from a uniformly random seed and
  flips it. A step is *one cluster*, not a sweep: ``info.cluster_size``
  reports its size, and ``N / <cluster_size>`` steps make one
  sweep-equivalent (so an autocorrelation time of tau steps is
  ``tau <cluster_size> / N`` sweeps, the conversion ``benchmarks/cluster.py``
  uses).

Bonds are drawn by comparing raw 32-bit random words with the integer
threshold of their probability, computed once for uniform couplings.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._cpu import fast_sum, random_bits, random_bits_by_rows
from jaxstat._kernels import energy_unchecked, lattice_forward_sum
from jaxstat import _native, ising
from jaxstat._validate import invalid_beta_to_nan, is_concrete
from jaxstat.mcmc._lattice import cluster_flips, label_components, n_coin_words, pack_bits, shift_backward, shift_forward, unpack_bits
from jaxstat.mcmc.base import (
    Sampler,
    SpinState,
    as_beta,
    check_state,
    one_configuration,
    register_sampler,
    static_field,
)

__all__ = ["swendsen_wang", "wolff", "SwendsenWang", "Wolff", "SwendsenWangInfo", "WolffInfo"]


class SwendsenWangInfo(NamedTuple):
    """Diagnostics of one Swendsen–Wang step.

    Attributes:
      acceptance_rate: fraction of spins flipped.
      n_clusters: number of clusters (the ghost's, with a field, included).
    """

    acceptance_rate: jax.Array
    n_clusters: jax.Array


class WolffInfo(NamedTuple):
    """Diagnostics of one Wolff step (one cluster).

    Attributes:
      acceptance_rate: fraction of spins flipped (the cluster, or its
        complement when it holds the ghost spin).
      cluster_size: number of lattice sites in the grown cluster.
    """

    acceptance_rate: jax.Array
    cluster_size: jax.Array


def _bond_probability(J, beta):
    """1 - exp(-2 beta J) where J > 0, else 0 (also at beta = inf, where inf * 0 is NaN)."""
    return jnp.where(J > 0, -jnp.expm1(-2.0 * beta * jnp.where(J > 0, J, 1.0)), 0.0)


def _threshold(p):
    """``p`` in [0, 1] as a uint32 threshold t with P(bits < t) = p, to 2^-32 in float64 and to
    p's own 24-bit resolution in float32 (the largest float32 below 2^32 caps it; p = 1 is
    exact through the second output)."""
    return jnp.clip(p * 4294967296.0, 0.0, 4294967040.0).astype(jnp.uint32), p >= 1


def _random_below(key, shape, p):
    """Booleans that are True with probability ``p`` (broadcast), from raw 32-bit words."""
    t, certain = _threshold(p)
    return (random_bits_by_rows(key, shape) < t) | certain


def _fk_bonds(key, model, s, beta, with_ghost: bool):
    """Active FK bonds ``(d, *shape)`` and ghost bonds (``None`` without a field).

    A bond is drawn by comparing a raw 32-bit random word with the integer
    threshold of its probability (computed once for uniform couplings),
    which skips the float conversion of every uniform.
    """
    shape, d = model.shape, len(model.shape)
    k_bonds, k_ghost = jax.random.split(key)
    aligned = jnp.stack([s * jnp.roll(s, -1, axis=k) > 0 for k in range(d)])
    bonds = aligned & _random_below(k_bonds, (d,) + shape, _bond_probability(model.J, beta))
    if not with_ghost:
        return bonds, None
    ghost = (model.h * s > 0) & _random_below(k_ghost, shape, _bond_probability(jnp.abs(model.h), beta))
    return bonds, ghost


def _finish(model, s, flipped, beta, has_field):
    """New state and flipped fraction; NaN where the model breaks the sampler's contract.

    A traced model cannot be checked when the sampler is built: antiferromagnetic
    bonds, or a field on a sampler built without one, give NaN rather than a
    plausible number.
    """
    bad = jnp.any(model.J < 0)
    if not has_field:
        bad = bad | jnp.any(model.h != 0)
    # bonds, field and flips in one matrix-vector product (see jaxstat._cpu.fast_sum): a
    # reduction per sum was ~15 us of a ~75 us Swendsen-Wang step at L = 64
    h = jnp.broadcast_to(model.h, s.shape)
    sums = fast_sum(jnp.stack([s * lattice_forward_sum(model, s), h * s, flipped.astype(model.dtype)]), n_lead=1)
    energy = jnp.where(bad, jnp.nan, -sums[0] - sums[1])
    rate = jnp.where(bad, jnp.nan, sums[2] / model.n)
    return SpinState(spins=s, field=None, energy=invalid_beta_to_nan(energy, beta)), invalid_beta_to_nan(rate, beta)


class _FortuinKasteleyn(Sampler):
    """What Swendsen–Wang and Wolff share: the state is the spins and their energy."""

    def init(self, spins) -> SpinState:
        s = one_configuration(self.model, spins)
        return SpinState(spins=s, field=None, energy=energy_unchecked(self.model, s))


@register_sampler
class SwendsenWang(_FortuinKasteleyn):
    """Swendsen–Wang sampler (a pytree); built and validated by :func:`swendsen_wang`."""

    model: Any
    has_field: bool = static_field(default=False)

    def step(self, key, state: SpinState, beta):
        model = self.model
        n = model.n
        check_state(state, model.shape, needs_field=False)
        beta = as_beta(beta, model.dtype)
        k_bonds, k_flip = jax.random.split(key)
        s = state.spins
        bonds, ghost = _fk_bonds(k_bonds, model, s, beta, self.has_field)
        # One fair coin per node (a bit of a word), read by every site of its cluster.
        coins = random_bits(k_flip, (n_coin_words(n),))
        _, flip, n_clusters = cluster_flips(bonds, ghost, coins)
        s = jnp.where(flip, -s, s)
        new_state, rate = _finish(model, s, flip, beta, self.has_field)
        return new_state, SwendsenWangInfo(acceptance_rate=rate, n_clusters=n_clusters)


def _grow(bonds, ghost, seed_mask):
    """The cluster of ``seed_mask`` through active bonds, by frontier growth.

    Each round adds the bonded neighbours of the last round's new sites, so
    the rounds are as many as the cluster is wide (its chemical distance).
    The fields are bit-packed along the last axis (32 sites to a word), so a
    round is a few dozen word operations on an L^d / 32 array; open
    boundaries need no special case, their bonds are never active. Returns
    (cluster, holds_ghost).
    """
    d, L = bonds.shape[0], bonds.shape[-1]
    packed = pack_bits(bonds)
    ghost_words = None if ghost is None else pack_bits(ghost)
    last = d - 1

    def body(carry):
        cluster, frontier, has_ghost = carry
        grown = shift_forward(frontier & packed[last], L, True) | (shift_backward(frontier, L, True) & packed[last])
        for k in range(last):
            grown = grown | jnp.roll(frontier & packed[k], 1, axis=k) | (jnp.roll(frontier, -1, axis=k) & packed[k])
        if ghost_words is not None:
            reached = ~has_ghost & jnp.any((frontier & ghost_words) != 0)
            grown = grown | jnp.where(reached, ghost_words, jnp.zeros_like(ghost_words))
            has_ghost = has_ghost | reached
        new = grown & ~cluster
        return cluster | new, new, has_ghost

    seed = pack_bits(seed_mask)
    init = (seed, seed, jnp.asarray(False))
    cluster, _, has_ghost = jax.lax.while_loop(lambda c: jnp.any(c[1] != 0), body, init)
    return unpack_bits(cluster, L), has_ghost


def _cluster_by_labels(bonds, ghost, seed_mask):
    """The same cluster as :func:`_grow`, by labelling every cluster and keeping the seed's:
    a few rounds whatever the cluster's width (the better trade where rounds are expensive)."""
    n = seed_mask.size
    roots = label_components(bonds, ghost)
    seed_root = roots[jnp.argmax(seed_mask.ravel())]
    cluster = (roots[:n] == seed_root).reshape(seed_mask.shape)
    return cluster, (jnp.asarray(False) if ghost is None else roots[n] == seed_root)


# From this many sites on, labelling every cluster with the native union-find beat frontier
# growth on a 2-core CPU (2D at T_c, per step, label / grow: 0.99 at L = 128, 0.57 at L = 256;
# benchmarks/RESULTS.md, 2026-12-03); below it growth is as fast or faster.
_LABEL_FROM_SITES = 256 * 256


def _cluster_auto(bonds, ghost, seed_mask):
    """Labelling where the native union-find runs (a CPU) on large lattices, frontier growth elsewhere."""
    if seed_mask.size < _LABEL_FROM_SITES:
        return _grow(bonds, ghost, seed_mask)
    return _native.on_cpu(_cluster_by_labels, _grow, bonds, ghost, seed_mask)


WOLFF_METHODS = {"auto": _cluster_auto, "grow": _grow, "label": _cluster_by_labels}


@register_sampler
class Wolff(_FortuinKasteleyn):
    """Wolff single-cluster sampler (a pytree); built and validated by :func:`wolff`."""

    model: Any
    has_field: bool = static_field(default=False)
    method: str = static_field(default="auto")

    def step(self, key, state: SpinState, beta):
        model = self.model
        check_state(state, model.shape, needs_field=False)
        beta = as_beta(beta, model.dtype)
        k_bonds, k_seed = jax.random.split(key)
        s = state.spins
        bonds, ghost = _fk_bonds(k_bonds, model, s, beta, self.has_field)
        seed = jax.random.randint(k_seed, (), 0, model.n)
        seed_mask = (jnp.arange(model.n) == seed).reshape(model.shape)
        cluster, has_ghost = WOLFF_METHODS[self.method](bonds, ghost, seed_mask)
        flip = jnp.where(has_ghost, ~cluster, cluster)
        s = jnp.where(flip, -s, s)
        new_state, rate = _finish(model, s, flip, beta, self.has_field)
        size = fast_sum(cluster.astype(model.dtype))
        return new_state, WolffInfo(acceptance_rate=rate, cluster_size=invalid_beta_to_nan(size, beta))


def _check_ferromagnetic_lattice(model, what: str) -> bool:
    """Validate the model for cluster moves; return whether it has a field."""
    if not isinstance(model, ising.LatticeIsing):
        raise ValueError(
            f"{what} needs a nearest-neighbour lattice model (jaxstat.ising.lattice); got "
            f"{type(model).__name__}. For dense models use metropolis or glauber, and parallel_tempering "
            "where they are slow."
        )
    if is_concrete(model.J):
        J = np.asarray(model.J)
        if (J < 0).any():
            raise ValueError(
                f"{what} needs ferromagnetic couplings J >= 0: Fortuin–Kasteleyn clusters of frustrated or "
                f"antiferromagnetic bonds percolate at every temperature, so cluster moves do not help; got "
                f"min J = {float(J.min()):.3g}. For spin glasses such as edwards_anderson use "
                "jaxstat.mcmc.parallel_tempering over a single-spin or checkerboard sampler."
            )
    if not is_concrete(model.h):
        return True
    return bool(np.any(np.asarray(model.h) != 0))


def swendsen_wang(model) -> SwendsenWang:
    r"""Swendsen–Wang cluster sampler for ferromagnetic lattices.

    One step activates a bond between aligned neighbours with probability
    :math:`1 - e^{-2\beta J_{xy}}`, labels the clusters of active bonds and
    flips each with probability 1/2 (one sweep). A uniform or per-site field
    is handled exactly by a ghost spin whose cluster never flips.

    Args:
      model: a :class:`jaxstat.ising.LatticeIsing` with couplings
        :math:`J \ge 0` (uniform or per bond), any dimension, periodic or
        open, any field.

    Returns:
      a :class:`SwendsenWang` sampler; ``info`` is a :class:`SwendsenWangInfo`.

    Raises:
      ValueError: for a dense model or a negative coupling.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((16, 16))
      >>> state, trace = js.mcmc.run(jax.random.key(0), js.mcmc.swendsen_wang(m), jnp.ones((16, 16)), 0.44, 10)
      >>> sorted(trace)
      ['acceptance_rate', 'energy', 'magnetization', 'n_clusters']
    """
    return SwendsenWang(model=model, has_field=_check_ferromagnetic_lattice(model, "swendsen_wang"))


def wolff(model, method: str = "auto") -> Wolff:
    r"""Wolff single-cluster sampler for ferromagnetic lattices.

    One step picks a uniformly random seed site, grows its cluster through
    bonds to aligned neighbours activated with probability
    :math:`1 - e^{-2\beta J_{xy}}` and flips it. With a field the cluster
    may reach the ghost spin; the physical move is then to flip every site
    *outside* the cluster.

    One step is one cluster: ``info.cluster_size`` reports its size, and
    ``N / <cluster_size>`` steps are one sweep-equivalent. At ``T_c`` the
    mean cluster grows like :math:`L^{\gamma/\nu} = L^{7/4}`; at high
    temperature clusters are single sites and a sweep needs about N steps.
    Args:
      model: as for :func:`swendsen_wang`.
      method: how the cluster is found, with identical results (the same
        chain). ``"grow"``: frontier rounds over the lattice bit-packed 32
        sites to a word, as many rounds as the cluster is wide.
        ``"label"``: label every Fortuin–Kasteleyn cluster and keep the
        seed's, as Swendsen–Wang labels them (FastSV on the device, 8 to 14
        rounds; the native union–find on a CPU). ``"auto"`` (default):
        ``"label"`` on a CPU with the native union–find from 256 x 256 sites
        on, ``"grow"`` otherwise. Per step at T_c on a 2-core CPU
        (``benchmarks/cluster.py``), ``"label"`` / ``"grow"`` measured 1.2
        at L = 32 and 64, 0.99 at 128 and 0.57 at 256 with the native
        union–find, and 2.4–3.2 up to L = 128 and 1.1 at 256 with FastSV.
        On a GPU neither is measured yet; ``"auto"`` grows there.

    Returns:
      a :class:`Wolff` sampler; ``info`` is a :class:`WolffInfo`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((16, 16))
      >>> state, trace = js.mcmc.run(jax.random.key(0), js.mcmc.wolff(m), jnp.ones((16, 16)), 0.6, 5)
      >>> bool(trace["cluster_size"].min() > 200)   # deep in the ordered phase clusters span the lattice
      True
    """
    if method not in WOLFF_METHODS:
        raise ValueError(f"method must be one of {tuple(WOLFF_METHODS)}; got {method!r}")
    return Wolff(model=model, has_field=_check_ferromagnetic_lattice(model, "wolff"), method=method)
