r"""Free-energy differences along a ladder of temperatures (stepping stone).

For neighbouring inverse temperatures :math:`\beta_k < \beta_{k+1}`,

.. math:: \frac{Z(\beta_{k+1})}{Z(\beta_k)}
          = \bigl\langle e^{-(\beta_{k+1} - \beta_k) E} \bigr\rangle_{\beta_k},

so the energies recorded at each rung of a parallel-tempering run give
:math:`\log Z(\beta_{k+1}) - \log Z(\beta_k)` for every pair, and their
cumulative sum :math:`\log Z(\beta) - \log Z(\beta_0)` along the ladder
(Xie et al. 2011; the "stepping-stone" estimator). For Ising models
:math:`Z(0) = 2^N` makes it absolute. Each ratio is an average of
:math:`e^{w_t}`, :math:`w_t = -\Delta\beta\, E_t`, computed as
:math:`\max w + \log \overline{e^{w - \max w}}` so nothing overflows, and its
error bar comes from blocking the correlated series :math:`e^{w_t - \max w}`
(:func:`~jaxstat.stats.blocking_error`) and the delta method,
:math:`\mathrm{SE}(\log \bar y) = \mathrm{SE}(\bar y) / \bar y`. The
estimator is biased by :math:`O(\mathrm{Var}/n)` and is reliable only when
neighbouring rungs overlap (swap acceptance well above zero), the condition
parallel tempering needs anyway.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import check_positive_int, is_concrete
from jaxstat.stats._core import block_stderrs, check_trace, select_level

__all__ = ["SteppingStone", "stepping_stone"]


class SteppingStone(NamedTuple):
    """Log partition-function differences along a ladder.

    Attributes:
      log_z_ratios: ``(R-1,)``, :math:`\\log Z(\\beta_{k+1}) - \\log Z(\\beta_k)`.
      stderr: ``(R-1,)``, their standard errors.
      log_z: ``(R,)``, :math:`\\log Z(\\beta_k) - \\log Z(\\beta_0)` (0 at k = 0).
      log_z_stderr: ``(R,)``, standard errors of ``log_z``, adding the
        pairs' variances (the rungs' series are treated as independent).
    """

    log_z_ratios: jax.Array
    stderr: jax.Array
    log_z: jax.Array
    log_z_stderr: jax.Array


def stepping_stone(betas, energies, min_blocks: int = 32) -> SteppingStone:
    r"""Stepping-stone estimates of :math:`\log Z` differences from energies at each rung.

    Args:
      betas: the ladder, shape ``(R,)``, increasing.
      energies: the total energy recorded at each rung, shape
        ``(n_samples, R)`` (e.g. ``trace["energy"]`` of
        ``jaxstat.mcmc.run`` over :func:`~jaxstat.mcmc.parallel_tempering`),
        after burn-in.
      min_blocks: passed to the blocking error analysis.

    Returns:
      a :class:`SteppingStone`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.lattice((4, 4))
      >>> betas = jnp.linspace(0.0, 0.4, 9)
      >>> pt = js.mcmc.parallel_tempering(js.mcmc.checkerboard(m), betas)
      >>> _, trace = js.mcmc.run(jax.random.key(0), pt, jnp.ones((4, 4)), None, 2000, burn_in=200)
      >>> r = js.stats.stepping_stone(betas, trace["energy"])
      >>> exact = js.exact.enumerate(m, 0.4).log_z - 16 * jnp.log(2.0)
      >>> bool(abs(r.log_z[-1] - exact) < 4 * r.log_z_stderr[-1])
      True
    """
    min_blocks = check_positive_int(min_blocks, "min_blocks", minimum=2)
    e = check_trace(energies, "energies", min_samples=min_blocks)
    if e.ndim != 2 or e.shape[1] < 2:
        raise ValueError(f"energies must have shape (n_samples, R) with R >= 2 rungs; got shape {tuple(e.shape)}")
    betas = jnp.asarray(betas, e.dtype)
    if betas.shape != (e.shape[1],):
        raise ValueError(
            f"betas must have shape (R,) = ({e.shape[1]},) to match energies of shape {tuple(e.shape)}; "
            f"got shape {tuple(betas.shape)}"
        )
    if is_concrete(betas):
        b = np.asarray(betas)
        if not (np.isfinite(b).all() and (b >= 0).all()):
            raise ValueError(f"betas must be finite inverse temperatures >= 0; got {b.tolist()}")
    w = -(betas[1:] - betas[:-1]) * e[:, :-1]          # samples at the lower rung of each pair
    shift = jnp.max(w, axis=0)
    y = jnp.exp(w - shift)
    mean = jnp.mean(y, axis=0)
    se = select_level(block_stderrs(y, min_blocks), y.shape[0], "plateau")
    ratios = shift + jnp.log(mean)
    stderr = se / mean
    zero = jnp.zeros((1,), e.dtype)
    log_z = jnp.concatenate([zero, jnp.cumsum(ratios)])
    log_z_stderr = jnp.sqrt(jnp.concatenate([zero, jnp.cumsum(stderr**2)]))
    return SteppingStone(ratios, stderr, log_z, log_z_stderr)
