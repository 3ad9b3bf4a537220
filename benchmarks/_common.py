"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import os
import platform
import statistics
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
