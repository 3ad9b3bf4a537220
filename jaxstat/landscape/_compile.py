"""Compiling a user's loss once: the static wrapper every landscape kernel is keyed on.

The landscape functions take ``loss(params) -> scalar`` as a plain Python
callable. Their compiled kernels are module-level ``jax.jit`` functions with
the loss as a static argument, so a second call with the same loss and shapes
reuses the program instead of retracing a fresh closure. ``StaticFn`` (the
shared :class:`jaxstat._static.Static`) makes any callable usable there and
compares losses by structure, so a loss re-created from the same code and the
same data arrays hits the cache too; ``jit_loss`` gives the compiled loss the boundary
check evaluates once at the centre.
"""

from __future__ import annotations

import functools

import jax

from jaxstat._static import Static as StaticFn

__all__ = ["StaticFn", "jit_loss"]


@functools.lru_cache(maxsize=64)
def _jitted(loss: StaticFn) -> StaticFn:
    return StaticFn(jax.jit(loss.value))


def jit_loss(loss):
    """``jax.jit(loss)``, one compiled wrapper per loss (cached); non-callables pass through.

    ``check_loss`` evaluates the loss once at the centre; compiled, that is one
    XLA program instead of an eager op-by-op pass, and the cache keeps a
    repeated call from recompiling it. A non-callable is returned unchanged so
    that ``check_loss`` can refuse it with its own message.

    >>> import jax.numpy as jnp
    >>> f = lambda p: jnp.sum(p ** 2)
    >>> jit_loss(f) is jit_loss(f), float(jit_loss(f)(jnp.ones(3)))
    (True, 3.0)
    """
    return _jitted(StaticFn(loss)).value if callable(loss) else loss
