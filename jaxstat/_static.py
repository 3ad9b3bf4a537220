"""Static callables that hit the compile cache when a user re-creates them.

``jax.jit`` keys a static argument on its hash and equality, and a function
hashes by identity: ``fit(..., optimizer=optax.sgd(0.05))`` in a loop builds a
new optimizer, a new pair of closures, every time, and every call compiles
again (measured 69 k samples/s that way against 283 k with one reused object).
:class:`Static` wraps such an object for a static argument and compares it by
*structure*: functions by their code and, recursively, what their closures,
defaults and bound ``self`` hold; numbers, strings and small immutable arrays
by value; tuples, lists, dicts and NamedTuples element by element. Two
``optax.sgd(0.05)`` are then one cache entry; ``optax.sgd(0.1)`` is another.

What still recompiles, and why: anything holding a NumPy array (mutable, so
compared by identity) or a jax array of more than ``SMALL`` elements (hashing
data on every call would cost more than it saves; such arrays are baked into
the program as constants anyway), and objects of other types (compared by
identity). A new data set closed over by a loss therefore compiles again; pass
data as arguments, or hyperparameters as traced data
(``optax.inject_hyperparams``), to avoid it.

The wrapper forwards calls and attribute access, so code inside the compiled
function uses it as the object itself.

>>> import optax
>>> Static(optax.sgd(0.05)) == Static(optax.sgd(0.05)), Static(optax.sgd(0.05)) == Static(optax.sgd(0.1))
(True, False)
>>> Static(lambda x: 2 * x)(3)
6
"""

from __future__ import annotations

import functools
import types

import numpy as np

SMALL = 64  # jax arrays up to this many elements compare by value

_SCALARS = (bool, int, float, complex, str, bytes, type(None), type(Ellipsis), np.generic)


def structural_key(obj, _depth: int = 0, _seen: frozenset = frozenset()):
    """A hashable description of ``obj``: equal keys mean interchangeable objects for tracing."""
    if _depth > 40 or id(obj) in _seen:  # deep or cyclic structures: identity is safe
        return ("id", id(obj))
    seen = _seen | {id(obj)}

    def key(x):
        return structural_key(x, _depth + 1, seen)

    if isinstance(obj, _SCALARS):
        return (type(obj).__name__, obj)
    if isinstance(obj, types.FunctionType):
        cells = tuple(key(c.cell_contents) if _filled(c) else ("empty",) for c in obj.__closure__ or ())
        # The globals the code reads count too: a function that reads a module-level value
        # which has since been rebound must not reuse the program traced with the old value.
        globals_read = tuple((name, key(obj.__globals__[name])) for name in _global_names(obj.__code__)
                             if name in obj.__globals__)
        return ("fn", obj.__code__, id(obj.__globals__), cells, key(obj.__defaults__),
                key(obj.__kwdefaults__), globals_read)
    if isinstance(obj, types.MethodType):
        return ("method", key(obj.__func__), key(obj.__self__))
    if isinstance(obj, functools.partial):
        return ("partial", key(obj.func), key(obj.args), key(obj.keywords))
    if isinstance(obj, (types.BuiltinFunctionType, types.ModuleType, type)):
        return ("id", id(obj))  # module-level objects live as long as their module
    if isinstance(obj, (tuple, list)):
        return (type(obj), tuple(key(x) for x in obj))
    if isinstance(obj, dict):
        try:
            items = sorted(obj.items())
        except TypeError:
            items = list(obj.items())
        return (type(obj), tuple((key(k), key(v)) for k, v in items))
    if _is_small_jax_array(obj):
        return ("array", str(obj.dtype), obj.shape, np.asarray(obj).tobytes())
    return ("id", id(obj))  # kept alive by the Static that holds the root object


@functools.lru_cache(maxsize=4096)
def _global_names(code) -> tuple:
    """Names a code object (and the functions defined inside it) may load as globals, sorted."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_global_names(const))
    return tuple(sorted(names))


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 -- an unfilled cell raises
    except ValueError:
        return False
    return True


def _is_small_jax_array(obj) -> bool:
    import jax

    return isinstance(obj, jax.Array) and obj.size <= SMALL and not isinstance(obj, jax.core.Tracer)


class Static:
    """A static argument that compares by :func:`structural_key` and acts as the object it wraps."""

    __slots__ = ("value", "_key", "_hash")

    def __init__(self, value):
        if isinstance(value, Static):
            value = value.value
        self.value = value
        self._key = structural_key(value)
        try:
            self._hash = hash(self._key)
        except TypeError:  # an unhashable leaf slipped through: fall back to identity
            self._key = ("id", id(value))
            self._hash = hash(self._key)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, Static) and self._hash == other._hash and self._key == other._key

    def __call__(self, *args, **kwargs):
        return self.value(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.value, name)

    def __repr__(self):
        return f"Static({self.value!r})"


def static(value):
    """``Static(value)``, or ``None`` unchanged (an absent optional callable)."""
    return None if value is None else Static(value)
