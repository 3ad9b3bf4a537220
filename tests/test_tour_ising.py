"""The tour's Ising section draws what it computed: the curves at the temperatures asked, Onsager's curves,
the summary table's numbers, and snapshots of ±1 spins.

The section runs once (module fixture) on small lattices, so the test stays within seconds; the
quick tour in ``test_package.py`` runs the CI-sized section end to end.
"""

import re

import matplotlib
import matplotlib.container
import numpy as np
import pytest

import jaxstat.plot
from jaxstat import exact
from jaxstat.tour.ising import ising_section, ising_settings

matplotlib.use("Agg")  # no figure exists yet, so switching after the imports is allowed

TEMPERATURES = np.array([1.5, 2.0, 2.269, 3.0, 3.5])
SETTINGS = {"sizes": (4, 8), "temperatures": TEMPERATURES, "n_chains": 8, "n_sweeps": 100, "burn_in": 20,
            "snapshot_size": 16, "snapshot_sweeps": 10}


@pytest.fixture(scope="module")
def section(tmp_path_factory):
    """Run the section once, keeping each figure it saves (plot.save closes it; the artists stay)."""
    out = tmp_path_factory.mktemp("ising")
    figures = {}
    original = jaxstat.plot.save

    def keep(fig, path):
        figures[path.stem] = fig
        return original(fig, path)

    mp = pytest.MonkeyPatch()
    mp.setattr(jaxstat.plot, "save", keep)
    try:
        summary = ising_section(out, quick=True, settings=SETTINGS)
    finally:
        mp.undo()
    return out, summary, figures


def _curves(ax):
    """``{label: data line}`` of the error-bar curves on ``ax``, in drawing order."""
    return {c.get_label(): c.lines[0] for c in ax.containers
            if isinstance(c, matplotlib.container.ErrorbarContainer)}


def _table(summary):
    """Rows of the section's markdown table: T, <|m|>, err, m (Onsager), e, err, e (Onsager), c, err, c, U4."""
    rows = []
    for line in summary.splitlines():
        if re.match(r"\| \d", line):
            rows.append([float(v) for v in re.findall(r"-?\d+\.\d+", line)])
    return np.array(rows)


def test_section_writes_its_figures_and_table(section):
    out, summary, figures = section
    assert set(figures) == {"ising_thermodynamics", "ising_snapshots"}
    for name in figures:
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert summary.startswith("## Ising model")
    assert _table(summary).shape == (len(TEMPERATURES), 11)


def test_thermodynamics_figure_has_every_size_at_every_temperature(section):
    _, summary, figures = section
    fig = figures["ising_thermodynamics"]
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == [r"$\langle |m| \rangle$", r"energy per spin $\langle e \rangle$",
                                               r"specific heat per spin $c$", r"Binder cumulant $U_4$"]
    for ax in axes:
        assert ax.get_xlabel() == "temperature T"
        curves = _curves(ax)
        assert list(curves) == ["L = 4", "L = 8"]
        for c in curves.values():
            np.testing.assert_allclose(c.get_xdata(), TEMPERATURES)
            assert np.all(np.isfinite(c.get_ydata()))
    # The largest lattice's curves are the table's numbers (printed to 4 and 3 decimals).
    table = _table(summary)
    abs_m, energy, _, binder = (_curves(ax)["L = 8"].get_ydata() for ax in axes)
    np.testing.assert_allclose(abs_m, table[:, 1], atol=5e-5)
    np.testing.assert_allclose(energy, table[:, 4], atol=5e-5)
    np.testing.assert_allclose(binder, table[:, 10], atol=5e-4)
    # Per-spin magnetization and the Binder cumulant are bounded by construction: 0 <= |m| <= 1, U4 <= 2/3.
    assert np.all((abs_m >= 0) & (abs_m <= 1)) and np.all(binder <= 2 / 3 + 1e-6)


def test_onsager_curves_are_drawn_where_they_exist(section):
    _, _, figures = section
    fig = figures["ising_thermodynamics"]
    exact_fns = [exact.onsager_magnetization, exact.onsager_energy, exact.onsager_specific_heat, None]
    for ax, fn in zip(fig.axes, exact_fns):
        lines = [ln for ln in ax.lines if ln.get_label() == "Onsager (L = ∞)"]
        if fn is None:
            assert not lines  # no infinite-lattice Binder cumulant
            continue
        (line,) = lines
        t = np.asarray(line.get_xdata())
        assert t.min() <= TEMPERATURES.min() and t.max() >= TEMPERATURES.max()
        np.testing.assert_allclose(line.get_ydata(), np.asarray(fn(t)), rtol=1e-5, atol=1e-6)
    # T_c is marked on every panel
    tc = float(exact.onsager_tc())
    for ax in fig.axes:
        assert any(np.allclose(ln.get_xdata(), tc) for ln in ax.lines if ln.get_linestyle() == "--")


def test_ordered_phase_matches_onsager_at_low_temperature(section):
    """At T = 1.5 (far below T_c; correlation length ~0.3 sites) even L = 8 is at the infinite-lattice
    values: finite-size corrections are O(exp(-L/xi)) < 1e-10, far below the statistical error.
    The error bars are jackknife standard errors over 8 independent chains, so (mean - exact) / SE
    follows Student's t with 7 degrees of freedom; P(|t_7| > 9) = 4e-5 per quantity. The table prints
    4 decimals, hence the 1e-4 for rounding."""
    _, summary, _ = section
    row = _table(summary)[0]
    assert row[0] == pytest.approx(1.5)
    assert abs(row[1] - row[3]) < 9 * row[2] + 1e-4  # |m|
    assert abs(row[4] - row[6]) < 9 * row[5] + 1e-4  # energy per spin


def test_snapshots_show_spins_at_three_temperatures(section):
    _, _, figures = section
    fig = figures["ising_snapshots"]
    tc = float(exact.onsager_tc())
    assert [ax.get_title() for ax in fig.axes] == ["T = 2.000", f"T = {tc:.3f} (T_c)", "T = 3.000"]
    for ax in fig.axes:
        spins = np.asarray(ax.images[0].get_array())
        assert spins.shape == (16, 16)
        assert set(np.unique(spins)) <= {-1.0, 1.0}


def test_settings_are_checked():
    assert set(ising_settings(True)) == set(SETTINGS)
    with pytest.raises(ValueError, match="settings"):
        ising_section(None, quick=True, settings={"n_sweep": 10})
