"""The tour's index.html: the markdown subset the sections write, rendered faithfully and escaped,
and the CLI's device choice refused with a clear message where the backend is missing."""

import os
import re
import subprocess
import sys

import jax
import pytest

from jaxstat.tour._html import markdown_to_html, section_results, tour_page

FRAGMENT = """## Ising model (2D)

Some text with `code`, **bold**, _italic_ and a <tag> & an ampersand,
continued on a second line.

**Result:** T_c = 2.27 ± 0.01 (Onsager: 2.2692)

![Magnetization against T in [1.5, 3.5], with |m| and a <b>tag</b>.](ising_thermodynamics.png)

| T | <\\|m\\|> | e |
|---|---|---|
| 1.50 | 0.98 | -1.9 |
| 2.00 | 0.91 | -1.7 |

- one item
- another item
"""


def test_markdown_subset():
    out = markdown_to_html(FRAGMENT)
    assert '<h2 id="ising-model-2d">Ising model (2D)</h2>' in out
    assert ("<p>Some text with <code>code</code>, <strong>bold</strong>, <em>italic</em> and a &lt;tag&gt; "
            "&amp; an ampersand, continued on a second line.</p>") in out
    # a figure's alt text is its caption, escaped in both places
    # (a caption may hold brackets)
    caption = "Magnetization against T in [1.5, 3.5], with |m| and a &lt;b&gt;tag&lt;/b&gt;."
    assert f'<img src="ising_thermodynamics.png" alt="{caption}"' in out
    assert f"<figcaption>{caption}</figcaption>" in out
    # escaped pipes stay inside their cell; the separator row is not a row
    assert "<th>&lt;|m|&gt;</th>" in out
    assert out.count("<tr>") == 3 and "---" not in out
    assert "<ul><li>one item</li><li>another item</li></ul>" in out
    assert "<script" not in out and "<tag>" not in out


def test_section_results_and_page():
    assert section_results(FRAGMENT) == ["T_c = 2.27 ± 0.01 (Onsager: 2.2692)"]
    page = tour_page("jaxstat 0.1 on CPU.", [("ising", FRAGMENT, 12.34), ("other", "## Other\n\nText.", 1.0)], 13.4)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # the results table links to each section and carries its time
    assert '<a href="#ising-model-2d">Ising model (2D)</a></td><td>T_c = 2.27 ± 0.01 (Onsager: 2.2692)</td><td>12.3 s</td>' in page
    assert '<a href="#other">Other</a></td><td>see below</td><td>1.0 s</td>' in page
    assert "Total 13 s." in page
    assert len(re.findall(r'<h2 id="ising-model-2d">', page)) == 1


@pytest.mark.parametrize("device", ["gpu", "tpu"])
def test_cli_refuses_a_missing_backend(device):
    """--device names a backend this machine lacks: a usage error naming it, not a traceback."""
    if any(d.platform == {"gpu": "gpu", "tpu": "tpu"}[device] for d in jax.devices()):
        pytest.skip(f"this machine has a {device}")
    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    proc = subprocess.run([sys.executable, "-m", "jaxstat.cli", "tour", "--device", device, "--out", "unused"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"--device {device}: JAX cannot use this backend here" in proc.stderr
    assert "Traceback" not in proc.stderr
