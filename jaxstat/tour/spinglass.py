"""Tour section: the Sherrington–Kirkpatrick spin glass with parallel tempering."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat.tour._common import stage

# The rungs, hot to cold as parallel tempering wants them: T = 2.0, 1.875, ..., 0.5,
# so T = 1.5 and T = 0.5 are rungs of every run.
TEMPERATURES = np.round(np.linspace(2.0, 0.5, 13), 10)
SHOW_T = (1.5, 0.5)
SHOW_RUNGS = tuple(int(np.argmin(np.abs(TEMPERATURES - T))) for T in SHOW_T)
GROUND_STATE_ENERGY = -0.7633  # Parisi's e_0 of the SK model (N -> infinity), per spin


def _record(state):
    # energies at every rung; configurations only at the rungs whose P(q) is shown
    return {"energy": state.energy, "spins": state.spins[jnp.asarray(SHOW_RUNGS)]}


def tempered_replicas(n: int, n_disorder: int, n_steps: int, burn_in: int, thin: int, seed: int = 0):
    """Energies and overlaps of SK samples: one compiled call over disorder samples and two replicas.

    For each of ``n_disorder`` coupling samples, two independent parallel-tempering
    runs (replicas a and b) over the ladder 1 / TEMPERATURES. Returns the mean
    energy per spin at every rung per sample ``(n_disorder, R)`` and the overlaps
    ``q = s_a . s_b / N`` recorded every ``thin`` steps at the rungs of SHOW_T,
    ``(n_disorder, n_records, len(SHOW_T))``.
    """
    from jaxstat import ising, mcmc

    betas = jnp.asarray(1.0 / TEMPERATURES, jnp.float32)

    def one_sample(key):
        k_model, k_a, k_b = jax.random.split(key, 3)
        # The couplings are traced: the sampler is a pytree, so one program
        # serves every disorder sample. Field refreshes every 8 sites instead of
        # the default 32: the same chain, half the compile time here.
        model = ising.sherrington_kirkpatrick(k_model, n)
        pt = mcmc.parallel_tempering(mcmc.single_spin(model, "metropolis", block_size=8), betas)

        def replica(k):
            k_init, k_run = jax.random.split(k)
            spins = ising.random_spins(k_init, (len(betas), n))
            return mcmc.run(k_run, pt, spins, None, n_steps, burn_in=burn_in, thin=thin, observe=_record)[1]

        # one vmapped program for both replicas (two calls would compile it twice)
        trace = jax.vmap(replica)(jnp.stack([k_a, k_b]))
        energy = jnp.mean(trace["energy"], axis=(0, 1)) / n
        q = jnp.mean(trace["spins"][0] * trace["spins"][1], axis=-1)
        return energy, q

    keys = jax.random.split(jax.random.key(seed), n_disorder)
    energy, q = jax.jit(jax.vmap(one_sample))(keys)
    return np.asarray(energy, np.float64), np.asarray(q, np.float64)


def spinglass_section(outdir: Path, quick: bool = False, bar=None) -> str:
    from jaxstat import plot

    sizes = (16,) if quick else (32, 64, 128)
    n_disorder = 2 if quick else 6
    n_steps, burn_in, thin = (100, 50, 2) if quick else (1200, 600, 4)
    energies, overlaps, timings = {}, {}, {}
    for n in sizes:
        stage(bar, f"SK N = {n}: {n_disorder} disorder samples x 2 replicas x {len(TEMPERATURES)} rungs")
        t0 = time.perf_counter()
        energies[n], overlaps[n] = tempered_replicas(n, n_disorder, n_steps, burn_in, thin)
        timings[n] = time.perf_counter() - t0
    rungs = dict(zip(SHOW_T, SHOW_RUNGS))
    p_q = {T: {n: overlaps[n][:, :, j].ravel() for n in sizes} for j, T in enumerate(SHOW_T)}
    e_mean = {n: (energies[n].mean(0), energies[n].std(0, ddof=1) / np.sqrt(n_disorder)) for n in sizes}
    fig = plot.spin_glass_tempering(TEMPERATURES, e_mean, p_q, GROUND_STATE_ENERGY)
    plot.save(fig, outdir / "spin_glass.png")

    lines = [
        "## The SK spin glass with parallel tempering",
        "",
        f"Sherrington–Kirkpatrick model, J_ij ~ N(0, 1/N), N = {', '.join(map(str, sizes))}; "
        f"{n_disorder} disorder samples per N, each with two independent replicas, each replica a "
        f"non-reversible parallel-tempering run over {len(TEMPERATURES)} rungs T = 2.0, 1.875, ..., 0.5 "
        f"(single-spin Metropolis sweeps; {burn_in} burn-in + {n_steps} steps). All disorder samples and "
        "replicas of one N are one vmapped, compiled call: the couplings are data of the sampler.",
        "",
        "Above T = 1 the energy per spin follows the annealed (high-temperature) result e = -1/(2T); "
        "below it the replica-symmetry-broken phase sets in and e tends to Parisi's ground-state "
        f"energy {GROUND_STATE_ENERGY} as T -> 0. The overlap q = s_a . s_b / N of two replicas of the "
        "same sample is narrow around 0 at T = 1.5 (width ~ 1/sqrt(N)) and broad, with weight at "
        "+-q_EA, at T = 0.5.",
        "",
        f"**Result:** N = {sizes[-1]}: e(T = 1.5) = {e_mean[sizes[-1]][0][rungs[1.5]]:.4f} ± "
        f"{e_mean[sizes[-1]][1][rungs[1.5]]:.4f} (annealed -1/(2T) = {-1 / 3:.4f}); e(T = 0.5) = "
        f"{e_mean[sizes[-1]][0][rungs[0.5]]:.4f} (Parisi ground state {GROUND_STATE_ENERGY}); <q^2> grows from "
        f"{np.mean(p_q[1.5][sizes[-1]] ** 2):.3f} at T = 1.5 to {np.mean(p_q[0.5][sizes[-1]] ** 2):.3f} at T = 0.5",
        "",
        "![Energy per spin against temperature for each N (mean over disorder samples with standard errors), "
        "with the annealed high-temperature result -1/(2T) and Parisi's ground-state energy. The overlap "
        "distribution P(q) of two replicas above (T = 1.5, narrow around 0) and below (T = 0.5, broad) the "
        "spin-glass transition at T = 1.](spin_glass.png)",
        "",
        "| N | e(T=1.5) | -1/(2T) | e(T=0.5) | <q^2> at T=1.5 | <q^2> at T=0.5 |",
        "|---|---|---|---|---|---|",
    ]
    for n in sizes:
        i15, i05 = rungs[1.5], rungs[0.5]
        lines.append(
            f"| {n} | {e_mean[n][0][i15]:.4f} ± {e_mean[n][1][i15]:.4f} | {-1 / 3:.4f} "
            f"| {e_mean[n][0][i05]:.4f} ± {e_mean[n][1][i05]:.4f} "
            f"| {np.mean(p_q[1.5][n] ** 2):.4f} | {np.mean(p_q[0.5][n] ** 2):.4f} |"
        )
    lines += ["", "Wall time per N (compile + run): " + ", ".join(f"N={n}: {t:.1f} s" for n, t in timings.items()),
              ""]
    return "\n".join(lines)
