"""Command line: ``jaxstat tour`` and ``jaxstat info``."""

from __future__ import annotations

import argparse
import os
import sys

DEVICES = ("auto", "cpu", "gpu", "tpu")


def _use_device(device: str) -> None:
    """Pin JAX to one backend. Must run before JAX initialises its backends, so this module
    imports nothing from jax or jaxstat at the top."""
    if device != "auto":
        os.environ["JAX_PLATFORMS"] = {"gpu": "cuda"}.get(device, device)


def _enable_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache, so a second tour (or a rerun of a section)
    skips most XLA compilation. ``JAXSTAT_CACHE_DIR`` chooses the folder; ``JAXSTAT_CACHE_DIR=""``
    turns the cache off."""
    import jax

    path = os.environ.get("JAXSTAT_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxstat", "jax"))
    if not path:
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jaxstat", description="Statistical mechanics of neural networks in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="run the guided tour: figures, a summary table and index.html")
    tour.add_argument("--out", default="jaxstat-tour", help="output folder (default: ./jaxstat-tour)")
    tour.add_argument("--sections", nargs="*", default=None,
                      help="run only these sections (default: all): ising dynamics spinglass hopfield "
                           "perceptron boltzmann landscape")
    tour.add_argument("--quick", action="store_true", help="smaller systems and shorter runs (CI-sized, ~1 minute)")
    tour.add_argument("--device", choices=DEVICES, default="auto",
                      help="the JAX backend to run on (default: auto, the accelerator when there is one)")
    sub.add_parser("info", help="print versions and devices")
    args = parser.parse_args(argv)

    if args.command == "tour":
        _use_device(args.device)
        import jax

        try:
            jax.devices()
        except Exception as err:  # noqa: BLE001 -- jax raises RuntimeError or a bare AssertionError
            parser.error(f"--device {args.device}: JAX cannot use this backend here "
                         f"({type(err).__name__}: {str(err) or 'no such backend installed'}); install jax for the "
                         'accelerator (e.g. pip install -U "jax[cuda12]") or use --device auto')
        from jaxstat.tour import SECTIONS, backend_description, run_tour

        unknown = [s for s in args.sections or () if s not in SECTIONS]
        if unknown:
            parser.error(f"--sections must be among {list(SECTIONS)}; got {unknown}")
        cache = _enable_compilation_cache()
        print(f"jaxstat tour on {backend_description()}"
              + (f"; compiled programs are cached in {cache}" if cache else ""), flush=True)
        try:
            out = run_tour(args.out, sections=args.sections, quick=args.quick)
        except ValueError as err:
            parser.error(str(err))
        print(f"Tour written to {out}/ (summary.md and figures). Open {(out / 'index.html').resolve()}")
        return 0
    if args.command == "info":
        import jax

        import jaxstat

        print(f"jaxstat {jaxstat.__version__}, jax {jax.__version__}, devices: {jax.devices()}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
