"""Tour section: the 2D Ising model against Onsager."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat.tour._common import stage as _stage


# --------------------------------------------------------------------------- #
# Ising section
# --------------------------------------------------------------------------- #
def ising_sweep(L: int, temperatures, n_chains: int, n_sweeps: int, burn_in: int, seed: int = 0):
    """One compiled, vmapped call: every temperature and chain of one lattice size.

    Returns a dict of per-temperature ``(mean, stderr)`` pairs for ``abs_m``,
    ``energy`` (per spin), ``specific_heat`` (per spin), ``susceptibility``
    and ``binder``; error bars from the spread over independent chains.
    """
    from jaxstat import ising, mcmc

    model = ising.lattice((L, L))
    sampler = mcmc.checkerboard(model, rule="metropolis")
    betas = jnp.asarray(1.0 / np.asarray(temperatures), jnp.float32)
    n = L * L

    def chain(beta, key):
        # Ordered start: below T_c the chain begins in an ordered phase, above
        # it melts within the burn-in.
        _, trace = mcmc.run(key, sampler, jnp.ones((L, L)), beta, n_sweeps, burn_in=burn_in)
        e = trace["energy"] / n
        m = jnp.abs(trace["magnetization"])
        return {"e": jnp.mean(e), "e2": jnp.mean(e**2), "m": jnp.mean(m), "m2": jnp.mean(m**2), "m4": jnp.mean(m**4)}

    keys = jax.random.split(jax.random.key(seed), n_chains)
    per_t = jax.jit(jax.vmap(jax.vmap(chain, in_axes=(None, 0)), in_axes=(0, None)))
    mom = jax.tree.map(lambda x: np.asarray(x, np.float64), per_t(betas, keys))  # (n_T, n_chains)
    b = np.asarray(betas, np.float64)

    # Fluctuations from moments pooled over chains: the variance is taken
    # around the mean of all chains, so its bias (-2 tau_int / samples) is
    # n_chains times smaller than with per-chain variances. Error bars by
    # jackknife over chains.
    estimators = {
        "abs_m": lambda s: s["m"],
        "energy": lambda s: s["e"],
        "specific_heat": lambda s: b**2 * n * (s["e2"] - s["e"] ** 2),
        "susceptibility": lambda s: b * n * (s["m2"] - s["m"] ** 2),
        "binder": lambda s: 1 - s["m4"] / (3 * s["m2"] ** 2),
    }
    result = {}
    for name, f in estimators.items():
        full = f({k: v.mean(1) for k, v in mom.items()})
        jk = np.stack([f({k: np.delete(v, i, 1).mean(1) for k, v in mom.items()}) for i in range(n_chains)], 1)
        err = np.sqrt((n_chains - 1) / n_chains * ((jk - jk.mean(1, keepdims=True)) ** 2).sum(1))
        result[name] = (full, err)
    return result


def binder_crossing(temperatures, small, large):
    """Where the Binder cumulants of two lattice sizes cross, with a standard error.

    ``small`` and ``large`` are ``(U4, stderr)`` pairs over ``temperatures``.
    Below T_c the larger lattice has the larger U4 (nearer 2/3), above it the
    smaller, so T_c is where ``d = U4_large - U4_small`` changes sign from + to
    -; of several such changes (noise where both curves are flat) the steepest
    is taken, the one with the smallest error. Linear interpolation; the error
    is the standard error of ``d`` at the crossing over ``|dd/dT|``.

    >>> T = np.array([2.0, 2.2, 2.4, 2.6])
    >>> tc, err = binder_crossing(T, (np.array([0.6, 0.5, 0.3, 0.1]), np.full(4, 0.01)),
    ...                           (np.array([0.65, 0.55, 0.25, 0.05]), np.full(4, 0.01)))
    >>> round(float(tc), 3)
    2.3
    """
    T = np.asarray(temperatures, float)
    d = np.asarray(large[0]) - np.asarray(small[0])
    var = np.asarray(large[1]) ** 2 + np.asarray(small[1]) ** 2
    best = (float("nan"), float("nan"))
    for i in np.nonzero((d[:-1] > 0) & (d[1:] <= 0))[0]:
        frac = d[i] / (d[i] - d[i + 1])
        slope = (d[i + 1] - d[i]) / (T[i + 1] - T[i])
        err = np.sqrt((1 - frac) ** 2 * var[i] + frac**2 * var[i + 1]) / abs(slope)
        if not err >= best[1]:
            best = (T[i] + frac * (T[i + 1] - T[i]), err)
    return best


def ising_snapshots(L: int, temperatures, n_sweeps: int, seed: int = 1):
    """Configurations after ``n_sweeps`` from a random start, one per temperature."""
    from jaxstat import ising, mcmc

    model = ising.lattice((L, L))
    sampler = mcmc.checkerboard(model, rule="metropolis")
    spins0 = ising.random_spins(jax.random.key(seed), (L, L))
    betas = jnp.asarray(1.0 / np.asarray(temperatures), jnp.float32)

    def final(beta):
        state, _ = mcmc.run(jax.random.key(seed + 1), sampler, spins0, beta, n_sweeps, thin=n_sweeps,
                            observe=lambda s: s.energy)
        return state.spins

    return np.asarray(jax.jit(jax.vmap(final))(betas))


def ising_settings(quick: bool = False) -> dict:
    """The section's lattice sizes, temperatures and run lengths (``quick``: the CI-sized tour).

    >>> sorted(ising_settings(quick=True))
    ['burn_in', 'n_chains', 'n_sweeps', 'sizes', 'snapshot_size', 'snapshot_sweeps', 'temperatures']
    """
    # evenly spaced, denser where the curves bend near T_c = 2.269
    temperatures = np.unique(np.round(np.concatenate([np.linspace(1.5, 3.5, 11), np.linspace(2.15, 2.45, 7)]), 3))
    n_chains, n_sweeps, burn_in = (4, 600, 200) if quick else (16, 2500, 800)
    return {
        "sizes": (8, 16, 32) if quick else (8, 16, 32, 64),
        "temperatures": temperatures,
        "n_chains": n_chains,
        "n_sweeps": n_sweeps,
        "burn_in": burn_in,
        "snapshot_size": 96 if quick else 128,
        "snapshot_sweeps": 500 if quick else 2000,
    }


def ising_section(outdir: Path, quick: bool = False, bar=None, settings: dict | None = None) -> str:
    """Thermodynamics of the 2D Ising model against Onsager, and snapshots below, at and above T_c.

    ``settings`` overrides entries of :func:`ising_settings` (e.g. smaller
    lattices for a test); the figures are ``ising_thermodynamics.png`` and
    ``ising_snapshots.png`` in ``outdir``.
    """
    from jaxstat import exact, plot

    cfg = ising_settings(quick)
    unknown = sorted(set(settings or {}) - set(cfg))
    if unknown:
        raise ValueError(f"settings must have keys among {sorted(cfg)}; got unknown {unknown}")
    cfg.update(settings or {})
    sizes, temperatures = tuple(cfg["sizes"]), np.asarray(cfg["temperatures"], float)
    n_chains, n_sweeps, burn_in = cfg["n_chains"], cfg["n_sweeps"], cfg["burn_in"]
    curves, timings = {}, {}
    for L in sizes:
        if bar is not None:
            _stage(bar, f"Ising L={L}: {len(temperatures)} temperatures x {n_chains} chains")
        t0 = time.perf_counter()
        curves[L] = ising_sweep(L, temperatures, n_chains, n_sweeps, burn_in)
        timings[L] = time.perf_counter() - t0
    tc = float(exact.onsager_tc())
    grid = np.linspace(1.5, 3.5, 400)
    grid = grid[np.abs(grid - tc) > 2e-3]  # the specific heat diverges (log) at T_c
    onsager = {
        "T": grid,
        "abs_m": np.asarray(exact.onsager_magnetization(grid)),
        "energy": np.asarray(exact.onsager_energy(grid)),
        "specific_heat": np.asarray(exact.onsager_specific_heat(grid)),
    }
    fig = plot.ising_thermodynamics(temperatures, curves, onsager, tc)
    plot.save(fig, outdir / "ising_thermodynamics.png")

    if bar is not None:
        _stage(bar, "Ising snapshots below, at and above T_c")
    snap_t = (2.0, tc, 3.0)
    configs = ising_snapshots(cfg["snapshot_size"], snap_t, cfg["snapshot_sweeps"])
    fig = plot.spin_snapshots(
        configs,
        [f"T = {t:.3f}" + (" (T_c)" if t == tc else "") for t in snap_t],
        suptitle=f"{configs.shape[-1]}x{configs.shape[-1]} lattice from a random start",
    )
    plot.save(fig, outdir / "ising_snapshots.png")

    tc_binder, tc_binder_err = (binder_crossing(temperatures, curves[sizes[-2]]["binder"], curves[sizes[-1]]["binder"])
                                if len(sizes) > 1 else (float("nan"), float("nan")))
    away = np.abs(temperatures - tc) > 0.3
    e_dev = float(np.max(np.abs(curves[sizes[-1]]["energy"][0][away] - np.asarray(exact.onsager_energy(temperatures[away])))))
    lines = [
        "## Ising model (2D, checkerboard Metropolis)",
        "",
        f"Lattices L = {', '.join(map(str, sizes))}, {len(temperatures)} temperatures in "
        f"[{temperatures.min():g}, {temperatures.max():g}], {n_chains} chains each, {burn_in} burn-in + {n_sweeps} measured sweeps; one vmapped compiled "
        "call per lattice size. Fluctuations (c, chi, U4) come from moments pooled over the chains; "
        "error bars are jackknife standard errors over independent chains.",
        "",
        f"**Result:** T_c from the Binder crossing of L = {sizes[-2]} and {sizes[-1]}: "
        f"{tc_binder:.3f} ± {tc_binder_err:.3f} (Onsager: {tc:.4f}); largest |e - e_Onsager| per spin at "
        f"L = {sizes[-1]} away from T_c (|T - T_c| > 0.3): {e_dev:.4f}",
        "",
        f"![Magnetization, energy and specific heat per spin and the Binder cumulant U4 against temperature for L = "
        f"{', '.join(map(str, sizes))} (points with jackknife error bars), with Onsager's exact infinite-lattice "
        "curves (black) and T_c (dashed); the U4 curves of different sizes cross at T_c.](ising_thermodynamics.png)",
        f"![Snapshots of a {cfg['snapshot_size']}x{cfg['snapshot_size']} lattice after {cfg['snapshot_sweeps']} "
        "sweeps from a random start: ordered domains below T_c, fractal clusters at T_c, short-range "
        "disorder above.](ising_snapshots.png)",
        "",
        f"Onsager: T_c = {tc:.4f}. Largest lattice L = {sizes[-1]} against the infinite-lattice results:",
        "",
        "| T | <\\|m\\|> (MC) | m (Onsager) | e (MC) | e (Onsager) | c (MC) | c (Onsager) | U4 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    big = curves[sizes[-1]]
    for i, T in enumerate(temperatures):
        lines.append(
            f"| {T:.2f} | {big['abs_m'][0][i]:.4f} ± {big['abs_m'][1][i]:.4f} "
            f"| {float(exact.onsager_magnetization(T)):.4f} "
            f"| {big['energy'][0][i]:.4f} ± {big['energy'][1][i]:.4f} "
            f"| {float(exact.onsager_energy(T)):.4f} "
            f"| {big['specific_heat'][0][i]:.3f} ± {big['specific_heat'][1][i]:.3f} "
            f"| {float(exact.onsager_specific_heat(T)):.3f} "
            f"| {big['binder'][0][i]:.3f} |"
        )
    lines += ["", "Wall time per lattice size (compile + run): "
              + ", ".join(f"L={L}: {t:.1f} s" for L, t in timings.items()), ""]
    return "\n".join(lines)
