r"""Restricted Boltzmann machines: parameters, validation, energies and conditionals.

An RBM couples visible units ``v`` (shape ``(n_visible,)``) to hidden units
``h ∈ {0,1}^{n_hidden}`` through weights ``W`` (shape ``(n_visible,
n_hidden)``), with visible bias ``a`` and hidden bias ``b``. jaxstat has two
kinds, told apart by ``params.sigma``:

- **Bernoulli–Bernoulli** (``sigma is None``), ``v ∈ {0,1}^{n_visible}``:

  .. math:: E(v, h) = -v \cdot a - h \cdot b - v^\top W h .

- **Gaussian–Bernoulli** (``sigma`` an array of per-visible widths),
  ``v ∈ R^{n_visible}``, in the standard form of Cho, Raiko & Ilin (2011)
  and Hinton's practical guide:

  .. math:: E(v, h) = \sum_i \frac{(v_i - a_i)^2}{2\sigma_i^2} - h \cdot b
            - (v / \sigma)^\top W h ,

  so that ``p(v_i | h) = N(a_i + σ_i (W h)_i, σ_i^2)`` and
  ``p(h_j = 1 | v) = sigmoid(b_j + ((v/σ)^T W)_j)``.

Why ``sigma=None`` rather than two classes: one NamedTuple keeps one name
for code that builds or updates parameters (``params._replace(W=...)``),
and ``None`` is an empty pytree, so the kind lives in the pytree
*structure*: it is static under ``jit``/``vmap``/``grad`` (the two kinds
compile separately), while ``sigma`` itself, when present, is a traced
array like ``W``.

Every function here acts on one configuration or on a batch: leading axes
of ``v`` / ``h`` are batch axes. Functions that score configurations
(:func:`energy`, :func:`free_energy`, the likelihoods) require binary
units, ``{0, 1}``; the conditionals and samplers (:func:`hidden_probs`,
:func:`visible_probs`, :func:`sample_hidden`, ...) also accept values in
``[0, 1]``, the mean-field probabilities used for reconstructions. The functions are pure and work under
``jit``/``vmap``; inside them, arguments are tracers and only shapes are
validated (values — finiteness, ``v ∈ {0,1}`` — are checked on concrete
inputs, and traced Bernoulli units outside {0, 1}, or [0, 1] where
probabilities are allowed, become NaN, so no result built on them looks
plausible). Sampling is in :mod:`~jaxstat.boltzmann.sampling` and
:mod:`~jaxstat.boltzmann.gibbs`; the formulas all of them share are in the
internal :mod:`jaxstat.boltzmann._core`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    as_float_array,
    check_binary,
    check_finite,
    check_float_dtype,
    check_key,
    check_positive_int,
    float_dtype,
    is_concrete,
)
from jaxstat.boltzmann import _core

__all__ = [
    "RBM",
    "base_rate_bias",
    "energy",
    "free_energy",
    "hidden_probs",
    "rbm",
    "visible_mean",
    "visible_probs",
]

KINDS = ("bernoulli", "gaussian")


class RBM(NamedTuple):
    """Parameters of a restricted Boltzmann machine (a pytree of arrays).

    Attributes:
      W: weights, ``(n_visible, n_hidden)``.
      a: visible bias, ``(n_visible,)``.
      b: hidden bias, ``(n_hidden,)``.
      sigma: ``None`` for a Bernoulli–Bernoulli RBM; per-visible standard
        deviations ``(n_visible,)`` (> 0) for a Gaussian–Bernoulli RBM.
    """

    W: jax.Array
    a: jax.Array
    b: jax.Array
    sigma: jax.Array | None = None

    @property
    def kind(self) -> str:
        """``"bernoulli"`` or ``"gaussian"`` (static: it is the pytree structure)."""
        return "bernoulli" if self.sigma is None else "gaussian"

    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
def check_params(params, name: str = "params") -> RBM:
    """Validate an :class:`RBM`: shapes always, finiteness (and sigma > 0) when concrete."""
    if not isinstance(params, RBM):
        raise ValueError(f"{name} must be an RBM from jaxstat.boltzmann.rbm(...); got {type(params).__name__}")
    W = as_float_array(params.W, f"{name}.W")
    if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(
            f"{name}.W must have shape (n_visible, n_hidden) with both >= 1; got shape {tuple(W.shape)}"
        )
    n_v, n_h = W.shape
    dtype = W.dtype
    fields = {"a": (n_v,), "b": (n_h,)}
    if params.sigma is not None:
        fields["sigma"] = (n_v,)
    out = {"W": W}
    for field, shape in fields.items():
        x = as_float_array(getattr(params, field), f"{name}.{field}")
        if tuple(x.shape) != shape:
            raise ValueError(
                f"{name}.{field} must have shape {shape} to match W of shape {(n_v, n_h)}; got shape {tuple(x.shape)}"
            )
        out[field] = x.astype(dtype)
    for field, x in out.items():
        # NumPy, not jnp: under a jit trace jnp ops on captured constants return tracers
        if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
            raise ValueError(f"{name}.{field} must be finite; got NaN or inf entries")
    if "sigma" in out and is_concrete(out["sigma"]) and not np.all(np.asarray(out["sigma"]) > 0):
        raise ValueError(f"{name}.sigma must be > 0 (visible standard deviations); got min {float(out['sigma'].min())}")
    return RBM(**out)


def check_visible(params: RBM, v, name: str = "v", mean_field: bool = False):
    """Visible data ``(..., n_visible)`` in ``params``' dtype.

    Bernoulli units: in {0, 1}, or in [0, 1] when ``mean_field`` (probabilities).
    """
    v = as_float_array(v, name).astype(params.W.dtype)
    n_v = params.W.shape[0]
    if v.ndim < 1 or v.shape[-1] != n_v:
        raise ValueError(
            f"{name} must have shape (..., n_visible) with n_visible = {n_v}; got shape {tuple(v.shape)}"
        )
    if params.sigma is not None:  # Gaussian visible units: any finite value
        return check_finite(v, name)
    expected = ("values in [0, 1] for Bernoulli visible units (binary data or probabilities)" if mean_field
                else "only 0 and 1 for Bernoulli visible units (binarize the data first)")
    return check_binary(v, name, expected, mean_field=mean_field)


def check_hidden(params: RBM, h, name: str = "h", mean_field: bool = False):
    """Hidden states ``(..., n_hidden)`` in {0, 1} (in [0, 1] if ``mean_field``), in ``params``' dtype."""
    h = as_float_array(h, name).astype(params.W.dtype)
    n_h = params.W.shape[1]
    if h.ndim < 1 or h.shape[-1] != n_h:
        raise ValueError(f"{name} must have shape (..., n_hidden) with n_hidden = {n_h}; got shape {tuple(h.shape)}")
    expected = ("values in [0, 1] (binary states or mean-field probabilities)" if mean_field
                else "only 0 and 1 (binary hidden units)")
    return check_binary(h, name, expected, mean_field=mean_field)


# --------------------------------------------------------------------------- #
# construction
# --------------------------------------------------------------------------- #
def base_rate_bias(data, eps: float = 1e-3) -> jax.Array:
    r"""Visible biases of the "base-rate" model: ``a_i = log(p_i / (1 - p_i))``.

    ``p_i`` is the mean of visible unit ``i`` over the data, clipped to
    ``[eps, 1 - eps]`` so that pixels that are always off (or on) get a large
    finite bias rather than ``∓inf``. An RBM with these visible biases and
    zero weights reproduces the data's marginals exactly; it is the
    initialisation recommended by Hinton's practical guide and the base
    model of :func:`~jaxstat.boltzmann.ais_log_z`.

    Args:
      data: binary data ``(n_samples, n_visible)``.
      eps: clipping of the marginals, in (0, 0.5).

    >>> import jax.numpy as jnp
    >>> np.asarray(base_rate_bias(jnp.array([[1, 0], [1, 1], [0, 0], [1, 0]])), float).round(3).tolist()
    [1.099, -1.099]
    """
    x = as_float_array(data, "data")
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"data must have shape (n_samples, n_visible), both >= 1; got shape {tuple(x.shape)}")
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5); got {eps!r}")
    if is_concrete(x):
        values = np.asarray(x)
        if not np.all((values == 0) | (values == 1)):
            raise ValueError("data must contain only 0 and 1 (binarize it first); got other values")
    p = jnp.clip(x.mean(0), eps, 1 - eps)
    return jnp.log(p) - jnp.log1p(-p)


def rbm(key, n_visible, n_hidden, kind="bernoulli", scale=0.01, visible_bias=None, dtype=None, sigma=None) -> RBM:
    """A freshly initialised RBM: ``W ~ N(0, scale^2)``, zero hidden bias.

    Args:
      key: PRNG key for the weights.
      n_visible: number of visible units (>= 1).
      n_hidden: number of hidden units (>= 1).
      kind: ``"bernoulli"`` (binary visible units) or ``"gaussian"``
        (real visible units, Gaussian–Bernoulli).
      scale: standard deviation of the initial weights (Hinton's guide: 0.01).
      visible_bias: ``(n_visible,)`` initial visible bias, default zeros;
        for binary data pass ``base_rate_bias(data)``.
      dtype: float32 or float64 (default: float64 under ``jax_enable_x64``).
      sigma: Gaussian only: visible standard deviations, a scalar or
        ``(n_visible,)``; default ones (standardise the data first).

    >>> import jax
    >>> p = rbm(jax.random.key(0), 6, 3)
    >>> p.W.shape, p.a.shape, p.b.shape, p.kind
    ((6, 3), (6,), (3,), 'bernoulli')
    >>> rbm(jax.random.key(0), 6, 3, kind="gaussian").sigma.tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    key = check_key(key)
    n_visible = check_positive_int(n_visible, "n_visible")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    dtype = check_float_dtype(float_dtype() if dtype is None else dtype)
    if not (np.ndim(scale) == 0 and np.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale must be a finite number >= 0; got {scale!r}")
    W = scale * jax.random.normal(key, (n_visible, n_hidden), dtype)
    a = jnp.zeros((n_visible,), dtype) if visible_bias is None else as_float_array(visible_bias, "visible_bias", dtype)
    b = jnp.zeros((n_hidden,), dtype)
    if kind == "gaussian":
        sig = jnp.ones((n_visible,), dtype) if sigma is None else as_float_array(sigma, "sigma", dtype)
        if sig.ndim == 0:
            sig = jnp.broadcast_to(sig, (n_visible,))
    elif sigma is not None:
        raise ValueError("sigma is only for kind='gaussian'; got a sigma with kind='bernoulli'")
    else:
        sig = None
    return check_params(RBM(W, a, b, sig), "rbm")


# --------------------------------------------------------------------------- #
# energies
# --------------------------------------------------------------------------- #
def energy(params: RBM, v, h) -> jax.Array:
    """Energy ``E(v, h)`` (see the module docstring for both kinds); batched over leading axes.

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.array([[1.0]]), a=jnp.array([0.5]), b=jnp.array([-2.0]))
    >>> float(energy(p, jnp.array([1.0]), jnp.array([1.0])))   # -0.5 + 2 - 1
    0.5
    """
    params = check_params(params)
    v, h = check_visible(params, v), check_hidden(params, h)
    return _core.joint_energy(params, v, h)


def free_energy(params: RBM, v) -> jax.Array:
    r"""Free energy of the visible units, the hidden units summed out: ``p(v) ∝ exp(-F(v))``.

    .. math:: F(v) = -\log \sum_h e^{-E(v, h)}
              = -v \cdot a - \sum_j \operatorname{softplus}(b_j + (v^\top W)_j)

    for Bernoulli visible units, with ``-v.a`` replaced by ``Σ (v-a)²/2σ²``
    and ``v`` by ``v/σ`` for Gaussian ones. ``softplus(x) = log(1 + e^x)``
    is evaluated stably, so large inputs neither overflow nor lose digits.

    Args:
      params: an :class:`RBM`.
      v: visible states ``(..., n_visible)``.

    Returns:
      ``(...)`` free energies.

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.zeros((2, 1)), a=jnp.array([1.0, 0.0]), b=jnp.zeros(1))
    >>> np.asarray(free_energy(p, jnp.array([[0, 0], [1, 0]])), float).round(4).tolist()   # -log 2, -1 - log 2
    [-0.6931, -1.6931]
    """
    params = check_params(params)
    return _core.free_energy(params, check_visible(params, v))


# --------------------------------------------------------------------------- #
# conditionals
# --------------------------------------------------------------------------- #
def hidden_probs(params: RBM, v) -> jax.Array:
    """``p(h_j = 1 | v) = sigmoid(b_j + ((v/σ)^T W)_j)``, shape ``(..., n_hidden)``.

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.array([[2.0]]), a=jnp.zeros(1), b=jnp.array([-2.0]))
    >>> np.asarray(hidden_probs(p, jnp.array([[0.0], [1.0]])), float).round(3).tolist()
    [[0.119], [0.5]]
    """
    params = check_params(params)
    return _core.hidden_probs(params, check_visible(params, v, mean_field=True))


def visible_probs(params: RBM, h) -> jax.Array:
    """Bernoulli units: ``p(v_i = 1 | h) = sigmoid(a_i + (W h)_i)``, shape ``(..., n_visible)``.

    For a Gaussian–Bernoulli RBM this is the conditional mean, as
    :func:`visible_mean`.

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.array([[2.0]]), a=jnp.array([-1.0]), b=jnp.zeros(1))
    >>> np.asarray(visible_probs(p, jnp.array([[0.0], [1.0]])), float).round(3).tolist()
    [[0.269], [0.731]]
    """
    params = check_params(params)
    return _core.visible_mean(params, check_hidden(params, h, mean_field=True))


def visible_mean(params: RBM, h) -> jax.Array:
    """``E[v | h]``: ``a + σ (W h)`` (Gaussian units) or ``p(v = 1 | h)`` (Bernoulli units).

    >>> import jax.numpy as jnp
    >>> p = RBM(W=jnp.array([[2.0]]), a=jnp.array([1.0]), b=jnp.zeros(1), sigma=jnp.array([0.5]))
    >>> visible_mean(p, jnp.array([1.0])).tolist()
    [2.0]
    """
    return visible_probs(params, h)
