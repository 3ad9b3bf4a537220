"""Shared test set-up: make tests/helpers.py importable from every sub-folder."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

# Scripts that tests run in subprocesses (with their own XLA_FLAGS), not test modules:
# --doctest-modules must not import them into the test process.
collect_ignore_glob = ["_*.py", "*/_*.py"]


import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(params=["native", "portable"])
def kernels(request, monkeypatch):
    """Run a test on both CPU paths: jaxstat's native kernels (where they build) and the
    portable jax.numpy code that GPUs and TPUs run. Compiled programs are cleared on the
    way in and out, because programs are cached by structure, not by which path traced them."""
    from jaxstat import _native

    if request.param == "native" and not _native.available():
        pytest.skip(f"native kernels unavailable here: {_native.why_unavailable()}")
    if request.param == "portable":
        monkeypatch.setattr(_native, "available", lambda: False)
    jax.clear_caches()
    yield request.param
    jax.clear_caches()
