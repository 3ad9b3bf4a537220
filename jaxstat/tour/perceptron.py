"""Tour section: the perceptron (placeholder until the perceptron section lands)."""

from __future__ import annotations

from pathlib import Path


def perceptron_section(outdir: Path, quick: bool = False, bar=None) -> str:
    return "## Perceptron\n\n(coming)\n"
