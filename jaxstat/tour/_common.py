"""Helpers shared by the tour sections."""

from __future__ import annotations


def stage(bar, text):
    """Show what a section is doing on the tour's progress bar (if any)."""
    if bar is not None:
        bar.set_postfix_str(text)
        bar.refresh()
