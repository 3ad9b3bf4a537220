"""Small synthetic data sets that generate offline.

``fruit``: the fruit-sorting example of the course notes. A vendor sorts
apples from oranges by two features, weight (grams) and sweetness (1 to 10);
apples are heavier and less sweet, oranges lighter and sweeter, and a line
``w1 x1 + w2 x2 + b = 0`` in the (weight, sweetness) plane separates them.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp

from jaxstat._validate import check_key, check_positive_int, float_dtype

__all__ = ["fruit", "APPLE", "ORANGE"]

APPLE = 1
ORANGE = -1

# Class regions, (weight in g, sweetness). The weight ranges leave a 10 g gap
# around 160 g, so the line weight = 160 separates the classes whatever the
# sweetness: separability is guaranteed, not merely likely. Sweetness ranges
# overlap on [5, 6], so weight alone is what separates.
_APPLE_BOX = ((170.0, 250.0), (1.0, 6.0))
_ORANGE_BOX = ((100.0, 150.0), (5.0, 10.0))


def _uniform_box(key, m, box, dtype):
    (w_lo, w_hi), (s_lo, s_hi) = box
    u = jax.random.uniform(key, (m, 2), dtype)
    lo = jnp.array([w_lo, s_lo], dtype)
    hi = jnp.array([w_hi, s_hi], dtype)
    return lo + u * (hi - lo)


def _impostors(key, genuine, m):
    # Random convex combinations of two genuine points of the other class:
    # each impostor lies in that class's convex hull, so no line can separate.
    k_idx, k_t = jax.random.split(key)
    idx = jax.random.randint(k_idx, (m, 2), 0, genuine.shape[0])
    t = jax.random.uniform(k_t, (m, 1), genuine.dtype)
    return t * genuine[idx[:, 0]] + (1 - t) * genuine[idx[:, 1]]


def fruit(key, n, overlap=0.0, dtype=None):
    """Apples and oranges by weight and sweetness, labelled apple +1, orange -1.

    ``ceil(n / 2)`` apples are drawn uniformly from weights 170–250 g and
    sweetness 1–6, ``floor(n / 2)`` oranges from 100–150 g and sweetness 5–10,
    and the rows are shuffled. With ``overlap = 0`` the set is linearly
    separable by construction (the line weight = 160 g separates it).

    With ``overlap > 0`` (needs ``n >= 4``) ``ceil(overlap * m / 2)`` fruits of
    each class (``m`` its size) are "impostors": an apple that looks like an
    orange, placed at a random point between two genuine oranges, and vice
    versa. An impostor lies inside the other class's convex hull, so the set
    is never linearly separable; ``overlap = 1`` makes half of each class
    impostors.

    Args:
      key: a PRNG key.
      n: number of fruits, an integer >= 2 (>= 4 when ``overlap > 0``).
      overlap: a number in [0, 1], how mixed the classes are.
      dtype: float dtype of ``x`` (default float32, float64 under x64).

    Returns:
      ``(x, y)``: ``x`` of shape ``(n, 2)`` with ``x[:, 0]`` the weight in grams
      and ``x[:, 1]`` the sweetness on a 1–10 scale; ``y`` int32 labels of
      shape ``(n,)``, +1 apple and -1 orange.

    >>> import jax
    >>> x, y = fruit(jax.random.key(0), 6)
    >>> x.shape, sorted(y.tolist())
    ((6, 2), [-1, -1, -1, 1, 1, 1])
    >>> bool((x[y == 1, 0] > x[y == -1, 0].max()).all())   # apples are heavier
    True
    """
    check_key(key)
    n = check_positive_int(n, "n", minimum=2)
    if isinstance(overlap, bool) or not isinstance(overlap, numbers.Real) or not 0 <= overlap <= 1:
        raise ValueError(f"overlap must be a number in [0, 1]; got {overlap!r}")
    overlap = float(overlap)
    if overlap > 0 and n < 4:
        raise ValueError(f"n must be >= 4 when overlap > 0 (each class needs a genuine member); got n = {n}")
    dtype = jnp.dtype(dtype) if dtype is not None else float_dtype()
    if dtype not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise ValueError(f"dtype must be float32 or float64; got {dtype}")

    n_apples, n_oranges = (n + 1) // 2, n // 2
    k_a, k_o, k_ia, k_io, k_perm = jax.random.split(key, 5)
    apples = _uniform_box(k_a, n_apples, _APPLE_BOX, dtype)
    oranges = _uniform_box(k_o, n_oranges, _ORANGE_BOX, dtype)
    if overlap > 0:
        m_a = math.ceil(overlap * n_apples / 2)
        m_o = math.ceil(overlap * n_oranges / 2)
        genuine_apples, genuine_oranges = apples[m_a:], oranges[m_o:]
        apples = jnp.concatenate([_impostors(k_ia, genuine_oranges, m_a), genuine_apples])
        oranges = jnp.concatenate([_impostors(k_io, genuine_apples, m_o), genuine_oranges])
    x = jnp.concatenate([apples, oranges])
    y = jnp.concatenate([jnp.full((n_apples,), APPLE, jnp.int32), jnp.full((n_oranges,), ORANGE, jnp.int32)])
    perm = jax.random.permutation(k_perm, n)
    return x[perm], y[perm]
