"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time

import jax


def machine(*extra: str) -> str:
    """CPU model, core count, JAX version and device, plus any ``extra`` library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    dev = jax.devices()[0]
    parts = [f"{cpu}, {os.cpu_count()} cores", f"JAX {jax.__version__} on {dev.platform} ({dev.device_kind})",
             f"Python {platform.python_version()}", *extra]
    return "; ".join(parts)


def median_time(fn, repeats: int):
    """``(median, min, max)`` wall time of ``repeats`` calls of ``fn``, each waited on
    (``jax.block_until_ready`` on what it returns; plain values pass through)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def first_call(fn):
    """``(seconds, result)`` of one call of ``fn``, waited on: what a user's first call costs
    (tracing and compilation included when ``fn`` has not run before)."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def warm_median(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` timed calls after one untimed warm-up call (compilation
    excluded)."""
    fn()
    return median_time(fn, repeats)[0]


def first_and_median(fn, repeats: int):
    """``(first call seconds, warm median seconds)``: :func:`warm_median` with its warm-up timed."""
    first = first_call(fn)[0]
    return first, median_time(fn, repeats)[0]


# benchmarks/run.py sets this to a file; each headline figure becomes one JSON line in it.
RECORD_ENV = "JAXSTAT_BENCH_RECORD"


def record(workload: str, jaxstat: float, unit: str, *, peer: str | None = None, peer_value: float | None = None,
           first_call_s: float | None = None, better: str | None = None, target: float | None = None,
           readme: bool = False, note: str | None = None) -> None:
    """Report one headline figure to ``benchmarks/run.py`` (a no-op when the script runs on its own).

    ``jaxstat`` is the warm figure in ``unit``; ``peer`` names the tool it is measured
    against and ``peer_value`` is its figure in the same unit. ``better`` is ``"lower"``
    or ``"higher"`` (default: lower for unit ``"s"``, higher otherwise), so the runner's
    ratio is always how many times faster jaxstat is. ``first_call_s`` is jaxstat's first
    call (compilation included) in seconds, ``target`` the ratio the issue asks for,
    ``readme`` marks the rows of the README's speed tables.
    """
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    better = better or ("lower" if unit == "s" else "higher")
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    as_float = lambda v: None if v is None else float(v)
    row = dict(benchmark=os.path.splitext(os.path.basename(sys.argv[0]))[0], workload=workload,
               jaxstat=float(jaxstat), unit=unit, peer=peer, peer_value=as_float(peer_value),
               first_call_s=as_float(first_call_s), better=better, target=as_float(target), readme=bool(readme),
               note=note)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
