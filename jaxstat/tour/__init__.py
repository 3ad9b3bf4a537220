"""``jaxstat tour``: the guided tour that writes figures and a summary table.

Each section is a function ``section(outdir, quick, bar) -> str`` that
computes, saves its figures into ``outdir`` and returns a markdown fragment;
the tour concatenates the fragments into ``outdir/summary.md``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import jax

from jaxstat.tour._common import stage
from jaxstat.tour.boltzmann import boltzmann_section
from jaxstat.tour.dynamics import dynamics_section
from jaxstat.tour.hopfield import hopfield_section
from jaxstat.tour.ising import ising_section
from jaxstat.tour.landscape import landscape_section
from jaxstat.tour.perceptron import perceptron_section
from jaxstat.tour.spinglass import spinglass_section

SECTIONS: dict[str, Callable] = {
    "ising": ising_section,
    "dynamics": dynamics_section,
    "spinglass": spinglass_section,
    "hopfield": hopfield_section,
    "perceptron": perceptron_section,
    "boltzmann": boltzmann_section,
    "landscape": landscape_section,
}


def run_tour(outdir="jaxstat-tour", sections=None, quick: bool = False) -> Path:
    """Run the tour sections and write ``summary.md`` and figures into ``outdir``."""
    import matplotlib

    matplotlib.use("Agg")
    from tqdm.auto import tqdm

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    names = list(SECTIONS) if not sections else list(sections)
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        raise ValueError(f"sections must be among {list(SECTIONS)}; got {unknown}")
    parts = [
        "# jaxstat tour",
        "",
        f"jaxstat {__import__('jaxstat').__version__}, JAX {jax.__version__} on "
        f"{jax.devices()[0].platform.upper()} ({os.cpu_count()} CPU cores visible).",
        "",
    ]
    t_start = time.perf_counter()
    with tqdm(total=len(names), desc="jaxstat tour", unit="section") as bar:
        for name in names:
            stage(bar, name)
            t0 = time.perf_counter()
            parts.append(SECTIONS[name](outdir, quick=quick, bar=bar))
            parts.append(f"_Section '{name}' took {time.perf_counter() - t0:.1f} s._\n")
            bar.update(1)
    parts.append(f"Total: {time.perf_counter() - t_start:.1f} s.")
    (outdir / "summary.md").write_text("\n".join(parts) + "\n")
    return outdir
