"""Regenerate the docs' gallery page from a full run of the tour.

    jaxstat tour --out docs/gallery && python docs/gallery.py

The tour writes its figures, ``summary.md`` and ``index.html`` into
``docs/gallery/``; this script turns ``summary.md`` into ``docs/gallery.md``
(figure paths rebased, the tour's title replaced by the page's). The figures
are committed, so the docs build needs no tour run.
"""

import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parent
summary = (DOCS / "gallery" / "summary.md").read_text(encoding="utf-8")
body = summary.split("\n", 1)[1].lstrip("\n")  # drop "# jaxstat tour"
# "<q^2>" and "<|m|>" are averages, not HTML tags
body = "\n".join(line if line.startswith("![") else line.replace("<", "&lt;") for line in body.splitlines()) + "\n"
body = re.sub(r"^!\[(.*)\]\(([^)/]+\.png)\)$", r"![\1](gallery/\2)\n\n_\1_\n", body, flags=re.M)
page = (
    "# Gallery\n\n"
    "Every figure of `jaxstat tour` at its default size, with the numbers it printed, as written by one run "
    "(regenerate with `jaxstat tour --out docs/gallery && python docs/gallery.py`). The tour also writes "
    "this as `index.html` beside its figures.\n\n" + body
)
(DOCS / "gallery.md").write_text(page, encoding="utf-8")
print(f"wrote {DOCS / 'gallery.md'}: {page.count('](gallery/')} figures")
