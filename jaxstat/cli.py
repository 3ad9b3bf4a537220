"""Command line: ``jaxstat tour`` and ``jaxstat info``."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jaxstat", description="Statistical mechanics of neural networks in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="run the guided tour: figures and a summary table")
    tour.add_argument("--out", default="jaxstat-tour", help="output folder (default: ./jaxstat-tour)")
    tour.add_argument("--sections", nargs="*", default=None, help="run only these sections (default: all)")
    tour.add_argument("--quick", action="store_true", help="smaller systems and shorter runs (a smoke test)")
    sub.add_parser("info", help="print versions and devices")
    args = parser.parse_args(argv)

    if args.command == "tour":
        from jaxstat.tour import run_tour

        try:
            out = run_tour(args.out, sections=args.sections, quick=args.quick)
        except ValueError as err:
            parser.error(str(err))
        print(f"Tour written to {out}/ (summary.md and figures).")
        return 0
    if args.command == "info":
        import jax

        import jaxstat

        print(f"jaxstat {jaxstat.__version__}, jax {jax.__version__}, devices: {jax.devices()}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
