r"""Single-spin samplers: :func:`metropolis` and :func:`glauber`, for any model.

One ``step`` is one sweep of N single-spin update attempts, visiting sites
in order (``order="sequential"``) or drawing N sites uniformly at random
(``order="random"``). The local fields are cached in the state and updated
after each flip, so a flip costs O(N) on a dense model and O(d) on a
lattice, never O(N^2).

Sequential sweeps satisfy the balance condition (each single-site update
leaves the Boltzmann distribution invariant) but not detailed balance of the
whole sweep; random-scan sweeps satisfy detailed balance. Both converge to
the Boltzmann distribution; the tests check both against exact enumeration.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from jaxstat._kernels import check_model, energy_unchecked, field_unchecked, lattice_field, neighbour_table
from jaxstat import ising
from jaxstat._validate import check_positive_int, invalid_beta_to_nan
from jaxstat.mcmc.base import (
    Sampler,
    SpinState,
    SweepInfo,
    as_beta,
    check_rule,
    check_state,
    one_configuration,
    register_sampler,
    static_field,
    uniform_open,
    update_rule,
)

__all__ = ["metropolis", "glauber", "single_spin", "SingleSpin"]

ORDERS = ("sequential", "random")


BLOCK = 32  # sites per delayed field update on dense models (one chain)
UNROLL = 32  # a fully unrolled block: +20% over 8 on the vmapped SK benchmark
# vmapped chains, sequential order (see _sweep_chains): the fields of all N
# sites are refreshed every CHAIN_BLOCKS[0] sites by one GEMM, those of the
# block's remaining sites every CHAIN_BLOCKS[1] sites, and inside that by
# rank-1 updates.
CHAIN_BLOCKS = (64, 16)


@register_sampler
class SingleSpin(Sampler):
    """Single-spin sampler (a pytree): ``model`` is a leaf, the rest is static.

    Built by :func:`single_spin`, :func:`metropolis` or :func:`glauber`, which
    validate their arguments; see :func:`single_spin` for the update.
    ``chain_block_sizes`` are the block sizes of the sweep that vmapped chains
    share on a dense model (sequential order; see ``_sweep_chains``).
    """

    model: Any
    rule: str = static_field(default="metropolis")
    order: str = static_field(default="sequential")
    block_size: int = static_field(default=BLOCK)
    chain_block_sizes: tuple = static_field(default=CHAIN_BLOCKS)

    def init(self, spins) -> SpinState:
        s = one_configuration(self.model, spins)
        return SpinState(spins=s, field=field_unchecked(self.model, s), energy=energy_unchecked(self.model, s))

    def _draws(self, key):
        n = self.model.n
        key_u, key_site = jax.random.split(key)
        v = update_rule(self.rule).variate(uniform_open(key_u, (n,), self.model.dtype))
        if self.order == "random":
            sites = jax.random.randint(key_site, (n,), 0, n)
        else:
            sites = jnp.arange(n)
        return v, sites

    def _lattice_sweep(self, key, state, beta):
        model, n = self.model, self.model.n
        update = update_rule(self.rule).update
        nbr, w, _ = neighbour_table(model)
        v, sites = self._draws(key)

        def body(t, carry):
            s, field, flips = carry
            i = sites[t]
            old, h = s[i], field[i]
            new = update(old, h, beta, v[t])
            delta = new - old
            # O(d) per flip: only the 2d neighbours' fields change.
            field = field.at[nbr[i]].add(w[i] * delta)
            return s.at[i].set(new), field, flips + (delta != 0)

        carry = (state.spins.reshape(n), state.field.reshape(n), jnp.zeros((), jnp.int32))
        s, field, flips = jax.lax.fori_loop(0, n, body, carry)
        s = s.reshape(model.shape)
        # Incremental float updates drift over long runs; on a lattice an
        # exact recomputation is one vectorized O(N) pass per sweep.
        return s, lattice_field(model, s), energy_unchecked(model, s), flips

    def _dense_sweep(self, key, state, beta):
        model = self.model
        v, sites = self._draws(key)
        if self.order == "sequential":
            sweep = _sequential_dense_sweep(self.rule, int(self.block_size), tuple(self.chain_block_sizes))
            s, field, flips = sweep(model.J, beta, v, state.spins, state.field)
        else:
            s, field, flips = _blocked_dense_sweep(update_rule(self.rule).update, self.block_size, model.J, beta, v,
                                                   sites, state.spins, state.field)
        # E = -1/2 s.(f + h) from the cached fields: O(N), with no rounding
        # accumulated over long runs. (A full field refresh would cost as
        # much as the sweep itself.)
        return s, field, -0.5 * jnp.sum(s * (field + model.h)), flips

    def step(self, key, state: SpinState, beta):
        model = self.model
        check_state(state, ising.site_shape(model), needs_field=True)
        beta = as_beta(beta, model.dtype)
        sweep = self._lattice_sweep if isinstance(model, ising.LatticeIsing) else self._dense_sweep
        s, field, energy, flips = sweep(key, state, beta)
        new_state = SpinState(spins=s, field=field, energy=invalid_beta_to_nan(energy, beta))
        return new_state, SweepInfo(acceptance_rate=invalid_beta_to_nan(flips.astype(model.dtype) / model.n, beta))


def _blocked_dense_sweep(update, block_size, J, beta, v, sites, s, field):
    """One chain's dense sweep over ``sites`` (any order; a site may recur).

    The cached fields are refreshed once per block of ``block_size`` sites;
    inside a block each visited field is the cached value plus the exact
    correction from the block's earlier flips (a block-long dot product).
    """
    n, dtype = s.shape[0], s.dtype
    b = max(1, min(int(block_size), n))
    n_blocks = -(-n // b)
    pad = n_blocks * b - n
    active = (jnp.arange(n_blocks * b) < n).reshape(n_blocks, b)
    sites = jnp.pad(sites, (0, pad)).reshape(n_blocks, b)
    v = jnp.pad(v, (0, pad)).reshape(n_blocks, b)

    def block(k, carry):
        s, field, flips = carry
        blk, vk, act = sites[k], v[k], active[k]
        Jbb = J[blk][:, blk]
        same = (blk[:, None] == blk[None, :]).astype(dtype)
        s_blk, f_blk = s[blk], field[blk]

        def inner(t, c):
            d, f = c
            old = s_blk[t] + same[t] @ d   # a site may recur in a random scan
            h = f_blk[t] + Jbb[t] @ d      # exact field given the block's earlier flips
            delta = jnp.where(act[t], update(old, h, beta, vk[t]) - old, 0.0)
            return d.at[t].set(delta), f + (delta != 0)

        d, flips = jax.lax.fori_loop(0, b, inner, (jnp.zeros(b, dtype), flips), unroll=UNROLL)
        return s.at[blk].add(d), field + J[:, blk] @ d, flips

    carry = (s, field, jnp.zeros((), jnp.int32))
    return jax.lax.fori_loop(0, n_blocks, block, carry)


def _sub_block(update, beta, f, s, v, Jbb, sizes):
    """Deltas ``(m, C)`` of ``m`` consecutive sites of ``C`` chains (chains on the fast axis).

    ``f`` holds the fields of the ``m`` sites, exact given every flip before
    the first of them. Sites are visited in order; after each sub-block of
    ``sizes[0]`` sites the later sites' fields take its flips in one matrix
    product, and at the last level after each site in one rank-1 update, so
    every site sees the exact field of the spins before it.
    """
    m = f.shape[0]
    if sizes and sizes[0] < m:
        b = sizes[0]
        deltas = []
        for a in range(0, m, b):
            e = min(a + b, m)
            d = _sub_block(update, beta, f[a:e], s[a:e], v[a:e], Jbb[a:e, a:e], sizes[1:])
            deltas.append(d)
            if e < m:
                f = f.at[e:].add(Jbb[e:, a:e] @ d)
        return jnp.concatenate(deltas)
    deltas = []
    for t in range(m):
        # every step is elementwise over the chains: one small fusion, never a matvec
        d = update(s[t], f[t], beta, v[t]) - s[t]
        deltas.append(d)
        if t + 1 < m:
            f = f.at[t + 1:].add(Jbb[t + 1:, t][:, None] * d[None, :])
    return jnp.stack(deltas)


def _sweep_chains(update, sizes, J, beta, v, s, f):
    """One sequential sweep of ``C`` chains laid out ``(N, C)``: returns ``(s, f, flips)``.

    The fields of all sites are refreshed after every block of ``sizes[0]``
    sites by one ``(N, B) @ (B, C)`` GEMM; inside a block :func:`_sub_block`
    keeps the block's fields exact. ``beta`` is a scalar or one per chain
    ``(C,)``. Sites past N (padding to whole blocks) have zero couplings and
    the variate ``-inf``, which neither rule ever moves.
    """
    n, c = s.shape
    B = min(sizes[0], n)
    n_blocks = -(-n // B)
    pad = n_blocks * B - n
    if pad:
        J = jnp.pad(J, ((0, pad), (0, pad)))
        s = jnp.pad(s, ((0, pad), (0, 0)), constant_values=1)
        f = jnp.pad(f, ((0, pad), (0, 0)))
        v = jnp.pad(v, ((0, pad), (0, 0)), constant_values=-jnp.inf)

    def rows(x, k):
        return jax.lax.dynamic_slice_in_dim(x, jnp.minimum(k, n_blocks - 1) * B, B, 0)

    def block(k, carry):
        # The loop carries the spin and field changes (the next block's spins
        # are still the input's in sequential order). The block's rows arrive
        # in the carry, sliced at the end of the previous iteration: a slice
        # of an (N, C) array fused into every in-block step makes XLA:CPU
        # split each of those tiny steps over both threads (measured: 5x
        # slower per step when the other core is busy).
        d_all, df, flips, s_k, f_k, v_k = carry
        r0 = k * B
        d = _sub_block(update, beta, f_k, s_k, v_k, jax.lax.dynamic_slice(J, (r0, r0), (B, B)), sizes[1:])
        d_all = jax.lax.dynamic_update_slice_in_dim(d_all, d, r0, 0)
        df = df + jax.lax.dynamic_slice_in_dim(J, r0, B, 1) @ d
        flips = flips + jnp.sum(d != 0, axis=0, dtype=jnp.int32)
        # sequential order: the next block's spins are still the input's
        return d_all, df, flips, rows(s, k + 1), rows(f, k + 1) + rows(df, k + 1), rows(v, k + 1)

    zeros = jnp.zeros_like(s)
    carry = (zeros, zeros, jnp.zeros((c,), jnp.int32), rows(s, 0), rows(f, 0), rows(v, 0))
    d_all, df, flips, *_ = jax.lax.fori_loop(0, n_blocks, block, carry)
    return (s + d_all)[:n], (f + df)[:n], flips


@functools.lru_cache(maxsize=None)
def _sequential_dense_sweep(rule: str, block_size: int, chain_block_sizes: tuple):
    """``sweep(J, beta, v, spins, field) -> (spins, field, flips)`` for one chain in sequential order.

    One chain runs :func:`_blocked_dense_sweep`. Under ``jax.vmap`` with the
    couplings shared by the chains, a custom batching rule runs
    :func:`_sweep_chains` instead: the chains on the fast axis, every
    in-block step elementwise over them and the field refresh a GEMM. Same
    chain, same random numbers; the fields are summed in another order.
    """
    update = update_rule(rule).update

    def one(J, beta, v, s, f):
        return _blocked_dense_sweep(update, block_size, J, beta, v, jnp.arange(s.shape[0]), s, f)

    sweep = jax.custom_batching.custom_vmap(one)

    @sweep.def_vmap
    def _chains(axis_size, in_batched, J, beta, v, s, f):
        J_b, beta_b, v_b, s_b, f_b = in_batched
        if J_b:  # a coupling matrix per chain: nothing to share
            out = jax.vmap(one, in_axes=tuple(0 if b else None for b in in_batched))(J, beta, v, s, f)
            return out, (True, True, True)
        lanes = lambda x, b: x.T if b else jnp.broadcast_to(x[:, None], (x.shape[0], axis_size))
        s2, f2, flips = _sweep_chains(update, chain_block_sizes, J, beta, lanes(v, v_b), lanes(s, s_b),
                                      lanes(f, f_b))
        return (s2.T, f2.T, flips), (True, True, True)

    return sweep


def single_spin(model, rule: str = "metropolis", order: str = "sequential", block_size: int = BLOCK) -> SingleSpin:
    """Single-spin sampler with the given acceptance ``rule`` and visiting ``order``.

    :func:`metropolis` and :func:`glauber` are this function with ``rule`` set.

    On dense models the cached fields are refreshed once per block of
    ``block_size`` consecutive updates: inside a block each field is the
    cached value plus the exact correction from the block's earlier flips
    (a ``block_size``-long dot product), and after the block one
    ``(N, block_size)`` matrix-vector product brings every field up to date.
    The chain is the same as with a refresh after every flip; the work per
    flip is still O(N), but as matrix products, which a vmapped batch of
    chains turns into matrix-matrix products. Under ``jax.vmap`` over chains
    that share the couplings (sequential order), a batching rule sweeps all
    chains at once with the chains on the fast axis: every in-block step is
    elementwise over the chains and the field refresh one GEMM. The random
    numbers and the chain are the same; the fields are summed in another
    order (equal up to rounding).

    The returned sampler is a pytree whose leaves are the model's arrays, so
    :func:`~jaxstat.mcmc.run` compiled for one disorder sample runs any other
    of the same shapes without compiling again.

    Example:
      >>> import jax, jaxstat as js
      >>> model = js.ising.sherrington_kirkpatrick(jax.random.key(0), 16)
      >>> sampler = js.mcmc.single_spin(model, rule="glauber", order="random", block_size=8)
      >>> state = sampler.init(js.ising.random_spins(jax.random.key(1), (16,)))
      >>> state, info = sampler.step(jax.random.key(2), state, 1.0)
      >>> state.spins.shape, sampler.rule, sampler.order
      ((16,), 'glauber', 'random')
    """
    check_model(model)
    block_size = check_positive_int(block_size, "block_size")
    check_rule(rule)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}; got {order!r}")
    if rule == "metropolis":
        ising.require_symmetric(model, "Metropolis acceptance")
    return SingleSpin(model=model, rule=rule, order=order, block_size=block_size)


def metropolis(model, order: str = "sequential") -> SingleSpin:
    r"""Single-spin Metropolis sampler for any symmetric model.

    Each update proposes flipping :math:`s_i` and accepts with probability
    :math:`\min(1, e^{-\beta \Delta E})`, :math:`\Delta E = 2 s_i h_i(s)`.

    Args:
      model: a jaxstat Ising model (symmetric couplings: Metropolis needs an
        energy).
      order: ``"sequential"`` (sites 0..N-1) or ``"random"`` (N uniform draws).

    Returns:
      a :class:`SingleSpin` sampler; ``step(key, state, beta)`` performs one sweep.

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.lattice((8, 8))
      >>> sampler = js.mcmc.metropolis(m)
      >>> state = sampler.init(js.ising.random_spins(jax.random.key(0), (8, 8)))
      >>> state, info = sampler.step(jax.random.key(1), state, 0.4)
      >>> state.spins.shape, bool(abs(state.energy - js.ising.energy(m, state.spins)) < 1e-4)
      ((8, 8), True)
    """
    return single_spin(model, "metropolis", order)


def glauber(model, order: str = "sequential") -> SingleSpin:
    r"""Single-spin Glauber (heat-bath) sampler for any model.

    Each update sets :math:`s_i = +1` with probability
    :math:`1/(1 + e^{-2\beta h_i(s)})`. Works for asymmetric couplings too
    (neural dynamics without an energy function; no equilibrium then).
    At ``beta = inf`` this is zero-temperature asynchronous dynamics.

    Example:
      >>> import jax, jaxstat as js
      >>> m = js.ising.sherrington_kirkpatrick(jax.random.key(0), 16)
      >>> sampler = js.mcmc.glauber(m, order="random")
      >>> state = sampler.init(js.ising.random_spins(jax.random.key(1), (16,)))
      >>> state, info = sampler.step(jax.random.key(2), state, float("inf"))
      >>> state.spins.dtype
      dtype('float32')
    """
    return single_spin(model, "glauber", order)
