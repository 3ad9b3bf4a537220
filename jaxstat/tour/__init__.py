"""``jaxstat tour``: the guided tour that writes figures and a summary table.

Each section is a function ``section(outdir, quick, bar) -> str`` that
computes, saves its figures into ``outdir`` and returns a markdown fragment;
the tour concatenates the fragments into ``outdir/summary.md`` and renders
them as ``outdir/index.html``: figures with their captions (the image's alt
text), each section's ``**Result:**`` lines in a table at the top, and the
time each section took.
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
    """Run the tour sections and write ``summary.md``, ``index.html`` and figures into ``outdir``.

    Returns ``outdir``; ``outdir / "index.html"`` is the page to open in a browser.
    """
    import matplotlib

    matplotlib.use("Agg")
    from tqdm.auto import tqdm

    from jaxstat.tour._html import tour_page

    outdir = Path(outdir)
    names = list(SECTIONS) if not sections else list(sections)
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        raise ValueError(f"sections must be among {list(SECTIONS)}; got {unknown}")
    outdir.mkdir(parents=True, exist_ok=True)
    header = (f"jaxstat {__import__('jaxstat').__version__}, JAX {jax.__version__} on "
              f"{backend_description()}{' (quick mode: CI-sized systems)' if quick else ''}.")
    done = []
    t_start = time.perf_counter()
    with tqdm(total=len(names), desc="jaxstat tour", unit="section") as bar:
        for name in names:
            stage(bar, name)
            t0 = time.perf_counter()
            fragment = SECTIONS[name](outdir, quick=quick, bar=bar)
            done.append((name, fragment, time.perf_counter() - t0))
            bar.update(1)
    total = time.perf_counter() - t_start
    parts = ["# jaxstat tour", "", header, ""]
    for name, fragment, seconds in done:
        parts += [fragment, f"_Section '{name}' took {seconds:.1f} s._", ""]
    parts.append(f"Total: {total:.1f} s.")
    (outdir / "summary.md").write_text("\n".join(parts) + "\n")
    (outdir / "index.html").write_text(tour_page(header, done, total), encoding="utf-8")
    return outdir


def backend_description() -> str:
    """Which devices JAX runs on, e.g. ``"CPU (1 device, 2 CPU cores visible)"``."""
    devices = jax.devices()
    kinds = sorted({getattr(d, "device_kind", d.platform) for d in devices})
    return (f"{devices[0].platform.upper()} ({len(devices)} device{'s' if len(devices) > 1 else ''}: "
            f"{', '.join(kinds)}; {os.cpu_count()} CPU cores visible)")
