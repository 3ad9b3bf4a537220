"""benchmarks/run.py: its table, its RESULTS.md entry and its README splicing, from canned figures.

No benchmark runs here and nothing is timed: speed stays out of the test suite.
"""

import importlib.util
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load("run")


def _row(benchmark, workload, jaxstat, unit, peer=None, peer_value=None, first=None, better=None, target=None,
         readme=False, note=None):
    better = better or ("lower" if unit == "s" else "higher")
    return dict(benchmark=benchmark, workload=workload, jaxstat=jaxstat, unit=unit, peer=peer, peer_value=peer_value,
                first_call_s=first, better=better, target=target, readme=readme, note=note)


ROWS = [
    _row("ising", "checkerboard, L = 1024", 0.332, "flips/ns", "numba loop", 0.065, first=0.812, readme=True),
    _row("ising", "checkerboard, L = 1024", 0.332, "flips/ns", "numba prange", 0.1, first=0.812),
    _row("ising", "Glauber, SK", 0.05, "flips/ns", "numba loop", 0.046, first=1.5, target=3, readme=True),
    _row("hopfield", "capacity sweep", 1.48, "s", "NumPy loop", 17.93, first=3.2, readme=True),
    _row("landscape", "top-5 eigenvalues", 0.061, "s", "PyHessian", 0.371, first=1.7, target=3, readme=True,
         note="1e-4 accurate"),
    _row("import_time", "import jaxstat", 0.93, "s", "import jax alone", 0.61, first=2.5),
    _row("random_bits", "uniforms", 2.1, "ns/word", "jax.random threefry2x32", 11.1, better="lower"),
    _row("sharding", "chains", 0.2, "flips/ns"),
    _row("cluster", "Wolff: time per sample of |m|", 5.8e-4, "s", "numba Wolff", 5.09e-4, note="tau(|m|) = 4.2"),
]

FULL_TABLE = """\
| benchmark | workload | jaxstat | jaxstat first call | peer | ratio | notes |
|---|---|---|---|---|---|---|
| ising | checkerboard, L = 1024 | 0.332 flips/ns | 812 ms | numba loop: 0.0650 flips/ns | 5.11x |  |
| ising | checkerboard, L = 1024 | 0.332 flips/ns | 812 ms | numba prange: 0.100 flips/ns | 3.32x |  |
| ising | Glauber, SK | 0.0500 flips/ns | 1.50 s | numba loop: 0.0460 flips/ns | 1.09x (target 3x: not met) |  |
| hopfield | capacity sweep | 1.48 s | 3.20 s | NumPy loop: 17.9 s | 12.1x |  |
| landscape | top-5 eigenvalues | 61.0 ms | 1.70 s | PyHessian: 371 ms | 6.08x (target 3x: met) | 1e-4 accurate |
| import_time | import jaxstat | 930 ms | 2.50 s | import jax alone: 610 ms | 0.66x |  |
| random_bits | uniforms | 2.10 ns/word | — | jax.random threefry2x32: 11.1 ns/word | 5.29x |  |
| sharding | chains | 0.200 flips/ns | — | — | — |  |
| cluster | Wolff: time per sample of \\|m\\| | 580 µs | — | numba Wolff: 509 µs | 0.88x | tau(\\|m\\|) = 4.2 |
"""

ISING_README = """\
| workload | jaxstat | jaxstat first call | peer | ratio |
|---|---|---|---|---|
| checkerboard, L = 1024 | 0.332 flips/ns | 812 ms | numba loop: 0.0650 flips/ns | 5.11x |
| Glauber, SK | 0.0500 flips/ns | 1.50 s | numba loop: 0.0460 flips/ns | 1.09x (target 3x: not met) |
"""

README_TEXT = """\
## Speed

Prose before.

<!-- speed-table:ising:start -->
| old | ising | table |
<!-- speed-table:ising:end -->

Prose between, kept.

<!-- speed-table:hopfield,landscape:start -->
old hopfield and landscape figures
<!-- speed-table:hopfield,landscape:end -->

Prose after.
"""


def test_ratio_is_how_many_times_faster_jaxstat_is():
    # throughput: jaxstat / peer; times: peer / jaxstat; no peer: None
    assert run.ratio(ROWS[0]) == pytest.approx(0.332 / 0.065)
    assert run.ratio(ROWS[3]) == pytest.approx(17.93 / 1.48)
    assert run.ratio(ROWS[6]) == pytest.approx(11.1 / 2.1)
    assert run.ratio(ROWS[7]) is None


def test_format_value_units_and_rounding():
    assert run.format_value(0.0009996, "s") == "1.00 ms"  # rounded before the unit is chosen
    assert run.format_value(9.996, "s") == "10.0 s"
    assert run.format_value(4.2e-5, "s") == "42.0 µs"
    assert run.format_value(1_182_499.0, "samples/s") == "1,180,000 samples/s"
    assert run.format_value(0.06496, "flips/ns") == "0.0650 flips/ns"
    assert run.format_value(None, "s") == "—"


def test_full_table():
    assert run.render_table(ROWS) == FULL_TABLE


def test_readme_table_has_only_the_marked_rows():
    assert run.render_table(ROWS[:3], readme=True) == ISING_README


def test_splice_rewrites_only_blocks_whose_benchmarks_all_ran():
    text, updated, kept = run.splice_readme(README_TEXT, ROWS, ran={"ising", "hopfield"})
    assert updated == ["ising"] and kept == ["hopfield,landscape"]
    assert text == README_TEXT.replace("| old | ising | table |\n", ISING_README)
    text, updated, kept = run.splice_readme(README_TEXT, ROWS, ran={"ising", "hopfield", "landscape"})
    assert updated == ["ising", "hopfield,landscape"] and kept == []
    block = text.split("<!-- speed-table:hopfield,landscape:start -->\n")[1].split("<!-- speed-table")[0]
    assert block.splitlines()[2:] == [
        "| capacity sweep | 1.48 s | 3.20 s | NumPy loop: 17.9 s | 12.1x |",
        "| top-5 eigenvalues | 61.0 ms | 1.70 s | PyHessian: 371 ms | 6.08x (target 3x: met) |",
    ]
    assert "Prose before.\n" in text and "Prose between, kept.\n" in text and text.endswith("Prose after.\n")
    # splicing is idempotent: the same figures give the same text
    assert run.splice_readme(text, ROWS, ran={"ising", "hopfield", "landscape"})[0] == text


def test_unnamed_block_needs_every_benchmark():
    text = "a\n<!-- speed-table:start -->\nold\n<!-- speed-table:end -->\nb\n"
    assert run.splice_readme(text, ROWS, ran={"ising"})[0] == text
    new, updated, _ = run.splice_readme(text, ROWS, ran=set(run.BENCHMARKS))
    assert updated == ["all"]
    table = run.render_table(ROWS, readme=True)
    assert new == "a\n<!-- speed-table:start -->\n" + table + "<!-- speed-table:end -->\nb\n"


@pytest.mark.parametrize("text, message", [
    ("<!-- speed-table:ising:start -->\nx\n", "has no '<!-- speed-table:ising:end -->'"),
    ("<!-- speed-table:isin:start -->\nx\n<!-- speed-table:isin:end -->\n", "unknown benchmarks ['isin']"),
    ("no markers at all\n", "README has no"),
])
def test_bad_markers_are_refused(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run.splice_readme(text, ROWS, ran={"ising"})


def test_the_real_readme_has_valid_blocks():
    names = [names for names, _, _ in run.readme_blocks((ROOT / "README.md").read_text())]
    assert names == [("ising", "dense"), ("cluster",), ("hopfield",), ("boltzmann",), ("landscape",)]


def _saved_run(quick=False):
    return dict(date="2026-12-03", command="python benchmarks/run.py --only ising,hopfield", quick=quick,
                machine="Test CPU, 2 cores; JAX 0.0 on cpu (cpu)", versions={"jaxstat": "0.1.0", "jax": "0.0"},
                benchmarks={"ising": dict(returncode=0, wall_s=61.4, n_rows=3),
                            "hopfield": dict(returncode=1, wall_s=12.0, n_rows=1)},
                rows=ROWS[:4])


def test_results_entry(tmp_path):
    entry = run.results_entry(_saved_run())
    assert entry.startswith("## 2026-12-03: `benchmarks/run.py` (`ising`, `hopfield`; full mode)\n")
    for part in ("**Machine:** Test CPU, 2 cores; JAX 0.0 on cpu (cpu).", "**Versions:** jaxstat 0.1.0, jax 0.0.",
                 "**Command:** `python benchmarks/run.py --only ising,hopfield`",
                 "**Wall time per benchmark:** ising 61 s, hopfield 12 s (failed, exit 1).",
                 run.render_table(ROWS[:4])):
        assert part in entry
    assert "quick mode" in run.results_entry(_saved_run(quick=True)).splitlines()[0]
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\n## older entry\n")
    run.append_results(path, entry)
    assert path.read_text() == "# Benchmark results\n\n## older entry\n\n" + entry.rstrip("\n") + "\n"


def test_main_from_saved_run_updates_readme(tmp_path, capsys):
    saved, readme = tmp_path / "run.json", tmp_path / "README.md"
    saved.write_text(json.dumps(_saved_run()))
    readme.write_text(README_TEXT)
    assert run.main(["--from", str(saved), "--update-readme", "--readme", str(readme)]) == 1  # hopfield failed
    out = capsys.readouterr().out
    assert FULL_TABLE.splitlines()[3] in out and "FAILED: hopfield" in out
    # ising ran and is regenerated; hopfield failed, so its block keeps the old figures
    assert readme.read_text() == README_TEXT.replace("| old | ising | table |\n", ISING_README)
    assert not (tmp_path / "RESULTS.md").exists()


def test_quick_figures_never_reach_the_readme(tmp_path):
    saved, readme = tmp_path / "run.json", tmp_path / "README.md"
    saved.write_text(json.dumps(_saved_run(quick=True)))
    readme.write_text(README_TEXT)
    assert run.main(["--from", str(saved), "--update-readme", "--readme", str(readme)]) == 1
    assert readme.read_text() == README_TEXT
    with pytest.raises(SystemExit):
        run.main(["--quick", "--update-readme", "--only", "ising"])


def test_record_writes_one_json_line(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    common = _load("_common")
    path = tmp_path / "figures.jsonl"
    common.record("not recorded: no file named", 1.0, "s")
    monkeypatch.setenv(common.RECORD_ENV, str(path))
    monkeypatch.setattr(sys, "argv", [str(BENCH / "ising.py"), "--quick"])
    common.record("w", 2, "s", peer="p", peer_value=3, first_call_s=0.5)
    common.record("v", 4, "flips/ns", target=3, readme=True)
    assert run.RECORD_ENV == common.RECORD_ENV
    assert run.read_records(str(path)) == [
        _row("ising", "w", 2.0, "s", "p", 3.0, first=0.5),
        _row("ising", "v", 4.0, "flips/ns", target=3.0, readme=True),
    ]
    with pytest.raises(ValueError, match="better must be 'lower' or 'higher', got 'faster'"):
        common.record("w", 1, "s", better="faster")


def test_every_benchmark_has_a_quick_mode_and_records_figures():
    for name in run.BENCHMARKS:
        source = (BENCH / f"{name}.py").read_text()
        assert '"--quick"' in source, name
        assert "record(" in source, name
