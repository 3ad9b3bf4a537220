"""A griffe extension for the API reference: jaxstat's docstrings mix Google
sections with Sphinx/reST markup (``:math:``, ``.. math::``, ``:func:``),
which Markdown would print literally. This rewrites that markup into what
the docs site renders (arithmatex math, inline code, fenced doctests) before
mkdocstrings parses the docstring. The source files are not touched.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc|const|py:\w+):`(~?)([^`]+)`")
_MATH = re.compile(r":math:`([^`]+)`")
_DIRECTIVE_MATH = re.compile(r"^(\s*)\.\. math::\s*(.*)$")
_EXAMPLE = re.compile(r"^(\s*)Example:\s*$")
_SECTION_EXAMPLES = re.compile(r"^(\s*)Examples:\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _role(match: re.Match) -> str:
    tilde, target = match.groups()
    explicit = re.match(r"^(.*?)\s*<(.+)>$", target)  # :func:`title <target>`
    if explicit:
        return f"`{explicit.group(1)}`"
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _math_blocks(lines: list[str]) -> list[str]:
    """``.. math:: body`` (body on the line and/or indented below) -> ``$$ body $$``."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE_MATH.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, first = match.groups()
        body = [first] if first.strip() else []
        i += 1
        if not body:
            while i < len(lines) and not lines[i].strip():
                i += 1
        while i < len(lines) and lines[i].strip() and _indent(lines[i]) > len(indent):
            body.append(lines[i].strip())
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [indent + "$$", *(indent + b for b in body), indent + "$$"]
        if i < len(lines) and lines[i].strip():
            out.append("")
    return out


def _fence_doctests(lines: list[str]) -> list[str]:
    """Wrap ``>>>`` blocks outside an ``Examples:`` section in ```` ```pycon ```` fences."""
    out: list[str] = []
    section = None  # indentation of the current Examples: header
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _SECTION_EXAMPLES.match(line)
        if header:
            section = len(header.group(1))
            out.append(line)
            i += 1
            continue
        if section is not None and line.strip() and _indent(line) <= section:
            section = None
        if section is None and line.lstrip().startswith(">>>"):
            indent = " " * _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [indent + "```pycon", *block, indent + "```"]
            continue
        out.append(line)
        i += 1
    return out


def rst_to_markdown(text: str) -> str:
    text = _MATH.sub(lambda m: r"\(" + m.group(1) + r"\)", text)
    text = _ROLE.sub(_role, text)
    lines = _math_blocks(text.split("\n"))
    lines = [_EXAMPLE.sub(r"\1Examples:", line) for line in lines]
    # reST's "paragraph::" before a literal block: Markdown needs only the indent.
    lines = [re.sub(r"(?<=\S)::$", ":", line) if not line.lstrip().startswith("..") else line for line in lines]
    return "\n".join(_fence_doctests(lines))


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring's reST markup when griffe loads the object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
