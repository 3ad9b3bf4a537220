r"""Dense ("modern") associative memories: polynomial, exponential and softmax.

**Binary dense memory** (Krotov & Hopfield 2016; Demircigil et al. 2017).
Patterns :math:`\xi` ``(P, N)`` of ±1, a state :math:`s \in \{\pm1\}^N`,
overlaps :math:`u_\mu = \xi_\mu \cdot s` and

.. math::  E(s) = -\sum_\mu F(u_\mu), \qquad
           F(x) = \frac{x^n}{n N^{n-1}} \ (\text{polynomial}) \quad\text{or}\quad
           F(x) = \frac{e^{\lambda x}}{\lambda} \ (\text{exponential}).

Degree ``n = 2`` is Hebb's network (:math:`E = E_\text{Hebb} - P/2`); degree
n stores about :math:`N^{n-1} / (2 (2n-3)!! \ln N)` patterns, the exponential
kind a number exponential in N. :func:`dense_capacity` compares them, and
the continuous softmax memory of :mod:`jaxstat.hopfield.softmax`, with the
classical network at equal N.

**Sharpness, not temperature.** The :math:`\lambda` of the exponential
separation function (``sharpness``; Demircigil et al. and Ramsauer et al.
write it :math:`\beta`) sets how sharply the memory singles out the closest
pattern. It is not the inverse temperature of a Boltzmann distribution: the
dynamics here is the zero-temperature quench of the energy :math:`E`. In
jaxstat ``beta`` means only an inverse temperature, so this parameter is
``sharpness``, the same name and idea as in :mod:`jaxstat.hopfield.softmax`.
Under ``jit``/``vmap`` a traced sharpness that is not finite and > 0 gives NaN.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._validate import (
    check_float_dtype,
    check_key,
    check_positive_int,
    check_sizes,
    float_dtype,
)
from jaxstat.hopfield._attention import softmax_update_masked
from jaxstat.hopfield._checks import (
    check_fraction,
    check_patterns,
    check_sharpness,
    check_states,
    check_threshold,
    nan_unless_sharp,
    pattern_counts,
)
from jaxstat.hopfield._driver import RetrievalResult
from jaxstat.hopfield._trials import over_sizes_loads_trials, probe, random_patterns
from jaxstat.hopfield.capacity import CapacityResult

__all__ = ["dense_capacity", "dense_energy", "dense_retrieve"]

KINDS = ("polynomial", "exponential")


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
def _check_kind(kind, kinds=KINDS):
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}; got {kind!r}")


def _check_degree(degree, n, p, dtype):
    degree = check_positive_int(degree, "degree", minimum=2)
    # Fields are sums of P integers up to N^n (see _field): they must fit the dtype.
    if degree * math.log(n) + math.log(p) >= math.log(float(jnp.finfo(dtype).max)):
        raise ValueError(
            f"degree must keep the fields P N^degree below the largest {jnp.dtype(dtype).name}; got degree "
            f"{degree} with N = {n}, P = {p} (lower the degree, or enable float64 with jax_enable_x64)"
        )
    return degree


def _binary_args(patterns, states, name, kind, degree, sharpness):
    xi = check_patterns(patterns)
    p, n = xi.shape
    s = check_states(states, n, name, f"patterns of shape {tuple(xi.shape)}").astype(xi.dtype)
    _check_kind(kind)
    degree = _check_degree(degree, n, p, xi.dtype) if kind == "polynomial" else None
    return xi, s, degree, jnp.asarray(check_sharpness(sharpness), xi.dtype)


# --------------------------------------------------------------------------- #
# binary dense memory: energy and single-site field
# --------------------------------------------------------------------------- #
def _energy(u, mask, n, kind, degree, sharpness):
    """Energy from the overlaps u = xi s (P,); masked rows (mask False) contribute nothing."""
    if kind == "polynomial":
        # (u/N)^n N / n = u^n / (n N^(n-1)), with |u/N| <= 1: no overflow at any degree
        return -(n / degree) * jnp.sum((u / n) ** degree, axis=-1)
    return -jax.nn.logsumexp(jnp.where(mask, sharpness * u, -jnp.inf), axis=-1) / sharpness


def _field(r, x, mask, kind, degree, sharpness):
    r"""A number with the sign of E(s_i = -1) - E(s_i = +1) (> 0: +1 is lower).

    r = u - x s_i are the overlaps without site i, x = xi[:, i] = ±1 (0 if
    masked), u^\pm = r \pm x. Summed over mu:

      F(u^+) - F(u^-) = 2 x g(r) / (n N^(n-1)),  g(r) = sum_{k odd} C(n, k) r^(n-k)   (polynomial)
                      = 2 sinh(lam) x exp(lam r) / lam                                (exponential)

    g is an integer polynomial, so the polynomial field is an exact integer
    (ties are exact) while below 2^24 in float32 (2^53 in float64). The
    exponential one (lam = sharpness) has the sign of lse(lam u^+) - lse(lam u^-),
    from a single sum shifted by max(lam r) (no overflow, and no difference of
    two nearly equal logs when lam is small).
    """
    if kind == "polynomial":
        g = sum(math.comb(degree, k) * r ** (degree - k) for k in range(1, degree + 1, 2))
        return x @ g
    z = jnp.where(mask, sharpness * r, -jnp.inf)
    return x @ jnp.exp(z - jnp.max(z))


def _sweep(key, s, u, xt, mask, *, kind, degree, sharpness):
    """One zero-temperature sweep over a random permutation of the sites, O(P) per site."""

    def visit(carry, i):
        s, u, changed = carry
        x = xt[i]
        h = _field(u - x * s[i], x, mask, kind, degree, sharpness)
        new = jnp.where(h > 0, 1, jnp.where(h < 0, -1, s[i])).astype(s.dtype)  # exact tie: keep s_i
        return (s.at[i].set(new), u + x * (new - s[i]), changed | (new != s[i])), None

    order = jax.random.permutation(key, s.shape[0])
    (s, u, changed), _ = jax.lax.scan(visit, (s, u, jnp.bool_(False)), order)
    return s, u, changed


def dense_energy(patterns, states, kind: str = "polynomial", degree: int = 3, sharpness=1.0):
    r"""Energy :math:`E(s) = -\sum_\mu F(\xi_\mu \cdot s)` of the binary dense associative memory.

    * ``kind="polynomial"``: :math:`F(x) = x^n / (n N^{n-1})`, ``n = degree``.
      At ``degree=2`` this is Hebb's network shifted by a constant,
      :math:`E = -\tfrac12 s^T W s - P/2` with ``W = hebbian(patterns)``.
      An odd degree makes F odd: :math:`-\xi_\mu` is then not stored.
    * ``kind="exponential"``: :math:`F(x) = e^{\lambda x} / \lambda`. **Returned in
      log form**, :math:`E_\text{lse}(s) = -\tfrac1\lambda \log \sum_\mu e^{\lambda u_\mu}
      = -\tfrac1\lambda \log(-\lambda E(s))` (a logsumexp): :math:`E` itself
      overflows float32 once :math:`\lambda N > 88`, while :math:`E_\text{lse}` is a
      strictly increasing function of it, with the same minima and order of
      states (recover :math:`E = -e^{-\lambda E_\text{lse}} / \lambda` where it fits).

    Args:
      patterns: ``(P, N)`` array of ±1.
      states: ``(..., N)`` array of ±1, any leading batch axes.
      kind: ``"polynomial"`` or ``"exponential"``.
      degree: the polynomial degree n >= 2 (polynomial kind only).
      sharpness: finite sharpness :math:`\lambda > 0` of the exponential kind (may be
        traced; not a temperature, see the module docstring).

    Returns:
      ``(...)`` energies in the patterns' float dtype.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxstat.hopfield import dense_energy
      >>> xi = jnp.array([[1., 1., 1., 1.], [1., -1., 1., -1.]])
      >>> round(float(dense_energy(xi, xi[0], degree=3)), 5)   # -(4^3 + 0^3) / (3 * 4^2)
      -1.33333
      >>> round(float(dense_energy(xi, xi[0], kind="exponential")), 5)   # -log(e^4 + e^0)
      -4.01815
    """
    xi, s, degree, sharpness = _binary_args(patterns, states, "states", kind, degree, sharpness)
    e = _energy(s @ xi.T, jnp.ones(xi.shape[:1], bool), xi.shape[1], kind, degree, sharpness)
    return e if kind == "polynomial" else nan_unless_sharp(e, sharpness)


def dense_retrieve(key, patterns, probe, n_sweeps: int = 10, kind: str = "polynomial", degree: int = 3,
                   sharpness=1.0) -> RetrievalResult:
    r"""Zero-temperature asynchronous dynamics of the binary dense memory.

    Each sweep visits every site once, in a fresh random permutation, and
    sets :math:`s_i` to the sign with the lower :func:`dense_energy` (an
    exact tie keeps :math:`s_i`), the update rule of Krotov and Hopfield:

    .. math::  s_i \leftarrow \mathrm{sign} \sum_\mu \big[F(r_\mu + \xi_{\mu i}) - F(r_\mu - \xi_{\mu i})\big],
               \qquad r_\mu = \xi_\mu \cdot s - \xi_{\mu i} s_i .

    The overlaps :math:`u = \xi s` are kept up to date, so a site costs O(P)
    and a sweep O(N P). The energy never increases, and a sweep that changes
    nothing proves a fixed point (every site was visited). The exponential
    kind compares :math:`\mathrm{lse}(\lambda u^+)` with :math:`\mathrm{lse}(\lambda u^-)`
    without overflow. ``sharpness`` is traced; ``kind``, ``degree`` and
    ``n_sweeps`` are static.

    Args:
      key: a PRNG key.
      patterns: ``(P, N)`` array of ±1.
      probe: ``(..., N)`` initial states of ±1; each batch element gets its own key.
      n_sweeps: number of sweeps (>= 1).
      kind: as in :func:`dense_energy`.
      degree: as in :func:`dense_energy`.
      sharpness: as in :func:`dense_energy`.

    Returns:
      A :class:`jaxstat.hopfield.RetrievalResult`: ``states`` shaped like the
      probe, ``energies`` ``(..., n_sweeps + 1)`` (:func:`dense_energy`, log
      form for the exponential kind), ``overlaps`` ``(..., n_sweeps + 1, P)``
      (:math:`u / N`), ``converged`` (the last sweep changed nothing) and
      ``cycle2`` (always False: asynchronous dynamics with an energy cannot cycle).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxstat import hopfield
      >>> from jaxstat.hopfield import dense_retrieve
      >>> xi = jax.random.rademacher(jax.random.key(0), (300, 100), dtype=jnp.float32)  # alpha = 3
      >>> probe = hopfield.corrupt(jax.random.key(1), xi[0], 0.2)
      >>> r = dense_retrieve(jax.random.key(2), xi, probe, n_sweeps=4, degree=4)
      >>> round(float(r.overlaps[0, 0]), 3), float(r.overlaps[-1, 0]), bool(r.converged)
      (0.6, 1.0, True)
    """
    check_key(key)
    xi, s0, degree, sharpness = _binary_args(patterns, probe, "probe", kind, degree, sharpness)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    batch, flat = s0.shape[:-1], s0.reshape((-1, xi.shape[1]))
    out = _dense_retrieve_batch(jax.random.split(key, flat.shape[0]), xi, flat, sharpness, kind=kind, degree=degree,
                                n_sweeps=n_sweeps)
    return jax.tree_util.tree_map(lambda a: a.reshape(batch + a.shape[1:]), out)


@functools.partial(jax.jit, static_argnames=("kind", "degree", "n_sweeps"))
def _dense_retrieve_batch(keys, xi, probes, sharpness, *, kind, degree, n_sweeps):
    p, n = xi.shape
    xt, mask = xi.T, jnp.ones((p,), bool)   # (N, P): a site reads the contiguous row xi[:, i]

    def one(key, s0):
        def body(carry, k):
            s, u, changed = _sweep(k, *carry, xt, mask, kind=kind, degree=degree, sharpness=sharpness)
            u = xi @ s   # recomputed each sweep, not accumulated
            return (s, u), (_energy(u, mask, n, kind, degree, sharpness), u / n, changed)

        u0 = xi @ s0
        (s, _), (e, m, changed) = jax.lax.scan(body, (s0, u0), jax.random.split(key, n_sweeps))
        energies = jnp.concatenate([_energy(u0, mask, n, kind, degree, sharpness)[None], e])
        overlaps = jnp.concatenate([(u0 / n)[None], m])
        # Traced invalid input cannot raise: NaN probes (0/1 states) and, for the exponential
        # kind, a sharpness that is not finite and > 0 give NaN everywhere, never a plausible state.
        valid = jnp.all(jnp.isfinite(s0))
        if kind == "exponential":
            valid = valid & (sharpness > 0) & jnp.isfinite(sharpness)
        s, energies, overlaps = (jnp.where(valid, a, jnp.nan) for a in (s, energies, overlaps))
        return RetrievalResult(s, energies, overlaps, ~changed[-1] & valid, jnp.bool_(False))

    return jax.vmap(one)(keys, probes)


# --------------------------------------------------------------------------- #
# capacity experiments
# --------------------------------------------------------------------------- #
def dense_capacity(key, n, alphas, n_trials: int = 50, *, kind: str = "polynomial", degree: int = 3, sharpness=1.0,
                   flip_fraction: float = 0.0, n_sweeps: int = 10, threshold: float = 0.95,
                   dtype=None) -> CapacityResult:
    r"""Retrieval against the load :math:`\alpha = P/N` for the dense memories, in one compiled call.

    Each trial draws ``P = max(1, round(alpha N))`` random ±1 patterns, starts
    from pattern 0 with ``flip_fraction`` of its bits flipped and runs

    * ``kind="polynomial"`` / ``"exponential"``: the sweeps of
      :func:`dense_retrieve`, until a sweep changes nothing (a fixed point) or
      after ``n_sweeps`` sweeps; the overlap is that of the final state.
    * ``kind="softmax"``: ``n_sweeps`` steps of :func:`softmax_update`; the
      overlap is that of :math:`\mathrm{sign}(x)` (0 where x is 0), and
      ``converged`` means the last step changed no sign.

    Retrieved means overlap > ``threshold``. Keys are drawn as in
    :func:`jaxstat.hopfield.capacity.capacity`: the same ``key``, ``n`` and
    ``alphas`` give both the same patterns and probes (``degree=2`` is Hebb's
    network, same fixed points). Structure as there: one ``jit`` call, sizes
    unrolled, loads by ``lax.map``, trials vmapped, padded patterns masked.
    Measured at N = 100 from the pattern: degree 2 retrieves ~96% at
    :math:`\alpha` = 0.12 and 60% at 0.2; degree 3, 97% at 5 and 50% near 8;
    exponential and softmax (:math:`\lambda = 1`) 100% at 20.

    Args:
      key: a PRNG key.
      n: a network size, or a sequence of sizes, as in
        :func:`jaxstat.hopfield.capacity.capacity`.
      alphas: 1-D loads > 0, as there.
      n_trials: independent networks per load and size, as there.
      kind: ``"polynomial"``, ``"exponential"`` or ``"softmax"``.
      degree: as in :func:`dense_energy`.
      sharpness: as in :func:`dense_energy` (traced: no recompile).
      flip_fraction: fraction of bits of the probe flipped, as in
        :func:`jaxstat.hopfield.capacity.capacity`.
      n_sweeps: maximum sweeps (binary kinds) or number of steps (softmax).
      threshold: overlap above which the pattern counts as retrieved.
      dtype: float dtype of patterns (default: float32, or float64 under x64).

    Returns:
      A :class:`jaxstat.hopfield.capacity.CapacityResult`.

    Example:
      >>> import jax
      >>> from jaxstat.hopfield import dense_capacity
      >>> r = dense_capacity(jax.random.key(0), 100, [0.12, 0.2, 1.0], n_trials=100, degree=2, n_sweeps=30)
      >>> f = r.retrieved_fraction[0]     # Hebb: retrieved at 0.12, partly lost at 0.2, lost at 1
      >>> bool(f[0] > 0.8), bool(0.3 < f[1] < 0.9), bool(f[2] < 0.05)
      (True, True, True)
    """
    check_key(key)
    _check_kind(kind, KINDS + ("softmax",))
    sizes = check_sizes(n)
    p = pattern_counts(alphas, sizes, kind)
    n_trials = check_positive_int(n_trials, "n_trials")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    flip = check_fraction(flip_fraction)
    threshold = check_threshold(threshold)
    dtype = float_dtype() if dtype is None else check_float_dtype(dtype)
    p_max = tuple(int(row.max()) for row in p)
    if kind == "polynomial":
        for size, p_size in zip(sizes, p_max):
            degree = _check_degree(degree, size, p_size, dtype)
    else:
        degree = None
    sharpness = jnp.asarray(check_sharpness(sharpness), dtype)
    out = _dense_capacity_call(key, tuple(jnp.asarray(row, jnp.int32) for row in p), jnp.asarray(flip, dtype),
                               sharpness, sizes=sizes, p_max=p_max, n_trials=n_trials, kind=kind, degree=degree,
                               n_sweeps=n_sweeps, dtype=dtype)
    overlap = np.stack([np.asarray(o[0]) for o in out])
    converged = np.stack([np.asarray(o[1]) for o in out])
    return CapacityResult(np.asarray(sizes), p, overlap, converged, float(threshold))


@functools.partial(jax.jit, static_argnames=("sizes", "p_max", "n_trials", "kind", "degree", "n_sweeps", "dtype"))
def _dense_capacity_call(key, p_rows, flip, sharpness, *, sizes, p_max, n_trials, kind, degree, n_sweeps, dtype):
    def make_trial(n, p_max):
        return functools.partial(_capacity_trial, flip=flip, sharpness=sharpness, n=n, p_max=p_max, kind=kind,
                                 degree=degree, n_sweeps=n_sweeps, dtype=dtype)

    # capacity()'s key layout: the same key gives the same patterns and probes
    return over_sizes_loads_trials(key, p_rows, sizes, p_max, n_trials, make_trial)


def _capacity_trial(key, p, *, flip, sharpness, n, p_max, kind, degree, n_sweeps, dtype):
    k_xi, k_probe, k_dyn = jax.random.split(key, 3)
    xi = random_patterns(k_xi, p, p_max, n, dtype)   # rows from p on are zero ...
    mask = jnp.arange(p_max) < p                     # ... and masked out of every exp / softmax
    s0 = probe(k_probe, xi[0], flip)
    if kind == "softmax":
        def step(x, _):
            new = softmax_update_masked(xi, mask, x, sharpness)
            return new, jnp.any(jnp.sign(new) != jnp.sign(x))

        x, changed = jax.lax.scan(step, s0, None, length=n_sweeps)
        return xi[0] @ jnp.sign(x) / n, ~changed[-1]
    xt = xi.T

    def cond(c):
        return c[2] & (c[3] < n_sweeps)

    def body(c):
        s, u, _, t = c
        s, u, changed = _sweep(jax.random.fold_in(k_dyn, t), s, u, xt, mask, kind=kind, degree=degree,
                               sharpness=sharpness)
        return s, u, changed, t + 1

    # stop at the first sweep that changes nothing: a fixed point, every site was visited
    s, _, changed, _ = jax.lax.while_loop(cond, body, (s0, xi @ s0, jnp.bool_(True), jnp.int32(0)))
    return xi[0] @ s / n, ~changed
