"""jaxstat.plot: every figure draws the data it was given, with its axes labelled, and refuses bad shapes.

Each test builds small known arrays, draws them, and reads them back from the
matplotlib artists (a line's ydata, an image's array, the heights of bars, the
number of curves), so a figure that silently drops or reshapes data fails.
Each function also gets bad-shape cases: a ValueError naming the argument,
raised before matplotlib sees anything.
"""

import matplotlib
import matplotlib.container
import matplotlib.pyplot as plt
import numpy as np
import pytest

import jaxstat.plot as jp
from jaxstat.hopfield import CapacityResult, DiagramResult
from jaxstat.perceptron import SeparabilityResult, TeacherStudentResult

matplotlib.use("Agg")  # no figure exists yet, so switching after the imports is allowed

ISING_KEYS = ("abs_m", "energy", "specific_heat", "binder")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _errorbar_ydata(ax):
    """The y data of every error-bar curve on ``ax`` (the data line of each ErrorbarContainer)."""
    return [np.asarray(c.lines[0].get_ydata()) for c in ax.containers
            if isinstance(c, matplotlib.container.ErrorbarContainer)]


def _ising_curves(T, sizes=(8, 16)):
    rng = np.random.default_rng(0)
    return {L: {k: (rng.uniform(0, 1, T.size), np.full(T.size, 0.01)) for k in ISING_KEYS} for L in sizes}


def _capacity(n=(50, 100), n_alpha=3, n_trials=4):
    rng = np.random.default_rng(1)
    n = np.asarray(n)
    p = np.tile(np.arange(1, n_alpha + 1), (n.size, 1)) * n[:, None] // 20
    overlap = rng.uniform(0, 1, (n.size, n_alpha, n_trials))
    return CapacityResult(n, p, overlap, np.ones_like(overlap, bool), 0.9)


# --------------------------------------------------------------------------- #
# spins
# --------------------------------------------------------------------------- #
def test_ising_thermodynamics_draws_every_curve_and_onsager():
    T = np.array([1.5, 2.0, 2.5, 3.0])
    curves = _ising_curves(T)
    grid = np.linspace(1.5, 3.0, 7)
    exact = {"T": grid, "abs_m": grid / 10, "energy": -grid, "specific_heat": grid**2}
    fig = jp.ising_thermodynamics(T, curves, exact, tc=2.269)
    axes = fig.axes
    assert len(axes) == 4
    for ax, key in zip(axes, ISING_KEYS):
        assert ax.get_xlabel() == "temperature T"
        drawn = _errorbar_ydata(ax)
        assert len(drawn) == 2  # one curve per L
        for y, L in zip(drawn, sorted(curves)):
            np.testing.assert_array_equal(y, curves[L][key][0])
            assert np.asarray(ax.containers[0].lines[0].get_xdata()).tolist() == T.tolist()
        onsager = [ln for ln in ax.lines if ln.get_label() == "Onsager (L = ∞)"]
        if key in exact:
            assert len(onsager) == 1
            np.testing.assert_array_equal(onsager[0].get_ydata(), exact[key])
        else:
            assert not onsager  # the Binder cumulant has no Onsager curve
    assert axes[3].get_ylabel() == r"Binder cumulant $U_4$"


def test_ising_thermodynamics_bad_input():
    T = np.array([1.5, 2.0, 2.5])
    good = _ising_curves(T)
    with pytest.raises(ValueError, match="temperatures"):
        jp.ising_thermodynamics(T[:, None], good)
    with pytest.raises(ValueError, match=r"curves\[8\]\['energy'\]\[0\]"):
        jp.ising_thermodynamics(T, {8: {**good[8], "energy": (np.ones(2), np.ones(2))}})
    with pytest.raises(ValueError, match=r"curves\[8\].*missing \['binder'\]"):
        jp.ising_thermodynamics(T, {8: {k: good[8][k] for k in ISING_KEYS[:3]}})
    with pytest.raises(ValueError, match="curves"):
        jp.ising_thermodynamics(T, {})
    with pytest.raises(ValueError, match=r"exact\['energy'\]"):
        jp.ising_thermodynamics(T, good, {"T": np.ones(5), "energy": np.ones(4)})
    with pytest.raises(ValueError, match="tc"):
        jp.ising_thermodynamics(T, good, tc=float("nan"))


def test_spin_snapshots_shows_each_configuration():
    rng = np.random.default_rng(2)
    configs = np.where(rng.uniform(size=(3, 6, 6)) < 0.5, -1.0, 1.0)
    fig = jp.spin_snapshots(configs, ["a", "b", "c"], suptitle="s")
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    for ax, c in zip(fig.axes, configs):
        np.testing.assert_array_equal(ax.images[0].get_array(), c)


def test_spin_snapshots_bad_input():
    with pytest.raises(ValueError, match="titles"):
        jp.spin_snapshots(np.ones((2, 4, 4)), ["only one"])
    with pytest.raises(ValueError, match=r"configs\[0\]"):
        jp.spin_snapshots([np.ones(4)], ["a"])
    with pytest.raises(ValueError, match=r"configs\[1\].*-1 and \+1"):
        jp.spin_snapshots([np.ones((2, 2)), np.zeros((2, 2))], ["a", "b"])
    with pytest.raises(ValueError, match="configs"):
        jp.spin_snapshots([], [])


def test_critical_slowing_down_draws_taus_and_fits():
    sizes = [8, 16, 32]
    taus = {"metropolis": {L: {"abs_m": (L**2 / 10, 1.0), "energy": (L / 2, 0.5)} for L in sizes},
            "wolff": {L: {"abs_m": (2.0, 0.1), "energy": (1.5, 0.1)} for L in sizes}}
    fits = {"metropolis": {"abs_m": (2.0, 0.1, np.log(0.1)), "energy": (1.0, 0.1, np.log(0.5))},
            "wolff": {"abs_m": (0.0, 0.1, np.log(2.0)), "energy": (0.0, 0.1, np.log(1.5))}}
    fig = jp.critical_slowing_down(sizes, taus, fits)
    ax_m, ax_e = fig.axes
    assert ax_m.get_xlabel() == "lattice size L" and ax_m.get_xscale() == "log" and ax_m.get_yscale() == "log"
    drawn = _errorbar_ydata(ax_m)
    np.testing.assert_allclose(drawn[0], [6.4, 25.6, 102.4])
    np.testing.assert_allclose(drawn[1], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(_errorbar_ydata(ax_e)[0], [4.0, 8.0, 16.0])
    # the fitted power laws exp(c) L^z pass through the points they were built from
    fit_lines = [ln for ln in ax_m.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 3]
    np.testing.assert_allclose(fit_lines[0].get_ydata(), [6.4, 25.6, 102.4], rtol=1e-12)


def test_critical_slowing_down_bad_input():
    taus = {"m": {8: {"abs_m": (1.0, 0.1), "energy": (1.0, 0.1)}}}
    with pytest.raises(ValueError, match="taus"):
        jp.critical_slowing_down([8, 16], taus)            # no entry for L = 16
    with pytest.raises(ValueError, match="sizes"):
        jp.critical_slowing_down([-8], taus)
    with pytest.raises(ValueError, match="positive"):
        jp.critical_slowing_down([8], {"m": {8: {"abs_m": (0.0, 0.1), "energy": (1.0, 0.1)}}})
    with pytest.raises(ValueError, match="fits"):
        jp.critical_slowing_down([8], taus, {"m": {"abs_m": (1.0, 0.1)}})


def test_spin_glass_tempering_draws_energies_and_histograms():
    T = np.array([0.4, 0.8, 1.2, 1.6])
    energies = {32: (np.array([-0.75, -0.7, -0.45, -0.32]), np.full(4, 0.01))}
    q = np.concatenate([np.full(30, -0.75), np.full(70, 0.75)])
    fig = jp.spin_glass_tempering(T, energies, {0.4: {32: q}, 1.2: {32: np.zeros(10)}}, -0.7633)
    ax_e, ax_q1, ax_q2 = fig.axes
    assert ax_e.get_xlabel() == "temperature T" and ax_e.get_ylabel() == "energy per spin"
    np.testing.assert_array_equal(_errorbar_ydata(ax_e)[0], energies[32][0])
    annealed = next(ln for ln in ax_e.lines if ln.get_label().startswith("$-1/(2T)$"))
    np.testing.assert_allclose(annealed.get_ydata(), -1 / (2 * annealed.get_xdata()))
    assert [ln.get_ydata()[0] for ln in ax_e.lines if ln.get_label().startswith("Parisi")] == [-0.7633]
    assert ax_q1.get_title() == "T = 0.4" and ax_q2.get_title() == "T = 1.2"
    # the histogram is a density with all the mass at +-0.75 in the ratio 3 : 7
    (patch,) = ax_q1.patches
    xy = patch.get_xy()
    heights = xy[1:-1:2, 1]
    widths = np.diff(xy[0:-1:2, 0])
    mass = heights * widths
    assert mass.sum() == pytest.approx(1.0)
    assert sorted(mass[mass > 0].round(6).tolist()) == [0.3, 0.7]


def test_spin_glass_tempering_bad_input():
    T = np.array([0.5, 1.5])
    e = {16: (np.array([-0.7, -0.3]), np.array([0.01, 0.01]))}
    with pytest.raises(ValueError, match=r"energies\[16\]\[0\]"):
        jp.spin_glass_tempering(T, {16: (np.ones(3), np.ones(3))}, {0.5: {16: np.zeros(3)}})
    with pytest.raises(ValueError, match="temperatures"):
        jp.spin_glass_tempering(np.array([0.0, 1.0]), e, {0.5: {16: np.zeros(3)}})
    with pytest.raises(ValueError, match=r"overlaps\[0.5\]\[16\].*\[-1, 1\]"):
        jp.spin_glass_tempering(T, e, {0.5: {16: np.array([2.0])}})
    with pytest.raises(ValueError, match="overlaps"):
        jp.spin_glass_tempering(T, e, {})


# --------------------------------------------------------------------------- #
# hopfield
# --------------------------------------------------------------------------- #
def test_hopfield_recall_shows_stored_probes_and_results():
    rng = np.random.default_rng(3)
    stored = np.where(rng.uniform(size=(3, 6)) < 0.5, -1.0, 1.0)
    probe = -stored
    fig = jp.hopfield_recall(stored, probe, {"Hebb": stored, "Storkey": probe}, (2, 3))
    axes = np.asarray(fig.axes).reshape(4, 3)
    assert [axes[r, 0].get_ylabel() for r in range(4)] == ["stored", "probe", "Hebb", "Storkey"]
    for r, images in enumerate((stored, probe, stored, probe)):
        for c in range(3):
            np.testing.assert_array_equal(axes[r, c].images[0].get_array(), images[c].reshape(2, 3))


def test_hopfield_recall_bad_input():
    stored = np.ones((2, 6))
    with pytest.raises(ValueError, match="probe"):
        jp.hopfield_recall(stored, np.ones((3, 6)), {}, (2, 3))
    with pytest.raises(ValueError, match="image_shape"):
        jp.hopfield_recall(stored, stored, {}, (2, 2))
    with pytest.raises(ValueError, match=r"results\['Hebb'\]"):
        jp.hopfield_recall(stored, stored, {"Hebb": np.ones((2, 5))}, (2, 3))
    with pytest.raises(ValueError, match="stored"):
        jp.hopfield_recall(np.ones(6), stored, {}, (2, 3))


def test_hopfield_capacity_draws_each_size_and_theory():
    r = _capacity()
    grid = np.linspace(0.01, 0.2, 5)
    fig = jp.hopfield_capacity(r, 0.138, (grid, 1 - grid))
    a1, a2 = fig.axes
    assert a1.get_xlabel() == a2.get_xlabel() == r"load $\alpha = P/N$"
    assert a1.get_ylabel() == "fraction retrieved (final overlap > 0.9)"
    for k, y in enumerate(_errorbar_ydata(a1)):
        np.testing.assert_allclose(y, r.retrieved_fraction[k])
    for k, y in enumerate(_errorbar_ydata(a2)):
        np.testing.assert_allclose(y, r.mean_overlap[k])
    theory = next(ln for ln in a2.lines if ln.get_label() == "AGS theory (N = ∞)")
    np.testing.assert_array_equal(theory.get_ydata(), 1 - grid)


def test_hopfield_capacity_bad_input():
    r = _capacity()
    with pytest.raises(ValueError, match="result"):
        jp.hopfield_capacity({"n": 1}, 0.138)
    with pytest.raises(ValueError, match="alpha_c"):
        jp.hopfield_capacity(r, -0.1)
    with pytest.raises(ValueError, match=r"theory\[1\]"):
        jp.hopfield_capacity(r, 0.138, (np.ones(5), np.ones(4)))


def test_hopfield_diagram_draws_the_mean_overlap():
    rng = np.random.default_rng(4)
    d = DiagramResult(100, np.array([5, 10, 15]), np.array([0.1, 0.3]), rng.uniform(size=(2, 3, 4)))
    fig = jp.hopfield_diagram(d, (np.array([0.0, 0.1]), np.array([1.0, 0.5])))
    ax = fig.axes[0]
    assert ax.get_xlabel() == r"load $\alpha = P/N$" and ax.get_ylabel() == "temperature T"
    np.testing.assert_allclose(np.asarray(ax.collections[0].get_array()).reshape(2, 3), d.mean_overlap)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, 0.5])
    assert fig.axes[1].get_ylabel() == "mean overlap with the stored pattern"  # the colour bar


def test_hopfield_diagram_bad_input():
    d = DiagramResult(100, np.array([5, 10, 15]), np.array([0.1, 0.3]), np.ones((3, 2, 4)))  # axes swapped
    with pytest.raises(ValueError, match=r"diagram.mean_overlap"):
        jp.hopfield_diagram(d)
    with pytest.raises(ValueError, match="diagram"):
        jp.hopfield_diagram(np.ones((2, 3)))
    good = DiagramResult(100, np.array([5, 10]), np.array([0.1]), np.ones((1, 2, 4)))
    with pytest.raises(ValueError, match=r"boundary\[1\]"):
        jp.hopfield_diagram(good, (np.ones(3), np.ones(2)))


def test_capacity_comparison_draws_one_curve_per_memory():
    a, b = _capacity(n=(50,)), _capacity(n=(80,), n_alpha=4)
    fig = jp.capacity_comparison({"Hebb": a, "dense": b}, 0.138, title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "fraction retrieved" and ax.get_title() == "t"
    drawn = _errorbar_ydata(ax)
    np.testing.assert_allclose(drawn[0], a.retrieved_fraction[0])
    np.testing.assert_allclose(drawn[1], b.retrieved_fraction[0])


def test_capacity_comparison_bad_input():
    with pytest.raises(ValueError, match="results"):
        jp.capacity_comparison({})
    with pytest.raises(ValueError, match=r"results\['x'\]"):
        jp.capacity_comparison({"x": (1, 2)})


# --------------------------------------------------------------------------- #
# learning
# --------------------------------------------------------------------------- #
def test_fruit_boundary_draws_both_classes_and_the_line():
    x = np.array([[200.0, 3.0], [220.0, 2.0], [120.0, 8.0]])
    y = np.array([1, 1, -1])
    fig = jp.fruit_boundary(x, y, np.array([1.0, 2.0]), -170.0, title="t")
    ax = fig.axes[0]
    apples, oranges = ax.collections
    np.testing.assert_array_equal(apples.get_offsets(), x[:2])
    np.testing.assert_array_equal(oranges.get_offsets(), x[2:])
    (line,) = ax.lines
    xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    np.testing.assert_allclose(1.0 * xs + 2.0 * ys - 170.0, 0.0, atol=1e-9)  # on w.x + b = 0
    assert ax.get_xlabel() == "weight (g)" and ax.get_ylabel() == "sweetness (1-10)"
    # a vertical boundary (w2 = 0) is an axvline at x1 = -b / w1
    fig = jp.fruit_boundary(x, y, np.array([2.0, 0.0]), -320.0)
    assert fig.axes[0].lines[0].get_xdata()[0] == pytest.approx(160.0)


def test_fruit_boundary_bad_input():
    x, y, w = np.ones((3, 2)), np.array([1, -1, 1]), np.array([1.0, 1.0])
    with pytest.raises(ValueError, match="x"):
        jp.fruit_boundary(np.ones((3, 3)), y, w, 0.0)
    with pytest.raises(ValueError, match="y"):
        jp.fruit_boundary(x, y[:2], w, 0.0)
    with pytest.raises(ValueError, match="y must be labels"):
        jp.fruit_boundary(x, np.array([0, 1, 1]), w, 0.0)
    with pytest.raises(ValueError, match="w"):
        jp.fruit_boundary(x, y, np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="b"):
        jp.fruit_boundary(x, y, w, np.array([1.0, 2.0]))


def test_separability_curve_draws_fractions_and_cover():
    sep = np.zeros((2, 3, 4), bool)
    sep[0, 0] = True
    sep[1, :2, :2] = True
    r = SeparabilityResult(np.array([10, 20]), np.array([1.0, 2.0, 3.0]), np.array([[10, 20, 30], [20, 40, 60]]),
                           sep, sep, np.zeros((2, 3)))
    fig = jp.separability_curve(r, {10: (np.array([1.0, 3.0]), np.array([1.0, 0.0]))})
    ax = fig.axes[0]
    drawn = _errorbar_ydata(ax)
    np.testing.assert_allclose(drawn[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(drawn[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(ax.containers[0].lines[0].get_xdata(), [1.0, 2.0, 3.0])
    cover = [ln for ln in ax.lines if list(ln.get_ydata()) == [1.0, 0.0]]
    assert len(cover) == 1
    assert ax.get_ylabel() == "probability of linear separability"


def test_separability_curve_bad_input():
    with pytest.raises(ValueError, match="result"):
        jp.separability_curve(object())
    r = SeparabilityResult(np.array([10]), np.array([1.0]), np.array([[10]]), np.ones((1, 1, 2), bool),
                           np.ones((1, 1, 2), bool), np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"cover_curves\[10\]\[1\]"):
        jp.separability_curve(r, {10: (np.ones(3), np.ones(2))})


def test_generalization_curve_draws_measurements_and_theory():
    eps = np.array([[0.4, 0.2], [0.2, 0.1]])
    r = TeacherStudentResult(50, np.array([1.0, 2.0]), np.array([50, 100]), np.zeros((2, 2)), eps,
                             np.ones((2, 2), bool), np.ones((2, 2)), np.zeros(2), np.zeros(2))
    grid = np.linspace(0.5, 3, 6)
    fig = jp.generalization_curve(r, grid, 1 / grid, 0.5 / grid)
    ax = fig.axes[0]
    np.testing.assert_allclose(_errorbar_ydata(ax)[0], [0.3, 0.15])
    gibbs, bayes = (ln for ln in ax.lines if len(ln.get_xdata()) == 6)
    np.testing.assert_allclose(gibbs.get_ydata(), 1 / grid)
    np.testing.assert_allclose(bayes.get_ydata(), 0.5 / grid)
    assert ax.get_xlabel() == r"examples per weight $\alpha = P/N$"


def test_generalization_curve_bad_input():
    r = TeacherStudentResult(50, np.array([1.0, 2.0]), np.array([50, 100]), np.zeros((2, 2)), np.zeros((2, 2)),
                             np.ones((2, 2), bool), np.ones((2, 2)), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="gibbs"):
        jp.generalization_curve(r, np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match="grid"):
        jp.generalization_curve(r, None, np.ones(3))
    with pytest.raises(ValueError, match="result"):
        jp.generalization_curve(np.ones(3))


def test_weight_images_show_each_vector():
    w = np.arange(12.0).reshape(3, 4) - 6
    fig = jp.weight_images(w, (2, 2), titles=[0, 1, 2], suptitle="s")
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2"]
    for ax, row in zip(fig.axes, w):
        np.testing.assert_array_equal(ax.images[0].get_array(), row.reshape(2, 2))
        lim = np.abs(row).max()
        assert ax.images[0].get_clim() == (-lim, lim)


def test_weight_images_bad_input():
    with pytest.raises(ValueError, match="image_shape"):
        jp.weight_images(np.ones((3, 4)), (3, 3))
    with pytest.raises(ValueError, match="titles"):
        jp.weight_images(np.ones((3, 4)), (2, 2), titles=["a"])
    with pytest.raises(ValueError, match="weights"):
        jp.weight_images(np.ones(4), (2, 2))


def test_rbm_likelihood_draws_ais_and_exact_curves():
    rows = np.array([[1, -30.0, 0.5, -29.0], [2, -25.0, 0.4, -24.5], [3, -22.0, 0.3, -21.8]])
    no_exact = rows.copy()
    no_exact[:, 3] = np.nan
    fig = jp.rbm_likelihood({"a": rows, "b": no_exact}, {"exact": rows})
    ax = fig.axes[0]
    drawn = _errorbar_ydata(ax)
    np.testing.assert_array_equal(drawn[0], rows[:, 1])
    np.testing.assert_array_equal(drawn[1], rows[:, 1])
    np.testing.assert_array_equal(ax.lines[-1].get_ydata(), rows[:, 3])
    assert ax.get_xlabel() == "epoch"


def test_rbm_likelihood_bad_input():
    with pytest.raises(ValueError, match=r"ais\['a'\]"):
        jp.rbm_likelihood({"a": np.ones((3, 2))})
    with pytest.raises(ValueError, match=r"exact\['e'\]"):
        jp.rbm_likelihood({"a": np.ones((3, 3))}, {"e": np.ones((3, 3))})
    with pytest.raises(ValueError, match=r"ais\['a'\].*finite"):
        jp.rbm_likelihood({"a": np.full((3, 3), np.nan)})


def test_image_grid_places_every_image():
    images = np.random.default_rng(5).uniform(size=(5, 6))
    fig = jp.image_grid(images, (3, 2), n_cols=3)
    assert len(fig.axes) == 6
    for k, ax in enumerate(fig.axes):
        if k < 5:
            np.testing.assert_array_equal(ax.images[0].get_array(), images[k].reshape(3, 2))
        else:
            assert not ax.images  # the unused cell is blank


def test_image_grid_bad_input():
    with pytest.raises(ValueError, match="image_shape"):
        jp.image_grid(np.ones((5, 6)), (4, 2))
    with pytest.raises(ValueError, match="n_cols"):
        jp.image_grid(np.ones((5, 6)), (3, 2), n_cols=0)
    with pytest.raises(ValueError, match="images"):
        jp.image_grid(np.ones((2, 3, 2)), (3, 2))


# --------------------------------------------------------------------------- #
# landscape
# --------------------------------------------------------------------------- #
def test_landscape_line_draws_each_slice():
    xs = np.linspace(-1, 1, 5)
    fig = jp.landscape_line(xs, {"a": xs**2, "b": np.abs(xs)}, title="t")
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), xs)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), xs**2)
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), np.abs(xs))
    assert ax.get_ylabel() == "loss" and ax.get_title() == "t"


def test_landscape_line_bad_input():
    with pytest.raises(ValueError, match=r"curves\['a'\]"):
        jp.landscape_line(np.ones(5), {"a": np.ones(4)})
    with pytest.raises(ValueError, match="xs"):
        jp.landscape_line(np.ones((5, 1)), {"a": np.ones(5)})
    with pytest.raises(ValueError, match="curves"):
        jp.landscape_line(np.ones(5), np.ones(5))


def test_landscape_contour_draws_the_plane_with_its_orientation():
    xs, ys = np.linspace(-1, 1, 5), np.linspace(-2, 2, 3)
    z = xs[:, None] ** 2 - 0.1 * ys[None, :]  # (len(xs), len(ys)), asymmetric so a transpose shows
    fig = jp.landscape_contour(xs, ys, z, xlabel="u", ylabel="v")
    ax, cbar = fig.axes
    assert ax.get_xlabel() == "u" and ax.get_ylabel() == "v" and cbar.get_ylabel() == "loss"
    cs = ax.collections[0]
    levels = np.asarray(cs.levels)
    assert levels.min() <= z.min() and levels.max() >= z.max()
    # with a centre the map shows values - centre; the zero contour is drawn
    fig = jp.landscape_contour(xs, ys, z, center=0.5)
    ax, cbar = fig.axes
    assert cbar.get_ylabel() == "loss − loss at the centre"
    lv = np.asarray(ax.collections[0].levels)
    assert lv.min() == pytest.approx(z.min() - 0.5) and lv.max() == pytest.approx(z.max() - 0.5)
    assert list(ax.collections[1].levels) == [0.0]


def test_landscape_contour_bad_input():
    xs, ys = np.linspace(-1, 1, 5), np.linspace(-1, 1, 3)
    with pytest.raises(ValueError, match=r"values must have shape \(5, 3\)"):
        jp.landscape_contour(xs, ys, np.ones((3, 5)))
    with pytest.raises(ValueError, match="values must be finite"):
        jp.landscape_contour(xs, ys, np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="center"):
        jp.landscape_contour(xs, ys, np.ones((5, 3)), center=np.nan)
    with pytest.raises(ValueError, match="levels"):
        jp.landscape_contour(xs, ys, np.ones((5, 3)), levels=1)
    with pytest.raises(ValueError, match="ys"):
        jp.landscape_contour(xs, np.ones(1), np.ones((5, 1)))


def test_landscape_surface_draws_the_plane():
    xs, ys = np.linspace(-1, 1, 4), np.linspace(0, 1, 3)
    z = xs[:, None] + 10 * ys[None, :]
    fig = jp.landscape_surface(xs, ys, z, xlabel="u")
    ax = fig.axes[0]
    assert ax.name == "3d" and ax.get_zlabel() == "loss" and ax.get_xlabel() == "u"
    assert len(ax.collections) == 1
    # the surface spans the values' range (z limits autoscale to the data)
    lo, hi = ax.get_zlim()
    assert lo <= z.min() and hi >= z.max() and hi - lo < 2 * (z.max() - z.min())


def test_landscape_surface_bad_input():
    xs, ys = np.linspace(-1, 1, 4), np.linspace(0, 1, 3)
    with pytest.raises(ValueError, match="values"):
        jp.landscape_surface(xs, ys, np.ones((3, 4)))
    _, flat = plt.subplots()
    with pytest.raises(ValueError, match="ax must be a 3D axes"):
        jp.landscape_surface(xs, ys, np.ones((4, 3)), ax=flat)


def test_spectral_density_plot_draws_clipped_densities():
    grid = np.linspace(-1, 1, 5)
    d = np.array([0.0, 0.1, 1.0, 0.1, 0.0])
    fig = jp.spectral_density_plot({"min": (grid, d)}, floor=1e-3)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), grid)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), np.maximum(d, 1e-3))
    assert ax.get_yscale() == "log" and ax.get_xlabel() == r"eigenvalue $\lambda$"
    fig = jp.spectral_density_plot({"min": (grid, d)}, log=False)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), d)


def test_spectral_density_plot_bad_input():
    with pytest.raises(ValueError, match=r"densities\['a'\]\[1\]"):
        jp.spectral_density_plot({"a": (np.ones(5), np.ones(4))})
    with pytest.raises(ValueError, match=r"densities\['a'\]\[1\] must be a density"):
        jp.spectral_density_plot({"a": (np.ones(2), np.array([1.0, -1.0]))})
    with pytest.raises(ValueError, match="floor"):
        jp.spectral_density_plot({"a": (np.ones(2), np.ones(2))}, floor=0.0)


def test_eigenvalue_bars_draws_heights_and_errors():
    vals = {"minimum": np.array([5.0, 0.5, 0.01]), "saddle": np.array([4.0, -0.2, -1.0])}
    errs = {"minimum": np.array([1e-3, 1e-3, 1e-4]), "saddle": np.array([0.0, 0.1, 0.2])}
    fig = jp.eigenvalue_bars(vals, errs, ticklabels=["1", "2", "n"])
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, matplotlib.container.BarContainer)]
    assert len(bars) == 2
    for c, v in zip(bars, vals.values()):
        np.testing.assert_allclose([p.get_height() for p in c], v)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "n"]
    assert ax.get_yscale() == "symlog"
    assert ax.yaxis.get_transform().linthresh == pytest.approx(0.01)  # the smallest nonzero |value|


def test_eigenvalue_bars_bad_input():
    with pytest.raises(ValueError, match=r"errors\['a'\]"):
        jp.eigenvalue_bars({"a": np.ones(3)}, {"a": np.ones(2)})
    with pytest.raises(ValueError, match="errors has a label 'b'"):
        jp.eigenvalue_bars({"a": np.ones(3)}, {"b": np.ones(3)})
    with pytest.raises(ValueError, match="ticklabels"):
        jp.eigenvalue_bars({"a": np.ones(3)}, ticklabels=["1", "2"])
    with pytest.raises(ValueError, match=r"eigenvalues\['a'\]"):
        jp.eigenvalue_bars({"a": np.array([1.0, np.nan])})


def test_save_writes_and_closes(tmp_path):
    fig = jp.landscape_line([0.0, 1.0], {"a": [0.0, 1.0]})
    path = jp.save(fig, tmp_path / "f.png")
    assert path == str(tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)


def test_every_public_plot_function_has_a_test():
    """A new figure function must come with a test here (names listed in jaxstat.plot.__all__)."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    untested = [name for name in jp.__all__ if name not in ("pyplot",) and f"jp.{name}(" not in source]
    assert not untested, untested
