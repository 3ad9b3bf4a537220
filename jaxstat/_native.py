"""Native CPU kernels, compiled on first use: the one thing XLA cannot express well here.

jaxstat is pure Python: every sampler is ``jax.numpy`` and runs on any
backend. One job is an exception on the CPU: labelling Fortuin–Kasteleyn
clusters (Swendsen–Wang, Wolff's ``method="label"``). The device algorithm,
FastSV, needs ~8 rounds of three XLA passes; a union–find does it in one
sequential pass, ~4x faster at L = 64 (``benchmarks/cluster.py``), and that
factor is what Swendsen–Wang needs to beat local moves by 10x at small L.

So ``jaxstat/mcmc/_native/fk_clusters.cc`` is compiled, the first time a
cluster sampler is traced (on any backend: a GPU process may still run
programs on its CPU), with the system's C++ compiler
against the XLA FFI headers that ship with jaxlib, into a cache directory
(``$JAXSTAT_CACHE_DIR/native`` or ``~/.cache/jaxstat/native``, keyed by the
source, jaxlib's version and the compiler), and registered as XLA FFI
targets. This takes ~2 s once per machine and jaxlib version; later
processes load the cached library. The kernels return the same roots as
FastSV, so a chain is bit-identical on either path (``tests/mcmc/test_native.py``).

Nothing depends on it: without a C++ compiler, on another platform, or with
``JAXSTAT_NATIVE=0``, the samplers use FastSV, and GPUs and TPUs always do.
:func:`available` says which path the CPU takes and, if the native one
failed, why.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import jax

__all__ = ["available", "why_unavailable", "on_cpu"]

_SOURCES = (Path(__file__).parent / "mcmc" / "_native" / "fk_clusters.cc",)
_TARGETS = {"jaxstat_fk_label": "JaxstatFkLabel", "jaxstat_fk_flip": "JaxstatFkFlip"}
_FLAGS = ["-O3", "-std=c++17", "-shared", "-fPIC", "-w"]

_lock = threading.Lock()
_state: dict = {}  # "ok": bool, "why": str, "lib": the loaded library (kept alive)


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cache_dir() -> Path:
    root = os.environ.get("JAXSTAT_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxstat"))
    return Path(root) / "native"


def _build(compiler: str) -> Path:
    """The compiled library's path, compiling it if the cache does not hold it."""
    import jaxlib

    sources = [path.read_bytes() for path in _SOURCES]
    key = hashlib.sha256(b"\0".join([*sources, jaxlib.__version__.encode(), compiler.encode(),
                                     " ".join(_FLAGS).encode(), sys.platform.encode()])).hexdigest()[:16]
    target = _cache_dir() / f"jaxstat-kernels-{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # compile to a private name, then rename: concurrent processes (pytest -n) never load a half-written file
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [compiler, *_FLAGS, "-I", jax.ffi.include_dir(), *map(str, _SOURCES), "-o", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _load() -> None:
    if os.environ.get("JAXSTAT_NATIVE", "1") == "0":
        raise RuntimeError("disabled by JAXSTAT_NATIVE=0")
    if sys.platform not in ("linux", "darwin"):
        raise RuntimeError(f"not built on {sys.platform}")
    compiler = _compiler()
    if compiler is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++ or clang++)")
    lib = ctypes.cdll.LoadLibrary(str(_build(compiler)))
    for name, symbol in _TARGETS.items():
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
    _state["lib"] = lib


def available() -> bool:
    """Whether the native CPU kernels are compiled and registered (compiling them on the first call).

    Example:
      >>> from jaxstat import _native
      >>> isinstance(_native.available(), bool)
      True
    """
    with _lock:
        if "ok" not in _state:
            try:
                _load()
                _state["ok"], _state["why"] = True, ""
            except Exception as err:  # any failure means: use the portable path
                _state["ok"], _state["why"] = False, f"{type(err).__name__}: {err}"
        return _state["ok"]


def why_unavailable() -> str:
    """Why :func:`available` is False (empty when it is True)."""
    available()
    return _state["why"]


def on_cpu(native, portable, *args):
    """``native(*args)`` where the program runs on a CPU and the kernels are built, else ``portable(*args)``.

    ``jax.lax.platform_dependent`` lowers only the branch of the platform
    compiled for, so GPU and TPU programs never contain the CPU custom call.
    Both callables must return the same shapes and dtypes.
    """
    if not available():
        return portable(*args)
    return jax.lax.platform_dependent(*args, cpu=native, default=portable)
