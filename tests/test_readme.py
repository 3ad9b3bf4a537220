"""The README's quickstart runs as printed and says what it claims."""

import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs(capsys):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python block"
    code = blocks[0]
    assert len(code.strip().splitlines()) <= 15
    # a shorter run keeps the test quick; the code path is the README's own
    code = code.replace("n_sweeps=2000, burn_in=500", "n_sweeps=300, burn_in=200")
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    abs_m = np.asarray(namespace["abs_m"]).mean(1)
    T = np.asarray(namespace["temperatures"])
    assert np.all(abs_m[T < 2.0] > 0.85) and np.all(abs_m[T > 2.8] < 0.35)
    diff = np.asarray(namespace["energy"]).mean(1) - np.asarray(namespace["js"].exact.onsager_energy(T))
    assert np.all(np.abs(diff[(T < 2.0) | (T > 2.8)]) < 0.02)
