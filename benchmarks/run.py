"""Run every benchmark, print one table of jaxstat against its peers, and record it.

Run:  pip install -e ".[bench]" && python benchmarks/run.py [--quick] [--only ising,landscape] [--update-readme]

Each benchmark script (``benchmarks/<name>.py``) runs in its own subprocess,
one after another (never two at once: they time the whole machine), with its
output streamed as it goes. The scripts report their headline figures through
``_common.record``: one JSON line each in the file named by
``$JAXSTAT_BENCH_RECORD``, which this runner sets. At the end it prints one
table, jaxstat's warm figure beside its first call (compilation included)
and the peer tool's figure, with the ratio: how many times faster jaxstat is.

* Full mode (the default) runs each script with its own defaults and appends
  a dated entry to ``benchmarks/RESULTS.md``: machine, versions, the exact
  command, wall time per benchmark, and the table.
* ``--quick`` passes ``--quick`` to every script (``QUICK_ARGS``): a smoke run
  whose figures are not comparable. It writes no RESULTS.md entry unless
  ``--results`` names a file, and it never updates the README. It takes about
  13 minutes on a loaded 2-core machine, 10 of them in landscape (PyHessian
  and loss_landscapes are slow at any size).
* ``--update-readme`` regenerates the README's speed tables: each block between
  ``<!-- speed-table:NAME:start -->`` and ``<!-- speed-table:NAME:end -->``
  holds the ``readme=True`` rows of the benchmarks NAME (a comma-separated
  list; no NAME means every benchmark). A block is rewritten only when all its
  benchmarks ran in this run, in full mode, without error; the others keep
  their figures. The tables are generated from a run, never typed.
* ``--json PATH`` saves the run (figures and metadata); ``--from PATH``
  re-renders a saved run (table, README) without running anything.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
README = ROOT / "README.md"
RESULTS = HERE / "RESULTS.md"
RECORD_ENV = "JAXSTAT_BENCH_RECORD"  # the same name as _common.RECORD_ENV (not imported: that loads jax)

# The order they run in: cheap first, so a broken environment shows early.
BENCHMARKS = ("import_time", "random_bits", "ising", "dense", "cluster", "hopfield", "boltzmann", "compile_time",
              "landscape", "sharding")
# What --quick passes to each script: its own --quick, and for cluster also its smaller lattice
# and fewer repeats (its --quick alone still runs chains of 50 tau_int at L = 128: 12 minutes).
QUICK_ARGS = {name: ["--quick"] for name in BENCHMARKS}
QUICK_ARGS["cluster"] = ["--quick", "--sizes", "64", "--repeats", "2"]
VERSIONED = ("jaxstat", "jax", "jaxlib", "numpy", "scipy", "optax", "flax", "numba", "scikit-learn", "torch",
             "pyhessian", "loss-landscapes")


# --------------------------------------------------------------------------- #
# formatting
# --------------------------------------------------------------------------- #
def ratio(row: dict) -> float | None:
    """How many times faster jaxstat is than the peer (> 1: jaxstat is faster); None without a peer."""
    if row.get("peer_value") is None:
        return None
    if row["better"] == "lower":
        return row["peer_value"] / row["jaxstat"]
    return row["jaxstat"] / row["peer_value"]


def format_seconds(seconds: float) -> str:
    """3 significant digits in µs, ms or s."""
    rounded = abs(float(f"{seconds:.2e}"))
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if rounded >= scale or unit == "µs":
            return f"{_significant(seconds / scale)} {unit}"
    raise AssertionError("unreachable")


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return format_seconds(value)
    return f"{_significant(value)} {unit}"


def _significant(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, without exponent, thousands separated."""
    if x == 0:
        return "0"
    rounded = float(f"{x:.{digits - 1}e}")  # rounded first, so that 9.996 counts as 10.0
    decimals = digits - 1 - math.floor(math.log10(abs(rounded)))
    return f"{rounded:,.{max(0, decimals)}f}"


def format_ratio(row: dict) -> str:
    r = ratio(row)
    if r is None:
        return "—"
    text = f"{r:.2f}x" if r < 10 else f"{r:.1f}x"
    if row.get("target") is not None:
        text += f" (target {row['target']:g}x: {'met' if r >= row['target'] else 'not met'})"
    return text


def render_table(rows: list[dict], *, readme: bool = False) -> str:
    """A markdown table of ``rows`` (records from ``_common.record``).

    The full table (console, RESULTS.md) has every row, with the benchmark and
    notes; the README's (``readme=True``) only the rows marked for it, fewer columns.
    """
    if readme:
        lines = ["| workload | jaxstat | jaxstat first call | peer | ratio |", "|---|---|---|---|---|"]
        for r in rows:
            if r.get("readme"):
                lines.append(f"| {_cell(r['workload'])} | {format_value(r['jaxstat'], r['unit'])} "
                             f"| {format_value(r.get('first_call_s'), 's')} | {_peer_cell(r)} | {format_ratio(r)} |")
        return "\n".join(lines) + "\n"
    lines = ["| benchmark | workload | jaxstat | jaxstat first call | peer | ratio | notes |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['benchmark']} | {_cell(r['workload'])} | {format_value(r['jaxstat'], r['unit'])} "
                     f"| {format_value(r.get('first_call_s'), 's')} | {_peer_cell(r)} | {format_ratio(r)} "
                     f"| {_cell(r.get('note') or '')} |")
    return "\n".join(lines) + "\n"


def _peer_cell(row: dict) -> str:
    if row.get("peer") is None:
        return "—"
    return f"{_cell(row['peer'])}: {format_value(row.get('peer_value'), row['unit'])}"


def _cell(text: str) -> str:
    """Text for a markdown table cell: a bare | (as in |m|) would end the cell."""
    return re.sub(r"(?<!\\)\|", r"\|", text)


# --------------------------------------------------------------------------- #
# README splicing
# --------------------------------------------------------------------------- #
_START = re.compile(r"<!-- speed-table(?::([\w,]+))?:start -->\n")


def readme_blocks(text: str) -> list[tuple[tuple[str, ...] | None, int, int]]:
    """``(benchmarks or None for all, start, end)`` of each block's contents in ``text``.

    Raises ValueError for a start marker without its end marker or for an unknown benchmark name.
    """
    blocks = []
    for m in _START.finditer(text):
        name = m.group(1)
        end_marker = f"<!-- speed-table{':' + name if name else ''}:end -->"
        end = text.find(end_marker, m.end())
        if end < 0:
            raise ValueError(f"README marker {m.group(0).strip()!r} has no {end_marker!r} after it")
        names = tuple(name.split(",")) if name else None
        unknown = sorted(set(names or ()) - set(BENCHMARKS))
        if unknown:
            raise ValueError(f"README marker {m.group(0).strip()!r} names unknown benchmarks {unknown}; "
                             f"expected some of {list(BENCHMARKS)}")
        blocks.append((names, m.end(), end))
    return blocks


def splice_readme(text: str, rows: list[dict], ran: set[str]) -> tuple[str, list[str], list[str]]:
    """``text`` with every speed-table block whose benchmarks all ``ran`` regenerated from ``rows``.

    Returns the new text and the names of the blocks rewritten and of those kept (not all their
    benchmarks ran, or they recorded no README rows).
    """
    blocks = readme_blocks(text)
    if not blocks:
        raise ValueError("README has no <!-- speed-table:NAME:start --> ... <!-- speed-table:NAME:end --> block")
    out, pos, updated, kept = [], 0, [], []
    for names, start, end in blocks:
        label = ",".join(names) if names else "all"
        wanted = set(names) if names else set(BENCHMARKS)
        chosen = [r for r in rows if r["benchmark"] in wanted and r.get("readme")]
        out.append(text[pos:start])
        if wanted <= ran and chosen:
            out.append(render_table(chosen, readme=True))
            updated.append(label)
        else:
            out.append(text[start:end])
            kept.append(label)
        pos = end
    out.append(text[pos:])
    return "".join(out), updated, kept


# --------------------------------------------------------------------------- #
# RESULTS.md
# --------------------------------------------------------------------------- #
def results_entry(run: dict) -> str:
    """The dated RESULTS.md section for a run (the dict ``--json`` saves)."""
    names = ", ".join(f"`{n}`" for n in run["benchmarks"])
    mode = "quick mode: a smoke run, figures not comparable" if run["quick"] else "full mode"
    lines = [f"## {run['date']}: `benchmarks/run.py` ({names}; {mode})", "",
             f"**Machine:** {run['machine']}.", "",
             "**Versions:** " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()) + ".", "",
             f"**Command:** `{run['command']}`", "",
             "**Wall time per benchmark:** " + ", ".join(
                 f"{n} {b['wall_s']:.0f} s" + ("" if b["returncode"] == 0 else f" (failed, exit {b['returncode']})")
                 for n, b in run["benchmarks"].items()) + ".", "",
             "Warm figures are each script's medians; the first call includes compilation. The ratio is how "
             "many times faster jaxstat is than the peer.", "",
             render_table(run["rows"])]
    return "\n".join(lines)


def append_results(path: pathlib.Path, entry: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    path.write_text(text.rstrip("\n") + "\n\n" + entry.rstrip("\n") + "\n")


# --------------------------------------------------------------------------- #
# running
# --------------------------------------------------------------------------- #
def versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        out["jaxstat"] = f"{out.get('jaxstat', '?')} (git {commit})"
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def machine() -> str:
    sys.path.insert(0, str(HERE))
    from _common import machine as describe  # loads jax: done once, before or after the benchmarks

    return describe()


def run_one(name: str, quick: bool, record_path: str, stream) -> tuple[int, float]:
    """Run ``benchmarks/<name>.py`` to the end; (exit code, wall seconds). Output goes to ``stream``."""
    cmd = [sys.executable, str(HERE / f"{name}.py")] + (QUICK_ARGS[name] if quick else [])
    env = {**os.environ, RECORD_ENV: record_path, "PYTHONUNBUFFERED": "1"}
    print(f"\n=== {name}: python {shlex.join([os.path.relpath(cmd[1], ROOT), *cmd[2:]])}", file=stream, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        stream.write(line)
        stream.flush()
    returncode = proc.wait()
    return returncode, time.perf_counter() - t0


def read_records(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script (a smoke run)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--update-readme", action="store_true",
                        help="regenerate the README's speed-table blocks from this run (full mode only)")
    parser.add_argument("--results", type=pathlib.Path, default=None,
                        help="where to append the dated entry (default: benchmarks/RESULTS.md in full mode, "
                             "nothing in quick mode)")
    parser.add_argument("--no-results", action="store_true", help="write no RESULTS.md entry")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="save the run's figures and metadata here")
    parser.add_argument("--from", dest="from_json", type=pathlib.Path, default=None,
                        help="render a run saved with --json instead of running the benchmarks")
    parser.add_argument("--readme", type=pathlib.Path, default=README, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="do not stream the scripts' own output")
    args = parser.parse_args(argv)

    if args.from_json is not None:
        run = json.loads(args.from_json.read_text())
    else:
        names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
        unknown = sorted(set(names) - set(BENCHMARKS))
        if unknown:
            parser.error(f"--only: unknown benchmarks {unknown}; expected some of {','.join(BENCHMARKS)}")
        if args.update_readme and args.quick:
            parser.error("--update-readme needs full-mode figures; drop --quick")
        names = [n for n in BENCHMARKS if n in names]  # always the canonical order
        command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
        run = dict(date=datetime.date.today().isoformat(), command=command, quick=args.quick, machine=machine(),
                   versions=versions(), benchmarks={}, rows=[])
        stream = open(os.devnull, "w") if args.quiet else sys.stdout
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                path = os.path.join(tmp, f"{name}.jsonl")
                open(path, "w").close()
                returncode, wall = run_one(name, args.quick, path, stream)
                rows = read_records(path)
                run["benchmarks"][name] = dict(returncode=returncode, wall_s=wall, n_rows=len(rows))
                run["rows"] += rows
                print(f"--- {name}: {wall:.0f} s, {len(rows)} figure(s)"
                      + ("" if returncode == 0 else f", FAILED (exit {returncode})"), flush=True)
        if args.json is not None:
            args.json.write_text(json.dumps(run, indent=1) + "\n")

    print(f"\n{run['machine']}\n{run['command']}" + ("  (quick: smoke figures)" if run["quick"] else "") + "\n")
    print(render_table(run["rows"]))
    failed = [n for n, b in run["benchmarks"].items() if b["returncode"] != 0]
    silent = [n for n, b in run["benchmarks"].items() if b["returncode"] == 0 and b["n_rows"] == 0]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    if silent:
        print(f"recorded no figures: {', '.join(silent)}")

    if args.from_json is None and not args.no_results and (args.results is not None or not run["quick"]):
        target = args.results or RESULTS
        append_results(target, results_entry(run))
        print(f"appended the entry to {target}")

    if args.update_readme:
        if run["quick"]:
            print("not updating the README from quick-mode figures", file=sys.stderr)
            return 1
        ran = {n for n, b in run["benchmarks"].items() if b["returncode"] == 0}
        text, updated, kept = splice_readme(args.readme.read_text(), run["rows"], ran)
        args.readme.write_text(text)
        print(f"README speed tables regenerated: {', '.join(updated) or 'none'}; kept: {', '.join(kept) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
