"""Boundary validation shared by every public function.

Checks run on concrete values when they are available (outside ``jit``) and on
shapes and dtypes always, so a bad input raises a ``ValueError`` that names
the argument, what was expected and what came, before anything reaches XLA.
Inside ``jit``/``vmap`` the values are tracers and only static facts can be
checked; that is documented on each public function.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values we can inspect (not a tracer)."""
    return not isinstance(x, jax.core.Tracer)


def float_dtype():
    """The default float dtype: float64 under ``jax_enable_x64``, else float32."""
    return jnp.result_type(float)


SUPPORTED_FLOATS = (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))


def check_float_dtype(dtype, name: str = "dtype"):
    """Only float32 and float64: 16-bit floats cannot hold the 24-bit uniforms
    the samplers compare against, and would sample silently wrong."""
    dtype = jnp.dtype(dtype)
    if dtype not in SUPPORTED_FLOATS:
        raise ValueError(
            f"{name} must be float32 or float64 (16-bit floats are too coarse for Monte Carlo "
            f"acceptance tests); got {dtype}"
        )
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise ValueError(
            f"{name} float64 needs 64-bit JAX (jax.config.update('jax_enable_x64', True) before any "
            "array is made); with x64 off JAX would silently use float32"
        )
    return dtype


def as_float_array(x, name: str, dtype=None):
    """Convert ``x`` to a float32/float64 JAX array, keeping such a dtype if it has one.

    Integers and booleans become the default float; complex numbers and
    16-bit floats are refused with a ValueError naming ``name``.
    """
    try:
        arr = jnp.asarray(x)
    except TypeError as err:
        raise ValueError(f"{name} must be array-like with numbers; got {type(x).__name__}") from err
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise ValueError(f"{name} must be real; got complex dtype {arr.dtype}")
    if dtype is not None:
        return arr.astype(check_float_dtype(dtype))
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(float_dtype())
    check_float_dtype(arr.dtype, f"{name}.dtype")
    return arr


def invalid_beta_to_nan(x, beta):
    """``x`` where ``beta >= 0`` (inf included), NaN where beta is negative or NaN.

    Inside ``jit``/``vmap`` beta is a tracer and cannot be checked with an
    error; results computed at an invalid traced beta come back as NaN
    instead of as plausible numbers.
    """
    return jnp.where(beta >= 0, x, jnp.nan)


def check_finite(x, name: str):
    """Refuse NaN or inf in a concrete array (traced values pass: they cannot be checked)."""
    if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
        raise ValueError(f"{name} must be finite; got NaN or inf entries")
    return x


def check_beta(beta, name: str = "beta"):
    """Validate an inverse temperature: a real scalar, >= 0, not NaN; ``inf`` allowed."""
    if isinstance(beta, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number >= 0; got a boolean {beta!r}")
    if not is_concrete(beta):
        if jnp.ndim(beta) != 0:
            raise ValueError(
                f"{name} must be a scalar (vmap over a ladder of betas); got shape {jnp.shape(beta)}"
            )
        return beta
    arr = np.asarray(beta)
    if arr.ndim != 0:
        raise ValueError(
            f"{name} must be a scalar; got shape {arr.shape} (vmap over a ladder of betas instead)"
        )
    if arr.dtype.kind not in "biuf" and not jnp.issubdtype(arr.dtype, jnp.floating):
        raise ValueError(f"{name} must be a real number >= 0; got {beta!r}")
    value = float(arr)
    if math.isnan(value):
        raise ValueError(f"{name} must be a real number >= 0; got NaN")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (inverse temperature); got {value}")
    return beta


def check_spins(spins, n_site_axes_shape: tuple, name: str = "spins"):
    """Check trailing shape and, when concrete, that every entry is -1 or +1."""
    arr = jnp.asarray(spins)
    trailing = tuple(arr.shape[arr.ndim - len(n_site_axes_shape):]) if arr.ndim >= len(n_site_axes_shape) else None
    if trailing != tuple(n_site_axes_shape):
        raise ValueError(
            f"{name} must have trailing shape {tuple(n_site_axes_shape)} (the model's sites, "
            f"with optional leading batch axes); got shape {tuple(arr.shape)}"
        )
    if is_concrete(arr) and arr.size:
        values = np.asarray(arr)
        bad = ~((values == 1) | (values == -1))
        if bad.any():
            first = values[bad].ravel()[0]
            raise ValueError(
                f"{name} must contain only -1 and +1; got {int(bad.sum())} other value(s), e.g. {first!r}"
            )
    return arr


def check_binary(x, name: str, expected: str = "only 0 and 1", *, mean_field: bool = False):
    """Units in {0, 1} (in [0, 1] when ``mean_field``: probabilities), the one check of the
    neuron form (``ising.neuron_energy``, RBM and Boltzmann-machine units).

    A concrete array with another value raises a ValueError naming ``name`` and saying
    ``expected``; a traced one (inside jit/vmap, where nothing can raise) gets NaN there,
    so no result built on it looks plausible (DESIGN rule 5).
    """
    if is_concrete(x):
        values = np.asarray(x)
        ok = ((values >= 0) & (values <= 1)) if mean_field else ((values == 0) | (values == 1))
        if values.size and not ok.all():
            bad = values[~ok]
            raise ValueError(
                f"{name} must contain {expected}; got {bad.size} other value(s), e.g. {bad.ravel()[0].item()!r}"
            )
        return x
    ok = ((x >= 0) & (x <= 1)) if mean_field else ((x == 0) | (x == 1))
    return jnp.where(ok, x, jnp.nan)


def check_coupling_matrix(M, name: str, allow_asymmetric: bool = False) -> float:
    """Check a concrete coupling or weight matrix; return max |M - M.T|.

    The matrix must be finite, have a zero diagonal, and be symmetric unless
    ``allow_asymmetric``. ``name`` is how the messages call it, e.g.
    ``"couplings J"`` or ``"weights W"``; its last word is the symbol.
    """
    sym = name.split()[-1]
    Mn = np.asarray(M)
    if not np.all(np.isfinite(Mn)):
        raise ValueError(f"{name} must be finite; got NaN or inf entries")
    diag = float(np.max(np.abs(np.diag(Mn))))
    if diag != 0.0:
        raise ValueError(f"{name} must have a zero diagonal (no self-coupling); got max |{sym}_ii| = {diag:.3g}")
    asym = float(np.max(np.abs(Mn - Mn.T)))
    if asym != 0.0 and not allow_asymmetric:
        raise ValueError(
            f"{name} must be symmetric with a zero diagonal; got max |{sym} - {sym}.T| = {asym:.3g} "
            "(pass allow_asymmetric=True for dynamics without an energy function)"
        )
    return asym


def check_key(key, name: str = "key"):
    """A JAX PRNG key: a typed key (``jax.random.key``) or a legacy uint32 key."""
    if isinstance(key, jax.Array) or hasattr(key, "dtype"):
        dtype = getattr(key, "dtype", None)
        if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            return key
        if dtype == jnp.uint32 and jnp.ndim(key) >= 1 and jnp.shape(key)[-1] == 2:
            return key  # a legacy raw key, jax.random.PRNGKey(0): two uint32 words
    hint = ""
    if callable(key):
        hint = (" (a function: every jaxstat function that draws random numbers takes the key first, "
                "e.g. hessian_eigs(key, loss, params, k))")
    raise ValueError(
        f"{name} must be a JAX PRNG key such as jax.random.key(0); got {type(key).__name__} {key!r:.60}{hint}"
    )


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """A Python int >= minimum (sizes and counts are static)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def check_shape(shape, name: str = "shape", minimum: int = 1) -> tuple[int, ...]:
    """A static shape: an int or a sequence of Python ints, each >= ``minimum``, as a tuple.

    ``minimum=1`` (a lattice's side lengths) also refuses the empty shape;
    ``minimum=0`` (a batch of configurations, e.g. ``random_spins``) allows
    zero-length axes and ``()``.

    >>> check_shape((4, 4)), check_shape(8), check_shape((), minimum=0)
    ((4, 4), (8,), ())
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError as err:
        raise ValueError(f"{name} must be a tuple of integers >= {minimum}, e.g. (L, L) or (N,); "
                         f"got {shape!r}") from err
    if not shape and minimum >= 1:
        raise ValueError(f"{name} must have at least one side length; got ()")
    return tuple(check_positive_int(length, f"{name}[{i}]", minimum=minimum) for i, length in enumerate(shape))


def check_sizes(n, name: str = "n") -> tuple[int, ...]:
    """A size (an integer >= 1) or a non-empty 1-D sequence of them, as a tuple of ints.

    Sweeps over system sizes (Hopfield and perceptron capacities) unroll one
    compiled body per size, so sizes must be concrete integers.
    """
    if np.ndim(n) == 0:
        return (check_positive_int(n, name),)
    if np.ndim(n) != 1 or len(n) == 0:
        got = "an empty sequence" if np.size(n) == 0 else f"shape {np.shape(n)}"
        raise ValueError(f"{name} must be an integer >= 1 or a non-empty sequence of them; got {got}")
    return tuple(check_positive_int(v, name) for v in n)


def check_loads(alphas, allow_zero: bool = False, name: str = "alphas") -> np.ndarray:
    """Loads alpha = P / N: a number or a non-empty 1-D sequence of finite numbers > 0
    (>= 0 with ``allow_zero``), as a float64 NumPy vector."""
    try:
        arr = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number or a 1-D sequence of numbers; got {alphas!r:.60}") from err
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence; got shape {np.shape(alphas)}")
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if bad.any():
        raise ValueError(f"{name} must be finite numbers {'>= 0' if allow_zero else '> 0'}; got {float(arr[bad][0])}")
    return arr
