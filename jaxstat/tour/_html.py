"""The tour's ``index.html``: its markdown summary as one page a person can browse.

The sections write a small, fixed subset of markdown (headings, paragraphs,
``- `` lists, pipe tables, ``![caption](figure.png)`` lines, ``**bold**``,
``_italic_`` and backtick code), so a converter for exactly that subset is
enough; it keeps the tour free of a markdown dependency. Figures become
``<figure>`` elements whose caption is the image's alt text, and each
section's ``**Result:**`` line is collected into the table at the top.

>>> print(markdown_to_html("## A\\n\\nSome `x` and **y**.\\n\\n![The caption](a.png)"))
<h2 id="a">A</h2>
<p>Some <code>x</code> and <strong>y</strong>.</p>
<figure><a href="a.png"><img src="a.png" alt="The caption" loading="lazy"></a><figcaption>The caption</figcaption></figure>
"""

from __future__ import annotations

import html
import re

# greedy alt text: a caption may itself hold brackets, e.g. "[-1, 1]²"
_IMAGE = re.compile(r"^!\[(?P<alt>.*)\]\((?P<src>[^)\s]+)\)$")
RESULT_PREFIX = "**Result:**"

_STYLE = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
       max-width: 1100px; margin: 0 auto; padding: 1.5em; }
h1 { font-size: 1.9em; margin-bottom: 0.2em; }
h2 { font-size: 1.4em; margin-top: 2.2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
figure { margin: 1.2em 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #444; margin-top: 0.4em; text-align: left; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f4f4f6; }
td:first-child, th:first-child { text-align: left; }
table.results td, table.results th { white-space: normal; text-align: left; }
table.results td:last-child { white-space: nowrap; text-align: right; }
code { background: #f4f4f6; padding: 0 0.25em; border-radius: 3px; }
p.meta { color: #555; }
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _inline(text: str) -> str:
    """Escape ``text`` and apply the inline markup: code, bold, italic, and ``\\|``."""
    parts = re.split(r"(`[^`]*`)", text.replace("\\|", "|"))
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"(?<![\w])_(\S(?:.*?\S)?)_(?![\w])", r"<em>\1</em>", part)
        out.append(part)
    return "".join(out)


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip() for c in cells[1:-1]]


def _table(lines: list[str]) -> str:
    header, body = _cells(lines[0]), [_cells(x) for x in lines[2:]]
    rows = ["<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in header) + "</tr>"]
    rows += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body]
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def markdown_to_html(text: str) -> str:
    """Convert the tour's markdown subset to HTML fragments, one block per line of output."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            i += 1
            continue
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        image = _IMAGE.match(line.strip())
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            blocks.append(f'<h{level} id="{_slug(title)}">{_inline(title)}</h{level}>')
            i += 1
        elif image:
            alt, src = html.escape(image["alt"]), html.escape(image["src"])
            blocks.append(f'<figure><a href="{src}"><img src="{src}" alt="{alt}" loading="lazy"></a>'
                          f"<figcaption>{_inline(image['alt'])}</figcaption></figure>")
            i += 1
        elif line.lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            blocks.append(_table(lines[i:j]))
            i = j
        elif line.lstrip().startswith("- "):
            items = []
            while i < len(lines) and lines[i].lstrip().startswith("- "):
                items.append(f"<li>{_inline(lines[i].lstrip()[2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = []
            while (i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith(("|", "#", "- "))
                   and not _IMAGE.match(lines[i].strip())):
                para.append(lines[i].strip())
                i += 1
            blocks.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(blocks)


def section_results(fragment: str) -> list[str]:
    """The ``**Result:**`` lines of one section's markdown, without the prefix."""
    return [line.strip()[len(RESULT_PREFIX):].strip() for line in fragment.splitlines()
            if line.strip().startswith(RESULT_PREFIX)]


def _title(fragment: str, name: str) -> str:
    for line in fragment.splitlines():
        if line.startswith("## "):
            return line[3:].strip()
    return name


def tour_page(header: str, sections: list[tuple[str, str, float]], total_seconds: float) -> str:
    """The whole ``index.html``: a header paragraph, a table of each section's results and
    time (linked to the section), then every section with its figures and captions.

    ``sections`` holds ``(name, markdown fragment, seconds)`` for each section that ran.
    """
    rows = ["<tr><th>section</th><th>results</th><th>time</th></tr>"]
    for name, fragment, seconds in sections:
        title = _title(fragment, name)
        results = "; ".join(section_results(fragment)) or "see below"
        rows.append(f'<tr><td><a href="#{_slug(title)}">{_inline(title)}</a></td><td>{_inline(results)}</td>'
                    f"<td>{seconds:.1f} s</td></tr>")
    table = '<table class="results">\n' + "\n".join(rows) + "\n</table>"
    body = "\n".join(markdown_to_html(fragment) + f'\n<p class="meta"><em>Section {html.escape(name)} took '
                     f"{seconds:.1f} s.</em></p>" for name, fragment, seconds in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>jaxstat tour</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        "<h1>jaxstat tour</h1>\n"
        f'<p class="meta">{_inline(header)} Total {total_seconds:.0f} s.</p>\n'
        f"{table}\n{body}\n</body>\n</html>\n"
    )
