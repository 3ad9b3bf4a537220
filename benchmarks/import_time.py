"""How long `import jaxstat` (and its subpackages) takes in a fresh interpreter.

Speed is measured here, not asserted in the test suite: a timed test fails on
a slower machine without anything being wrong. Run as
``python benchmarks/import_time.py [--repeats 7] [--quick]``; it prints the
median and range of several fresh-interpreter imports, beside ``import jax``
alone (the floor jaxstat cannot go below), and the first import, which also
pays for cold disk caches.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from _common import machine, record

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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 imports of each (a smoke run)")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    print(machine())
    first = fresh_import_times(JAXSTAT, 1)[0]  # the first start pays disk caches
    print(f"{'import jaxstat':16s} first {first:.2f} s (cold disk caches)")
    medians = {}
    for name, code in (("import jax", JAX_ONLY), ("import jaxstat", JAXSTAT)):
        t = fresh_import_times(code, repeats)
        medians[name] = statistics.median(t)
        print(f"{name:16s} median {statistics.median(t):.2f} s  (min {min(t):.2f}, max {max(t):.2f}, {repeats} runs)")
    record("import jaxstat and its subpackages, fresh interpreter", medians["import jaxstat"], "s",
           peer="import jax alone (the floor)", peer_value=medians["import jax"], first_call_s=first)


if __name__ == "__main__":
    main()
