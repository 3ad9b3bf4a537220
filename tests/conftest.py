"""Shared test set-up: make tests/helpers.py importable from every sub-folder."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

# Scripts that tests run in subprocesses (with their own XLA_FLAGS), not test modules:
# --doctest-modules must not import them into the test process.
collect_ignore_glob = ["_*.py", "*/_*.py"]
