r"""Fully connected Boltzmann machines and the Ackley–Hinton–Sejnowski learning rule.

Convention
----------
Units are binary, :math:`s_i \in \{0, 1\}`: the ``n_visible`` visible units
come first, then the ``n_hidden`` hidden ones, :math:`s = (v, h)`,
:math:`N = n_v + n_h`. With symmetric weights :math:`W` (zero diagonal),
visible bias :math:`a` and hidden bias :math:`b`,

.. math:: E(s) = -\tfrac12 \sum_{ij} W_{ij} s_i s_j - a \cdot v - b \cdot h,
          \qquad p(s) = e^{-E(s)} / Z,

at temperature 1. Biases (not thresholds) are the machine-learning
convention, so that :math:`p(s_i = 1 \mid s_{-i}) = \sigma(\sum_j W_{ij} s_j + c_i)`
with :math:`c = (a, b)`. In :func:`jaxstat.ising.from_neurons` terms the
thresholds are :math:`\theta = -c`, so the machine *is* the Ising model
:math:`J = W/4`, :math:`h_i = \tfrac14 \sum_j W_{ij} + \tfrac12 c_i` on spins
:math:`\sigma = 2s - 1`, with :math:`E(s) = E_{\rm Ising}(\sigma) + \text{const}`
and :math:`\log Z = \log Z_{\rm Ising} - \text{const}` (:func:`to_ising`).

Parameters are the NamedTuple :class:`BoltzmannMachine` ``(W, a, b)``,
named like the RBM's ``(W, a, b)``. Keeping the two biases apart puts
``n_visible = a.shape[0]`` in the array *shapes*, which are static under
``jit``/``vmap``/``grad``: no function needs ``n_visible`` as an argument,
and optax updates the tuple like any pytree.

Learning maximizes the average log-likelihood :math:`L = \langle \log p(v) \rangle_{\rm data}`,
whose gradient is the Ackley–Hinton–Sejnowski (1985) rule

.. math:: \partial L / \partial W_{ij} = \langle s_i s_j \rangle_{\rm data}
          - \langle s_i s_j \rangle_{\rm model}, \qquad
          \partial L / \partial c_i = \langle s_i \rangle_{\rm data} - \langle s_i \rangle_{\rm model},

where the data ("clamped") average draws :math:`h` from :math:`p(h \mid v)`
for each data vector. Since :math:`s_i^2 = s_i`, the diagonal of the
correlation matrix :math:`\langle s s^\top \rangle` holds the means.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat import ising
from jaxstat._validate import (
    as_float_array,
    check_binary,
    check_coupling_matrix,
    check_float_dtype,
    check_key,
    check_positive_int,
    float_dtype,
    is_concrete,
)

__all__ = [
    "MAX_EXACT_UNITS",
    "BoltzmannMachine",
    "ahs_gradient",
    "bm",
    "bm_energy",
    "bm_from_weights",
    "conditional",
    "to_ising",
    "unit_probs",
]

MAX_EXACT_UNITS = 20
"""Largest N = n_visible + n_hidden that the exact (enumerating) functions accept."""



class BoltzmannMachine(NamedTuple):
    """Parameters of a fully connected Boltzmann machine (a pytree of arrays).

    Attributes:
      W: weights over all units, visible first, ``(N, N)``, symmetric, zero diagonal.
      a: visible bias, ``(n_visible,)``.
      b: hidden bias, ``(n_hidden,)`` (``(0,)`` for a fully visible machine).
    """

    W: jax.Array
    a: jax.Array
    b: jax.Array

    @property
    def n_visible(self) -> int:
        return self.a.shape[-1]

    @property
    def n_hidden(self) -> int:
        return self.b.shape[-1]

    @property
    def n_units(self) -> int:
        return self.W.shape[-1]

    @property
    def bias(self) -> jax.Array:
        """All biases ``c = (a, b)``, shape ``(N,)``."""
        return jnp.concatenate([self.a, self.b], axis=-1)


# --------------------------------------------------------------------------- #
# construction and validation
# --------------------------------------------------------------------------- #
def bm_from_weights(W, a, b=None, dtype=None) -> BoltzmannMachine:
    """A validated :class:`BoltzmannMachine` from arrays (``b=None``: no hidden units).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.boltzmann.machine import bm_from_weights
      >>> m = bm_from_weights(jnp.array([[0., 1.], [1., 0.]]), jnp.zeros(1), jnp.zeros(1))
      >>> m.n_visible, m.n_hidden
      (1, 1)
    """
    W = as_float_array(W, "W", dtype)
    a = as_float_array(a, "a (visible bias)", W.dtype)
    b = as_float_array(jnp.zeros(0) if b is None else b, "b (hidden bias)", W.dtype)
    return check_params(BoltzmannMachine(W, a, b))


def check_params(params, name: str = "params") -> BoltzmannMachine:
    """Shapes always; symmetry, zero diagonal and finiteness when concrete."""
    if not isinstance(params, BoltzmannMachine):
        raise ValueError(f"{name} must be a BoltzmannMachine (from bm or bm_from_weights); got {type(params).__name__}")
    W, a, b = params
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"{name}.W must be a square (N, N) weight matrix; got shape {tuple(W.shape)}")
    if a.ndim != 1 or b.ndim != 1 or a.shape[0] + b.shape[0] != W.shape[0] or a.shape[0] < 1:
        raise ValueError(
            f"{name}.a and {name}.b must be vectors (n_visible >= 1,) and (n_hidden,) with "
            f"n_visible + n_hidden = N = {W.shape[0]}; got shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if is_concrete(W):
        check_coupling_matrix(W, "weights W")
    for arr, what in ((a, "a"), (b, "b")):
        if is_concrete(arr) and not np.all(np.isfinite(np.asarray(arr))):
            raise ValueError(f"bias {name}.{what} must be finite; got NaN or inf entries")
    return params


def check_units(x, params: BoltzmannMachine, n: int, name: str, min_ndim: int = 1):
    """Binary units with trailing size ``n``, cast to the machine's dtype."""
    x = as_float_array(x, name).astype(params.W.dtype)
    if x.ndim < min_ndim or x.shape[-1] != n:
        want = f"({n},) with optional leading batch axes" if min_ndim == 1 else f"(n_samples, {n})"
        raise ValueError(f"{name} must have shape {want}; got shape {tuple(x.shape)}")
    return check_binary(x, name, "only 0 and 1 (binary units)")


def check_data(params, data):
    data = check_units(data, params, params.n_visible, "data", min_ndim=2)
    if data.ndim != 2 or data.shape[0] < 1:
        raise ValueError(f"data must have shape (n_samples >= 1, {params.n_visible}); got shape {tuple(data.shape)}")
    return data


def check_exact_size(params, what):
    if params.n_units > MAX_EXACT_UNITS:
        raise ValueError(
            f"{what} enumerates all 2**N states; this machine has N = {params.n_units} units, more than "
            f"MAX_EXACT_UNITS = {MAX_EXACT_UNITS}. Use sampled_statistics / learn(method='sampled') instead."
        )


def bm(key, n_visible: int, n_hidden: int, scale=0.01, dtype=None) -> BoltzmannMachine:
    r"""A random Boltzmann machine: :math:`W_{ij} = W_{ji} \sim N(0, \text{scale}^2)`, zero biases.

    Example:
      >>> import jax
      >>> from jaxstat.boltzmann.machine import bm
      >>> m = bm(jax.random.key(0), 3, 2)
      >>> m.W.shape, m.a.shape, m.b.shape, bool((m.W == m.W.T).all())
      ((5, 5), (3,), (2,), True)
    """
    check_key(key)
    n_visible = check_positive_int(n_visible, "n_visible", minimum=1)
    n_hidden = check_positive_int(n_hidden, "n_hidden", minimum=0)
    if isinstance(scale, bool) or np.ndim(scale) != 0 or not math.isfinite(float(scale)) or float(scale) < 0:
        raise ValueError(f"scale must be a finite number >= 0 (the weights' standard deviation); got {scale!r}")
    dt = check_float_dtype(dtype or float_dtype())
    n = n_visible + n_hidden
    upper = jnp.triu(jax.random.normal(key, (n, n), dt) * scale, k=1)
    return BoltzmannMachine(upper + upper.T, jnp.zeros(n_visible, dt), jnp.zeros(n_hidden, dt))


# --------------------------------------------------------------------------- #
# energy, conditionals, Ising form
# --------------------------------------------------------------------------- #
def bm_energy(params: BoltzmannMachine, s):
    r"""Energy :math:`E(s) = -\tfrac12 s^\top W s - c \cdot s`, ``s`` of shape ``(..., N)`` in {0, 1}.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.boltzmann.machine import bm_energy, bm_from_weights
      >>> m = bm_from_weights(jnp.array([[0., 2.], [2., 0.]]), jnp.array([1.]), jnp.array([-1.]))
      >>> float(bm_energy(m, jnp.array([1., 1.])))  # -2 - 1 + 1
      -2.0
    """
    check_params(params)
    s = check_units(s, params, params.n_units, "s")
    return _energy(params, s)


def _energy(params, s):
    return -0.5 * jnp.sum(s * (s @ params.W.T), axis=-1) - s @ params.bias


def unit_probs(params: BoltzmannMachine, s):
    r""":math:`p(s_i = 1 \mid s_{-i}) = \sigma(\sum_j W_{ij} s_j + c_i)` for every unit, shape of ``s``.

    ``s_i`` itself does not enter (zero diagonal): entry ``i`` is the
    heat-bath probability a Gibbs update of unit ``i`` uses.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.boltzmann.machine import unit_probs, bm_from_weights
      >>> m = bm_from_weights(jnp.array([[0., 2.], [2., 0.]]), jnp.zeros(1), jnp.zeros(1))
      >>> [round(p, 6) for p in unit_probs(m, jnp.array([0., 1.])).tolist()]  # sigmoid(2), sigmoid(0)
      [0.880797, 0.5]
    """
    check_params(params)
    s = check_units(s, params, params.n_units, "s")
    return jax.nn.sigmoid(s @ params.W.T + params.bias)


def conditional(params: BoltzmannMachine, s, i):
    r""":math:`p(s_i = 1 \mid s_{-i})` for one unit ``i`` (an int in ``[0, N)``); shape ``s.shape[:-1]``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.boltzmann.machine import conditional, bm_from_weights
      >>> m = bm_from_weights(jnp.array([[0., 2.], [2., 0.]]), jnp.zeros(1), jnp.zeros(1))
      >>> round(float(conditional(m, jnp.array([0., 1.]), 0)), 6)
      0.880797
    """
    check_params(params)
    n = params.n_units
    if is_concrete(i):
        if isinstance(i, bool) or np.ndim(i) != 0 or not float(i).is_integer() or not 0 <= int(i) < n:
            raise ValueError(f"i must be an integer unit index in [0, N) = [0, {n}); got {i!r}")
        i = int(i)
    s = check_units(s, params, n, "s")
    return jax.nn.sigmoid(s @ params.W[i] + params.bias[i])


def to_ising(params: BoltzmannMachine):
    r"""The machine as a :func:`jaxstat.ising.dense` model, exactly: ``(model, const)``.

    Via :func:`jaxstat.ising.from_neurons` with thresholds :math:`\theta = -c`:
    ``bm_energy(params, s) == ising.energy(model, 2 s - 1) + const``, so
    ``p_BM(s) = p_Ising(2 s - 1)`` at ``beta = 1`` and
    :math:`\log Z_{BM} = \log Z_{\rm Ising} - \text{const}`. Glauber dynamics at
    ``beta = 1`` on the model is Gibbs sampling of the machine.

    Example:
      >>> import jax, jax.numpy as jnp, jaxstat as js
      >>> from jaxstat.boltzmann.machine import bm, bm_energy, to_ising
      >>> m = bm(jax.random.key(0), 2, 1, scale=1.0)
      >>> model, c = to_ising(m)
      >>> s = jnp.array([1., 0., 1.])
      >>> bool(jnp.allclose(js.ising.energy(model, 2 * s - 1) + c, bm_energy(m, s)))
      True
    """
    check_params(params)
    return ising.from_neurons(params.W, -params.bias)


def ahs_gradient(data_correlation, model_correlation, n_visible: int) -> BoltzmannMachine:
    r"""The Ackley–Hinton–Sejnowski rule as a :class:`BoltzmannMachine` of gradients.

    :math:`\Delta W = \langle ss^\top\rangle_{\rm data} - \langle ss^\top\rangle_{\rm model}`
    (symmetrized, zero diagonal), :math:`\Delta c` its diagonal: the gradient
    of the average log-likelihood with respect to tied :math:`W_{ij} = W_{ji}`
    and the biases. ``W + lr * dW`` stays exactly symmetric.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.boltzmann.machine import ahs_gradient
      >>> g = ahs_gradient(jnp.array([[1., 1.], [1., 1.]]), jnp.full((2, 2), 0.25), 1)
      >>> g.W.tolist(), g.a.tolist(), g.b.tolist()
      ([[0.0, 0.75], [0.75, 0.0]], [0.75], [0.75])
    """
    data_c = as_float_array(data_correlation, "data_correlation")
    model_c = as_float_array(model_correlation, "model_correlation", data_c.dtype)
    if data_c.ndim != 2 or data_c.shape[0] != data_c.shape[1]:
        raise ValueError(f"data_correlation must be a square (N, N) matrix; got shape {tuple(data_c.shape)}")
    if model_c.shape != data_c.shape:
        raise ValueError(f"model_correlation must have the shape of data_correlation {tuple(data_c.shape)}; "
                         f"got shape {tuple(model_c.shape)}")
    n_visible = check_positive_int(n_visible, "n_visible")
    if n_visible > data_c.shape[0]:
        raise ValueError(f"n_visible must be <= N = {data_c.shape[0]}; got {n_visible}")
    for x, name in ((data_c, "data_correlation"), (model_c, "model_correlation")):
        if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
            raise ValueError(f"{name} must be finite; got NaN or inf entries")
    g = data_c - model_c
    g = 0.5 * (g + g.T)  # exactly symmetric, whatever rounding the two estimates carry
    diag = jnp.diagonal(g)
    return BoltzmannMachine(g - jnp.diag(diag), diag[:n_visible], diag[n_visible:])
