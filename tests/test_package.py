"""Package-level promises: import is light (no matplotlib), the CLI works, public names exist."""

import re
import subprocess
import sys

import pytest

import jaxstat


def test_import_does_not_import_matplotlib():
    """`import jaxstat` (and its subpackages) stays light: no matplotlib at import.

    How fast the import is belongs to the benchmarks (benchmarks/import_time.py),
    not to a timed assertion that fails on a slower machine.
    """
    code = (
        "import sys; import jaxstat as js; "
        "js.ising; js.mcmc; js.exact; js.stats; js.hopfield; js.perceptron; js.datasets; js.boltzmann; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_public_api_names():
    import jaxstat as js

    for name in ["lattice", "dense", "sherrington_kirkpatrick", "edwards_anderson", "energy", "local_field",
                 "magnetization", "from_neurons", "to_neurons"]:
        assert callable(getattr(js.ising, name))
    for name in ["metropolis", "glauber", "checkerboard", "run", "Sampler"]:
        assert hasattr(js.mcmc, name)
    for name in ["enumerate", "onsager_tc", "onsager_energy", "onsager_magnetization", "onsager_specific_heat"]:
        assert callable(getattr(js.exact, name))
    for name in ["susceptibility", "specific_heat", "binder_cumulant", "integrated_autocorrelation_time",
                 "binning_error", "blocking_error", "effective_sample_size"]:
        assert callable(getattr(js.stats, name))
    for name in ["hebbian", "pseudo_inverse", "storkey", "retrieve", "overlap", "corrupt", "capacity",
                 "retrieval_diagram", "classify", "mixture", "ags_overlap", "dense_capacity", "softmax_update"]:
        assert callable(getattr(js.hopfield, name))
    for name in ["train", "predict", "linearly_separable", "cover_probability", "separability_sweep",
                 "teacher_student", "train_multiclass", "predict_multiclass"]:
        assert callable(getattr(js.perceptron, name))
    for name in ["fruit", "digits", "mnist"]:
        assert callable(getattr(js.datasets, name))
    for name in ["rbm", "energy", "free_energy", "exact_log_z", "ais_log_z", "fit", "log_likelihood",
                 "pseudo_log_likelihood", "bm", "to_ising", "learn"]:
        assert callable(getattr(js.boltzmann, name))
    assert jaxstat.__version__


def test_cli_help_and_bad_section(tmp_path):
    from jaxstat.cli import main

    assert main(["info"]) == 0
    try:
        main(["tour", "--out", str(tmp_path), "--sections", "nonexistent"])
    except SystemExit as err:
        assert err.code == 2
    else:  # pragma: no cover
        raise AssertionError("an unknown section must be rejected")


QUICK_TOUR_FIGURES = {
    "ising": ["ising_thermodynamics", "ising_snapshots"],
    "dynamics": ["critical_slowing_down"],
    "spinglass": ["spin_glass"],
    "hopfield": ["hopfield_recall", "hopfield_capacity", "hopfield_diagram", "hopfield_dense"],
    "perceptron": ["perceptron_fruit", "perceptron_capacity", "perceptron_generalization", "perceptron_digits"],
    "boltzmann": ["rbm_filters", "rbm_samples", "rbm_likelihood"],
    "landscape": ["landscape_planes", "landscape_surfaces", "landscape_curvatures", "landscape_spectrum"],
}
QUICK_TOUR_HEADINGS = {
    "ising": "## Ising model", "dynamics": "## Critical slowing down", "spinglass": "## The SK spin glass",
    "hopfield": "## Hopfield networks", "perceptron": "## Perceptron", "boltzmann": "## Restricted Boltzmann machines",
    "landscape": "## Loss landscapes",
}


@pytest.mark.parametrize("section", sorted(QUICK_TOUR_FIGURES))
def test_quick_tour_section(tmp_path, section):
    """The tour must keep running: the quick version of every section writes its figures and summary
    (one test per section, so parallel test workers share the load)."""
    from jaxstat.tour import SECTIONS, run_tour

    assert set(QUICK_TOUR_FIGURES) == set(SECTIONS)
    out = run_tour(tmp_path, sections=[section], quick=True)
    assert QUICK_TOUR_HEADINGS[section] in (out / "summary.md").read_text()
    for name in QUICK_TOUR_FIGURES[section]:
        assert (out / f"{name}.png").stat().st_size > 1000, name
    # index.html shows exactly the figures written, each with a caption, and the section's results
    page = (out / "index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img src="([^"]+)" alt="([^"]*)"', page)
    assert sorted(src for src, _ in shown) == sorted(f"{name}.png" for name in QUICK_TOUR_FIGURES[section])
    assert all(len(alt) > 40 for _, alt in shown), shown
    assert "see below" not in page  # every section states its results
