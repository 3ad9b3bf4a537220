"""Compile time is user time: RBM training as a user writes it, first call beside warm calls.

Run:  pip install -e ".[bench]" && python benchmarks/compile_time.py [--repeats 3] [--quick]

1. **A loop over seeds with a freshly built optimizer** (the natural way to
   write it): ``fit(..., optimizer=optax.sgd(0.1))`` for 5 seeds of a 64x64
   RBM, PCD-1, batch 20, 50 epochs on the binarized digits, in a fresh
   process. Reported: the first call (compilation + training), the median of
   the other four, and how many programs the epoch's compile cache holds at
   the end (1: the re-created optimizers hit the cache).
2. **A second process with JAX's persistent compilation cache**: the same
   one-epoch ``fit`` in two fresh processes sharing a cache folder; the
   second one's first call is what a user sees when re-running a script.
3. **scikit-learn's BernoulliRBM**, the whole fit with the same settings.

Every measurement is a fresh Python process, the median of ``--repeats``
(``--quick``: one of each, a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from _common import machine, record

CHILD = r"""
import json, sys, time
t_start = time.perf_counter()
import jax, jax.numpy as jnp, optax
cache = sys.argv[2]
if cache:
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
import jaxstat as js
from jaxstat.boltzmann import train
x = (js.datasets.digits().images > 0.5).astype(jnp.float32)
n_epochs, n_seeds = int(sys.argv[1]), int(sys.argv[3])
times = []
t_import = time.perf_counter() - t_start
for seed in range(n_seeds):
    params = js.boltzmann.rbm(jax.random.key(seed), 64, 64)
    t0 = time.perf_counter()
    r = js.boltzmann.fit(jax.random.key(seed), params, x, n_epochs=n_epochs, batch_size=20, n_chains=20,
                         optimizer=optax.sgd(0.1))
    jax.block_until_ready(r.params)
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "programs": train._epoch._cache_size(), "import": t_import}))
"""


def child(n_epochs: int, cache: str, n_seeds: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n_epochs), cache, str(n_seeds)],
                         capture_output=True, text=True, check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def sklearn_fit_time(n_epochs: int) -> float:
    import time

    import numpy as np
    from sklearn.neural_network import BernoulliRBM

    import jaxstat as js

    x = (np.asarray(js.datasets.digits().images) > 0.5).astype(np.float32)
    t0 = time.perf_counter()
    BernoulliRBM(n_components=64, learning_rate=0.1, batch_size=20, n_iter=n_epochs, random_state=0).fit(x)
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="one process of each kind (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 1
    med = statistics.median

    loops = [child(args.epochs, "", 5) for _ in range(args.repeats)]
    first = med(r["times"][0] for r in loops)
    warm = med(med(r["times"][1:]) for r in loops)
    programs = max(r["programs"] for r in loops)

    cold, cached = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            cold.append(child(1, folder, 1)["times"][0])
            cached.append(child(1, folder, 1)["times"][0])
    sk = med(sklearn_fit_time(args.epochs) for _ in range(args.repeats))

    print(machine())
    print(f"RBM 64x64, PCD-1, batch 20, {args.epochs} epochs, a fresh optax.sgd(0.1) per seed (medians of "
          f"{args.repeats} processes):")
    print(f"  jaxstat first call (compile + train):   {first:6.2f} s")
    print(f"  jaxstat later seeds (train only):       {warm:6.2f} s   compiled epoch programs after 5 seeds: {programs}")
    print(f"  scikit-learn BernoulliRBM, whole fit:   {sk:6.2f} s   ratio sklearn / jaxstat warm: {sk / warm:.1f}x, "
          f"/ jaxstat first call: {sk / first:.1f}x")
    print("One-epoch fit, first call in a fresh process:")
    print(f"  no persistent cache:                    {med(cold):6.2f} s")
    print(f"  second process, persistent cache:       {med(cached):6.2f} s")
    record(f"RBM fit, 64 × 64, {args.epochs} epochs, a fresh optax.sgd(0.1) per seed", warm, "s",
           peer="scikit-learn BernoulliRBM", peer_value=sk, first_call_s=first,
           note=f"{programs} compiled epoch program(s) after 5 seeds")
    record("one-epoch RBM fit, first call in a second process", med(cached), "s",
           peer="jaxstat without the persistent cache", peer_value=med(cold))


if __name__ == "__main__":
    main()
