"""Compiling a user's loss once: the static wrapper every landscape kernel is keyed on.

The landscape functions take ``loss(params) -> scalar`` as a plain Python
callable. Their compiled kernels are module-level ``jax.jit`` functions with
the loss as a static argument, so a second call with the same loss and shapes
reuses the program instead of retracing a fresh closure. ``StaticFn`` makes
any callable usable there; ``jit_loss`` gives the compiled loss the boundary
check evaluates once at the centre.
"""

from __future__ import annotations

import functools

import jax

__all__ = ["StaticFn", "jit_loss"]


class StaticFn:
    """A callable as a static jit argument, hashed and compared by identity.

    Wrapping makes any callable usable as a static argument, hashable or not.
    The jit cache holds the wrapper (and so the callable) alive, so an ``id``
    is never reused while its entry exists.

    >>> f = lambda x: x + 1
    >>> StaticFn(f) == StaticFn(f), StaticFn(f) == StaticFn(lambda x: x + 1), StaticFn(f)(1)
    (True, False, 2)
    """

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __hash__(self):
        return id(self.fn)

    def __eq__(self, other):
        return isinstance(other, StaticFn) and other.fn is self.fn

    def __call__(self, *args):
        return self.fn(*args)


@functools.lru_cache(maxsize=64)
def _jitted(loss: StaticFn) -> StaticFn:
    return StaticFn(jax.jit(loss.fn))


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
    return _jitted(StaticFn(loss)).fn if callable(loss) else loss
