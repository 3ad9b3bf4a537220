r"""Many independent chains as one sampler: :func:`chains`.

``jax.vmap`` of :func:`~jaxstat.mcmc.run` is the usual way to run many
chains, and it stays the fastest to write. A sampler *over* the chains is
what the things that drive a run from Python need: a checkpointed run
(``run(..., checkpoint_dir=...)`` cannot sit inside ``vmap``), a batch
sharded across devices and resumed after preemption, streamed statistics
per chain. :func:`chains` wraps any sampler of the protocol:

* ``init(spins)`` takes ``(n_chains, *sites)`` configurations (or one,
  broadcast to every chain);
* ``step(key, state, beta)`` steps every chain with ``jax.vmap``; chain ``c``
  draws from ``fold_in(key, c)``, so its random numbers depend on the chain's
  index, never on how the chains are laid out on devices;
* ``observe(state)`` is the base sampler's record per chain (leading axis
  ``n_chains``).

Disorder: pass a *list* of samplers of one structure (a sampler per
disorder sample: new couplings, same shapes) and they are stacked into leaves
with a leading chain axis. Temperatures: pass ``betas`` (one per chain) and
the sampler carries them like a parallel-tempering ladder (``run(..., beta=None)``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxstat._validate import as_float_array, check_positive_int, is_concrete
from jaxstat.mcmc._loop import step_any
from jaxstat.mcmc.base import Sampler, register_sampler, static_field

__all__ = ["chains", "Chains"]


@register_sampler
class Chains(Sampler):
    """Independent chains of a base sampler (a pytree). Built and validated by :func:`chains`.

    Attributes:
      base: the base sampler; with ``stacked`` its leaves have a leading chain axis.
      betas: ``None`` (``beta`` is passed to ``step``) or one inverse temperature per chain.
      n_chains: number of chains (static).
      stacked: whether ``base`` holds one sampler per chain (static).
    """

    base: Any
    betas: Any = None
    n_chains: int = static_field(default=1)
    stacked: bool = static_field(default=False)

    @property
    def has_ladder(self) -> bool:
        return self.betas is not None

    @property
    def site_shape(self) -> tuple:
        base = jax.tree.map(lambda x: x[0], self.base) if self.stacked else self.base
        return (self.n_chains,) + tuple(base.site_shape)

    def _axis(self):
        return 0 if self.stacked else None

    def init(self, spins):
        spins = jnp.asarray(spins)
        if is_concrete(spins) and spins.size and not bool(jnp.all(jnp.abs(spins) == 1)):
            raise ValueError("spins must be +1/-1 (Ising convention); got values "
                             f"{jnp.unique(spins)[:6].tolist()}")
        site = self.site_shape[1:]
        if spins.shape == tuple(site):
            spins = jnp.broadcast_to(spins, (self.n_chains,) + spins.shape)
        if spins.shape != (self.n_chains,) + tuple(site):
            raise ValueError(
                f"spins must have shape {(self.n_chains,) + tuple(site)} (one configuration per chain) or "
                f"{tuple(site)} (the same start for every chain); got {spins.shape}"
            )
        return jax.vmap(lambda smp, s: smp.init(s), in_axes=(self._axis(), 0))(self.base, spins)

    def step(self, key, state, beta=None):
        keys = jax.vmap(lambda c: jax.random.fold_in(key, c))(jnp.arange(self.n_chains))
        if self.betas is not None:
            beta, beta_axis = self.betas, 0
        else:
            beta_axis = None
        # A ladder base (parallel tempering) ignores beta; step_any passes it only to the others.
        return jax.vmap(lambda smp, k, st, b: step_any(smp, k, st, b),
                        in_axes=(self._axis(), 0, 0, beta_axis))(self.base, keys, state, beta)

    def observe(self, state):
        return jax.vmap(lambda smp, st: smp.observe(st), in_axes=(self._axis(), 0))(self.base, state)


def chains(sampler, n_chains: int | None = None, betas=None) -> Chains:
    """Run ``n_chains`` independent chains of ``sampler`` as one sampler.

    Args:
      sampler: any jaxstat sampler; or a list of samplers of one structure
        (one per disorder sample), stacked into one with a leading chain axis.
      n_chains: number of chains (>= 1); with a list, its length (may be omitted).
      betas: optional inverse temperatures, one per chain (shape ``(n_chains,)``);
        the sampler then carries them and :func:`~jaxstat.mcmc.run` takes ``beta=None``.

    Returns:
      a :class:`Chains` sampler: state leaves and records have a leading
      axis of length ``n_chains``; chain ``c`` draws its random numbers from
      ``fold_in(key, c)``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> base = js.mcmc.checkerboard(js.ising.lattice((8, 8)))
      >>> many = js.mcmc.chains(base, 4, betas=jnp.array([0.2, 0.3, 0.5, 0.6]))
      >>> state, trace = js.mcmc.run(jax.random.key(0), many, jnp.ones((8, 8)), None, 100)
      >>> trace["magnetization"].shape, state.spins.shape
      ((100, 4), (4, 8, 8))
      >>> bool(abs(trace["magnetization"][-20:, 3]).mean() > 0.9)  # ordered at beta = 0.6
      True
    """
    stacked = isinstance(sampler, (list, tuple))
    if stacked:
        if not sampler or not all(isinstance(s, Sampler) for s in sampler):
            raise ValueError("sampler must be a jaxstat sampler or a non-empty list of samplers; got "
                             f"{[type(s).__name__ for s in sampler] if sampler else 'an empty list'}")
        structures = {jax.tree.structure(s) for s in sampler}
        shapes = {tuple((x.shape, x.dtype) for x in jax.tree.leaves(s)) for s in sampler}
        if len(structures) > 1 or len(shapes) > 1:
            raise ValueError("the samplers in the list must share one structure (type, static fields and "
                             "leaf shapes): one sampler per disorder sample of the same model size")
        if n_chains is not None and n_chains != len(sampler):
            raise ValueError(f"n_chains must equal the number of samplers ({len(sampler)}); got {n_chains}")
        n_chains = len(sampler)
        sampler = jax.tree.map(lambda *xs: jnp.stack(xs), *sampler)
    elif not isinstance(sampler, Sampler):
        raise ValueError(f"sampler must be a jaxstat sampler (e.g. jaxstat.mcmc.glauber(model)); got "
                         f"{type(sampler).__name__}")
    if n_chains is None:
        raise ValueError("n_chains must be an integer >= 1 (the number of chains); got None")
    n_chains = check_positive_int(n_chains, "n_chains", minimum=1)
    if betas is not None:
        betas = as_float_array(betas, "betas")
        if betas.shape != (n_chains,):
            raise ValueError(f"betas must have shape ({n_chains},) (one per chain); got {betas.shape}")
        if bool(jnp.any(jnp.isnan(betas) | (betas < 0))):
            raise ValueError(f"betas must be inverse temperatures >= 0; got {betas}")
        if sampler.has_ladder:
            raise ValueError("betas cannot be given for a sampler that carries its own ladder "
                             f"({type(sampler).__name__})")
    return Chains(base=sampler, betas=betas, n_chains=n_chains, stacked=stacked)
