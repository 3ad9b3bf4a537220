"""Figures of spin models: Ising thermodynamics and snapshots, critical slowing down, the SK spin glass."""

from __future__ import annotations

import numpy as np

from jaxstat.plot._common import (
    as_finite_scalar,
    as_mapping,
    as_matrix,
    as_pair,
    as_text_list,
    as_vector,
    pyplot,
)

__all__ = ["ising_thermodynamics", "spin_snapshots", "critical_slowing_down", "spin_glass_tempering"]

_ISING_PANELS = (
    ("abs_m", r"$\langle |m| \rangle$"),
    ("energy", r"energy per spin $\langle e \rangle$"),
    ("specific_heat", r"specific heat per spin $c$"),
    ("binder", r"Binder cumulant $U_4$"),
)


def ising_thermodynamics(temperatures, curves: dict, exact: dict | None = None, tc: float | None = None):
    """Four panels against temperature: |m|, energy per spin, specific heat, Binder cumulant.

    Args:
      temperatures: shape ``(n_T,)``.
      curves: ``{L: {"abs_m": (mean, err), "energy": ..., "specific_heat": ..., "binder": ...}}``
        with arrays of shape ``(n_T,)``; one error-bar curve per ``L`` in each panel.
      exact: optional ``{"T": grid, "abs_m": ..., "energy": ..., "specific_heat": ...}``
        (Onsager's infinite-lattice curves), each of the grid's length; drawn as black lines.
      tc: critical temperature to mark.

    Returns:
      The matplotlib figure; its four axes are ``fig.axes[:4]`` in the order above.

    >>> import numpy as np, jaxstat.plot
    >>> T = np.array([2.0, 2.5])
    >>> obs = {k: (np.ones(2), np.zeros(2)) for k in ("abs_m", "energy", "specific_heat", "binder")}
    >>> fig = jaxstat.plot.ising_thermodynamics(T, {8: obs})
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['temperature T', 'temperature T', 'temperature T', 'temperature T']
    """
    T = as_vector(temperatures, "temperatures")
    curves = as_mapping(curves, "curves", "{L: {observable: (mean, err)}}")
    checked = {}
    for L, obs in curves.items():
        if not isinstance(obs, dict):
            raise ValueError(f"curves[{L!r}] must be a dict of (mean, err) pairs; got {type(obs).__name__}")
        missing = [k for k, _ in _ISING_PANELS if k not in obs]
        if missing:
            raise ValueError(f"curves[{L!r}] must have the keys {[k for k, _ in _ISING_PANELS]}; missing {missing}")
        checked[L] = {k: as_pair(obs[k], f"curves[{L!r}][{k!r}]", T.shape[0], allow_nan=True)
                      for k, _ in _ISING_PANELS}
    onsager = {}
    if exact is not None:
        exact = as_mapping(exact, "exact", '{"T": grid, observable: values}')
        if "T" not in exact:
            raise ValueError(f"exact must have a 'T' grid; got keys {sorted(map(str, exact))}")
        grid = as_vector(exact["T"], "exact['T']")
        onsager = {k: as_vector(exact[k], f"exact[{k!r}]", grid.shape[0], allow_nan=True)
                   for k, _ in _ISING_PANELS if k in exact}
    if tc is not None:
        tc = as_finite_scalar(tc, "tc", positive=True)

    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True)
    for ax, (key, label) in zip(axes.ravel(), _ISING_PANELS):
        for L, obs in sorted(checked.items()):
            mean, err = obs[key]
            ax.errorbar(T, mean, yerr=err, marker="o", ms=3, lw=1, capsize=2, label=f"L = {L}")
        if key in onsager:
            ax.plot(grid, onsager[key], "k-", lw=1.5, label="Onsager (L = ∞)")
        if tc is not None:
            ax.axvline(tc, color="gray", ls="--", lw=1)
        ax.set_xlabel("temperature T")
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    if tc is not None:
        axes[0, 0].text(tc, 0.05, r" $T_c$", color="gray")
    fig.suptitle("2D Ising model: checkerboard Metropolis, one vmapped compiled call per L")
    return fig


def spin_snapshots(configs, titles, cmap="gray", suptitle=None):
    """Side-by-side images of 2D spin configurations (black = -1, white = +1).

    Args:
      configs: a sequence of ``K`` 2-D arrays of ±1 (or a ``(K, H, W)`` array).
      titles: ``K`` panel titles.

    >>> import numpy as np, jaxstat.plot
    >>> fig = jaxstat.plot.spin_snapshots(np.ones((2, 4, 4)), ["a", "b"])
    >>> [ax.get_title() for ax in fig.axes]
    ['a', 'b']
    """
    try:
        configs = [as_matrix(c, f"configs[{i}]", allow_nan=False) for i, c in enumerate(configs)]
    except TypeError:
        raise ValueError(f"configs must be a sequence of 2-D spin arrays; got {type(configs).__name__}") from None
    if not configs:
        raise ValueError("configs must hold at least one 2-D spin configuration; got none")
    for i, c in enumerate(configs):
        if not np.all(np.abs(c) == 1):
            raise ValueError(f"configs[{i}] must hold spins -1 and +1; got values in [{c.min():g}, {c.max():g}]")
    titles = as_text_list(titles, "titles", len(configs))
    plt = pyplot()
    fig, axes = plt.subplots(1, len(configs), figsize=(3.2 * len(configs), 3.8), constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, c, title in zip(axes, configs, titles):
        ax.imshow(c, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def critical_slowing_down(sizes, taus: dict, fits: dict | None = None):
    """Integrated autocorrelation times against L on log–log axes, one panel per observable.

    Args:
      sizes: lattice sizes L, shape ``(n_L,)``, positive.
      taus: ``{algorithm: {L: {"abs_m": (tau, err), "energy": (tau, err)}}}`` in sweeps,
        with an entry for every L in ``sizes``; ``tau > 0`` (log axes).
      fits: optional ``{algorithm: {"abs_m": (z, err, log_prefactor), "energy": ...}}``, drawn
        as power laws ``exp(log_prefactor) L^z``.

    Returns:
      The matplotlib figure (two axes: ``|m|`` and the energy).

    >>> import jaxstat.plot
    >>> taus = {"wolff": {L: {"abs_m": (1.0, 0.1), "energy": (2.0, 0.1)} for L in (8, 16)}}
    >>> fig = jaxstat.plot.critical_slowing_down([8, 16], taus)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].lines[0].get_ydata().tolist()
    ('lattice size L', [1.0, 1.0])
    """
    L = as_vector(sizes, "sizes")
    if (L <= 0).any():
        raise ValueError(f"sizes must be positive lattice sizes; got {L.tolist()}")
    taus = as_mapping(taus, "taus", "{algorithm: {L: {observable: (tau, err)}}}")
    data = {}
    for name, per_L in taus.items():
        rows = {}
        for key in ("abs_m", "energy"):
            vals = []
            for s in sizes:
                try:
                    tau, err = per_L[s][key]
                except (KeyError, TypeError, ValueError):
                    raise ValueError(f"taus[{name!r}] must map every L in sizes to {{'abs_m': (tau, err), "
                                     f"'energy': (tau, err)}}; nothing usable for L = {s!r}, {key!r}") from None
                vals.append((tau, err))
            tau, err = as_pair(np.asarray(vals, dtype=float).T, f"taus[{name!r}][L][{key!r}]", L.shape[0])
            if (tau <= 0).any():
                raise ValueError(f"taus[{name!r}][L][{key!r}] must be positive (log axes); got {tau.tolist()}")
            rows[key] = (tau, err)
        data[name] = rows
    if fits is not None:
        for name in data:
            for key in ("abs_m", "energy"):
                try:
                    z = [float(v) for v in fits[name][key]]
                except (KeyError, TypeError, ValueError):
                    raise ValueError(f"fits[{name!r}][{key!r}] must be (z, err, log_prefactor) for every "
                                     "algorithm in taus") from None
                if len(z) != 3:
                    raise ValueError(f"fits[{name!r}][{key!r}] must be (z, err, log_prefactor); got {len(z)} numbers")

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    for ax, key, label in zip(axes, ("abs_m", "energy"), (r"$|m|$", r"energy $E$")):
        for i, (name, rows) in enumerate(data.items()):
            tau, err = rows[key]
            color = f"C{i}"
            z = fits[name][key] if fits else None
            lab = name if z is None else f"{name}: z = {z[0]:.2f} ± {z[1]:.2f}"
            ax.errorbar(L, tau, yerr=err, fmt="o", color=color, capsize=2, label=lab)
            if z is not None:
                ax.plot(L, np.exp(z[2]) * L ** z[0], "-", color=color, lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()
        ax.set_xticks(L, [str(int(s)) for s in L])
        ax.set_xlabel("lattice size L")
        ax.set_ylabel(r"$\tau_{\rm int}$ (sweeps)")
        ax.set_title(f"autocorrelation of {label} at $T_c$")
        ax.legend(fontsize=8)
    fig.suptitle(r"2D Ising model at $T_c$: $\tau \sim L^z$")
    return fig


def spin_glass_tempering(temperatures, energies: dict, overlaps: dict, ground_state_energy: float | None = None):
    """Energy per spin against T (with the annealed -1/(2T) above T = 1) and histograms of
    the overlap q of two replicas at the temperatures in ``overlaps``.

    Args:
      temperatures: shape ``(R,)``, positive.
      energies: ``{N: (mean, err)}`` arrays of shape ``(R,)``.
      overlaps: ``{T: {N: samples of q}}``, each ``q`` in [-1, 1].
      ground_state_energy: Parisi's ground-state energy per spin, marked at T = 0.

    Returns:
      The matplotlib figure: the energy axes, then one histogram axes per entry of ``overlaps``.

    >>> import numpy as np, jaxstat.plot
    >>> fig = jaxstat.plot.spin_glass_tempering([0.5, 1.5], {16: ([-0.7, -0.3], [0.01, 0.01])},
    ...                                         {0.5: {16: np.array([-1.0, 0.5, 1.0])}})
    >>> len(fig.axes), fig.axes[1].get_ylabel()
    (2, '$P(q)$')
    """
    T = as_vector(temperatures, "temperatures")
    if (T <= 0).any():
        raise ValueError(f"temperatures must be positive; got min {T.min():g}")
    energies = as_mapping(energies, "energies", "{N: (mean, err)}")
    checked = {N: as_pair(v, f"energies[{N!r}]", T.shape[0], allow_nan=True) for N, v in energies.items()}
    overlaps = as_mapping(overlaps, "overlaps", "{T: {N: samples of q}}")
    hists = {}
    for t, per_n in overlaps.items():
        as_finite_scalar(t, f"overlaps key {t!r}")
        per_n = as_mapping(per_n, f"overlaps[{t!r}]", "{N: samples of q}")
        rows = {}
        for N, q in per_n.items():
            n = as_finite_scalar(N, f"overlaps[{t!r}] key", positive=True)
            q = as_vector(np.ravel(np.asarray(q, dtype=float)), f"overlaps[{t!r}][{N!r}]")
            if (np.abs(q) > 1 + 1e-6).any():
                raise ValueError(f"overlaps[{t!r}][{N!r}] must be overlaps q in [-1, 1]; got max |q| = "
                                 f"{np.abs(q).max():g}")
            rows[int(n)] = q
        hists[t] = rows
    if ground_state_energy is not None:
        ground_state_energy = as_finite_scalar(ground_state_energy, "ground_state_energy")

    plt = pyplot()
    fig, axes = plt.subplots(1, 1 + len(hists), figsize=(4.2 * (1 + len(hists)), 4), constrained_layout=True)
    ax = axes[0]
    for N, (mean, err) in sorted(checked.items()):
        ax.errorbar(T, mean, yerr=err, marker="o", ms=3, lw=1, capsize=2, label=f"N = {N}")
    grid = np.linspace(1.0, max(T.max(), 1.0), 50)
    ax.plot(grid, -1 / (2 * grid), "k-", lw=1.5, label=r"$-1/(2T)$, $T > 1$")
    if ground_state_energy is not None:
        ax.plot([0], [ground_state_energy], "k*", ms=10, label=f"Parisi $e_0$ = {ground_state_energy}")
    ax.axvline(1.0, color="gray", ls="--", lw=1)
    ax.set_xlim(0, T.max() * 1.05)
    ax.set_xlabel("temperature T")
    ax.set_ylabel("energy per spin")
    ax.legend(fontsize=8)
    ax.set_title("SK model, disorder average")
    for ax, (t, per_n) in zip(axes[1:], hists.items()):
        for N, q in sorted(per_n.items()):
            # q takes the N + 1 values -1, -1 + 2/N, ..., 1: bins of a whole number of them
            # (about 1/16 wide), aligned between values, so no bin is empty by construction.
            width = 2 / N * max(1, round(N / 32))
            bins = np.arange(-1 - 1 / N, 1 + 1 / N + width, width)
            ax.hist(q, bins=bins, density=True, histtype="step", lw=1.5, label=f"N = {N}")
        ax.set_xlabel(r"overlap $q = s^a \cdot s^b / N$")
        ax.set_ylabel(r"$P(q)$")
        ax.set_title(f"T = {t}")
        ax.legend(fontsize=8)
    fig.suptitle("Sherrington–Kirkpatrick spin glass by parallel tempering")
    return fig
