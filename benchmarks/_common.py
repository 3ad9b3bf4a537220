"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import os
import platform

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
