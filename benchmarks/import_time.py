"""How long `import jaxstat` (and its subpackages) takes in a fresh interpreter.

Speed is measured here, not asserted in the test suite: a timed test fails on
a slower machine without anything being wrong. Run as
``python benchmarks/import_time.py``; it prints the median and range of
several fresh-interpreter imports, beside ``import jax`` alone (the floor
jaxstat cannot go below).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from _common import machine

JAXSTAT = (
    "import time; t = time.perf_counter(); import jaxstat as js; "
    "js.ising; js.mcmc; js.exact; js.stats; js.hopfield; js.perceptron; js.datasets; js.boltzmann; "
    "print(time.perf_counter() - t)"
)
JAX_ONLY = "import time; t = time.perf_counter(); import jax, jax.numpy; print(time.perf_counter() - t)"


def fresh_import_times(code: str, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        out.append(float(run.stdout.strip().splitlines()[-1]))
    return out


def main(repeats: int = 7):
    print(machine())
    fresh_import_times(JAXSTAT, 1)  # the first start pays disk caches
    for name, code in (("import jax", JAX_ONLY), ("import jaxstat", JAXSTAT)):
        t = fresh_import_times(code, repeats)
        print(f"{name:16s} median {statistics.median(t):.2f} s  (min {min(t):.2f}, max {max(t):.2f}, {repeats} runs)")


if __name__ == "__main__":
    main()
