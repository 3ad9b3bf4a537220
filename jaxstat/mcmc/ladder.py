r"""Adaptive ladders for parallel tempering (Syed, Bouchard-Côté, Deligiannidis, Doucet 2022).

Non-reversible parallel tempering performs best when every neighbouring
pair rejects exchanges equally often. The rejection rate of a pair is, for
close rungs, :math:`r_i \approx \int_{\beta_i}^{\beta_{i+1}} \lambda(\beta)\,d\beta`
for a *local communication barrier* :math:`\lambda(\beta)` that depends on
the model, not on the ladder. So the cumulative barrier

.. math:: \Lambda(\beta) = \int_{\beta_0}^{\beta} \lambda, \qquad
          \Lambda(\beta_k) \approx \sum_{i<k} r_i ,

estimated from one run, tells where to put the rungs of the next: at equal
steps of :math:`\Lambda`, :math:`\beta'_k = \Lambda^{-1}(k\Lambda/(R-1))`.
:func:`tune_ladder` does this in rounds of doubling length (round n runs
``n_sweeps * 2**n`` steps), keeping the end points; the chains carry over
from round to round. The *global barrier* :math:`\Lambda = \Lambda(\beta_{R-1})`
sets the achievable round-trip rate, :math:`1/(2 + 2\Lambda)` as R grows,
and Syed et al.'s rule of thumb is to use about :math:`2\Lambda` rungs.
The rates are the Rao–Blackwellized :math:`1 - E[\alpha_i]` of
:class:`~jaxstat.mcmc.TemperingInfo`, and :math:`\Lambda^{-1}` is a
piecewise-linear (monotone) interpolation.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxstat._validate import check_key, check_positive_int
from jaxstat.mcmc.driver import run
from jaxstat.mcmc.tempering import parallel_tempering

__all__ = ["LadderTuning", "tune_ladder", "equal_rejection_ladder"]


class LadderTuning(NamedTuple):
    """Result of :func:`tune_ladder`.

    Attributes:
      betas: the tuned ladder, ``(R,)``.
      barrier: the global communication barrier :math:`\\Lambda` estimated
        in the last round.
      rejection_rates: ``(R-1,)``, the pairs' rejection rates in the last
        round (on the ladder that round ran, before the final retune).
      round_trip_rate: round trips per step in the last round, all replicas.
      suggested_n_rungs: about :math:`2\\Lambda` (at least 2): the number of
        rungs beyond which more rungs stop raising the round-trip rate.
      barrier_history: :math:`\\Lambda` after each round, ``(n_rounds,)``: it
        settles when the ladder has.
      state: the final parallel-tempering state, to continue from with
        :func:`~jaxstat.mcmc.run`.
    """

    betas: Any
    barrier: float
    rejection_rates: np.ndarray
    round_trip_rate: float
    suggested_n_rungs: int
    barrier_history: np.ndarray
    state: Any


def equal_rejection_ladder(betas, rejection_rates) -> np.ndarray:
    """Rungs at equal steps of the cumulative barrier :math:`\\sum_{i<k} r_i`, end points kept.

    Example:
      >>> equal_rejection_ladder([0.0, 1.0, 2.0], [0.1, 0.3]).round(4).tolist()   # the second pair is harder
      [0.0, 1.3333, 2.0]
    """
    betas = np.asarray(betas, np.float64)
    r = np.asarray(rejection_rates, np.float64)
    if r.shape != (betas.shape[0] - 1,):
        raise ValueError(f"rejection_rates must have shape (R-1,) = ({betas.shape[0] - 1},); got shape {r.shape}")
    # A pair that never rejects still spans some beta: a floor keeps the map invertible.
    r = np.maximum(r, 1e-9)
    cumulative = np.concatenate([[0.0], np.cumsum(r)])
    targets = np.linspace(0.0, cumulative[-1], betas.shape[0])
    new = np.interp(targets, cumulative, betas)
    new[0], new[-1] = betas[0], betas[-1]
    return new


def _no_observe(state):  # module level: one compiled program for every round and chunk
    return {}


def tune_ladder(key, sampler, spins, betas, n_rounds: int = 6, n_sweeps: int = 64,
                scheme: str = "nonreversible") -> LadderTuning:
    r"""Tune a parallel-tempering ladder to equal rejection rates, in doubling rounds.

    Args:
      key: a PRNG key.
      sampler: the base sampler (``step(key, state, beta)``).
      spins: initial configuration(s), as for :func:`~jaxstat.mcmc.parallel_tempering`'s ``init``.
      betas: the initial ladder: its length R and end points are kept.
      n_rounds: number of rounds (>= 1); round n runs ``n_sweeps * 2**n`` steps.
      n_sweeps: steps of the first round (>= 1); also the length of the one
        compiled chunk that every round repeats (so tuning compiles once).
      scheme: as for :func:`~jaxstat.mcmc.parallel_tempering`.

    Returns:
      a :class:`LadderTuning`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> m = js.ising.sherrington_kirkpatrick(jax.random.key(0), 8)
      >>> t = js.mcmc.tune_ladder(jax.random.key(1), js.mcmc.metropolis(m), jnp.ones(8),
      ...                         jnp.geomspace(0.1, 3.0, 5), n_rounds=2, n_sweeps=16)
      >>> t.betas.shape, round(float(t.betas[0]), 5), round(float(t.betas[-1]), 5)
      ((5,), 0.1, 3.0)
      >>> bool(t.barrier > 0), t.suggested_n_rungs >= 2
      (True, True)
    """
    check_key(key)
    n_rounds = check_positive_int(n_rounds, "n_rounds")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    pt = parallel_tempering(sampler, betas, scheme)
    state = pt.init(spins)
    history = []
    for rnd in range(n_rounds):
        acceptance, trips, steps = 0.0, 0.0, 0
        for chunk in range(2**rnd):
            state, trace = run(jax.random.fold_in(key, 2**rnd + chunk), pt, state, None, n_sweeps,
                               thin=n_sweeps, observe=_no_observe)
            acceptance = acceptance + np.asarray(trace["swap_acceptance"][0], np.float64)
            trips += float(trace["round_trips"][0]) * n_sweeps
            steps += n_sweeps
        rejection = 1.0 - acceptance / 2**rnd
        history.append(float(rejection.sum()))
        ladder = pt.betas
        new = equal_rejection_ladder(np.asarray(ladder, np.float64), rejection)
        pt = dataclasses.replace(pt, betas=jax.numpy.asarray(new, ladder.dtype))
    barrier = history[-1]
    return LadderTuning(
        betas=pt.betas,
        barrier=barrier,
        rejection_rates=rejection,
        round_trip_rate=trips / steps,
        suggested_n_rungs=max(2, math.ceil(2 * barrier)),
        barrier_history=np.asarray(history),
        state=state,
    )
