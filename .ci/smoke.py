"""Smoke check of an installed jaxstat (run by .ci/package-check outside the source tree).

Import, the version it reports, the package data (the digits), one short
sampler run against the exact answer, and with ``--tour DIR`` the quick tour
through the installed ``jaxstat`` command.
"""

import argparse
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp

import jaxstat as js

parser = argparse.ArgumentParser()
parser.add_argument("--tour", default=None, help="run `jaxstat tour --quick --out TOUR` too")
args = parser.parse_args()

where = pathlib.Path(js.__file__).resolve()
assert "site-packages" in where.parts, f"jaxstat imported from {where}, not from the installed package"
from importlib.metadata import version

assert js.__version__ == version("jaxstat"), (js.__version__, version("jaxstat"))
x, y = js.datasets.digits()
assert x.shape == (1797, 64), x.shape

model = js.ising.lattice((4, 4))
sampler = js.mcmc.checkerboard(model)
keys = jax.random.split(jax.random.key(0), 256)
run = jax.jit(jax.vmap(lambda k: js.mcmc.run(k, sampler, jnp.ones((4, 4)), 0.3, 200, burn_in=50)[1]["energy"].mean()))
sampled = float(run(keys).mean())
exact = float(js.exact.enumerate(model, 0.3).mean_energy)
# 256 chains x 200 sweeps: the standard error over chains measured 0.05; 0.3 is six of them
assert abs(sampled - exact) < 0.3, (sampled, exact)
print(f"jaxstat {js.__version__} from {where.parent}: digits {x.shape}, <E> sampled {sampled:.3f} vs exact {exact:.3f}")

# the native kernel's source ships with the package; Swendsen-Wang runs on whichever labelling this
# machine has (the native union-find needs a C++ compiler, FastSV always works)
from jaxstat import _native

assert all(path.is_file() for path in _native._SOURCES), _native._SOURCES
sw = js.mcmc.swendsen_wang(model)
run = jax.jit(jax.vmap(lambda k: js.mcmc.run(k, sw, jnp.ones((4, 4)), 0.3, 100, burn_in=20)[1]["energy"].mean()))
sampled = float(run(keys).mean())
assert abs(sampled - exact) < 0.3, (sampled, exact)
print(f"Swendsen-Wang <E> {sampled:.3f} (native labelling: {_native.available() or _native.why_unavailable()})")

if args.tour:
    subprocess.run([str(pathlib.Path(sys.executable).parent / "jaxstat"), "tour", "--quick", "--out", args.tour],
                   check=True)
    index = pathlib.Path(args.tour) / "index.html"
    assert index.stat().st_size > 10_000 and len(list(pathlib.Path(args.tour).glob("*.png"))) == 19
    print(f"quick tour written: {index}")
