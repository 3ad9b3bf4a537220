"""Tests for jaxstat.hopfield.dense: dense (polynomial / exponential) and softmax memories.

Fixed seeds; small systems. Retrieval fractions are compared with binomial
error bars; energies against independent NumPy formulas (exact integers for
the polynomial kind).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from jaxstat import hopfield, ising
from jaxstat.hopfield._attention import softmax_energy_masked, softmax_update_masked
from jaxstat.hopfield.capacity import capacity
from jaxstat.hopfield.dense import (
    _energy,
    _field,
    dense_capacity,
    dense_energy,
    dense_retrieve,
)
from jaxstat.hopfield.softmax import softmax_energy, softmax_retrieve, softmax_update


def random_patterns(seed, p, n):
    """``(p, n)`` random ±1 patterns; ``p`` may be a tuple of batch axes."""
    shape = (p if isinstance(p, tuple) else (p,)) + (n,)
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=shape).astype(np.float32)


def poly_energy_times(xi, s, degree):
    """n N^(n-1) E(s) = -sum_mu u_mu^n, in exact integers."""
    u = s.astype(np.int64) @ xi.astype(np.int64).T
    return -np.sum(u**degree, axis=-1)


def exp_energy_lse(xi, s, sharpness):
    return -special.logsumexp(sharpness * (s.astype(np.float64) @ xi.astype(np.float64).T), axis=-1) / sharpness


# --------------------------------------------------------------------------- #
# energies
# --------------------------------------------------------------------------- #
def test_degree_two_is_hebb_shifted_by_half_p():
    xi = random_patterns(0, 5, 30)
    s = random_patterns(1, 4, 30)
    hebb = ising.energy(ising.dense(hopfield.hebbian(xi)), s)
    # -(1/2N) sum_mu u_mu^2 = -(1/2) s^T W s - (1/2N) sum_mu sum_i (xi_mu,i s_i)^2 = E_Hebb - P/2
    np.testing.assert_allclose(dense_energy(xi, s, degree=2), np.asarray(hebb) - 5 / 2, rtol=1e-6, atol=1e-5)


def test_polynomial_and_exponential_energies_match_their_formulas():
    xi = random_patterns(2, 7, 20)
    s = random_patterns(3, (2, 3), 20)   # batch axes are kept
    for degree in (3, 4):
        e = dense_energy(xi, s, degree=degree)
        assert e.shape == (2, 3) and e.dtype == jnp.float32
        np.testing.assert_allclose(e, poly_energy_times(xi, s, degree) / (degree * 20.0 ** (degree - 1)), rtol=1e-5)
    # Exponential: log form; at N = 20 E itself fits and is recovered exactly.
    sharpness = 0.7
    e_lse = np.asarray(dense_energy(xi, s, kind="exponential", sharpness=sharpness), np.float64)
    np.testing.assert_allclose(e_lse, exp_energy_lse(xi, s, sharpness), rtol=1e-5)
    e_def = -np.exp(sharpness * (s.astype(np.float64) @ xi.T.astype(np.float64))).sum(-1) / sharpness
    np.testing.assert_allclose(-np.exp(-sharpness * e_lse) / sharpness, e_def, rtol=1e-4)


def test_exponential_energy_does_not_overflow_at_n_1000():
    xi = random_patterns(4, 20, 1000)
    e = np.asarray(dense_energy(xi, xi[:3], kind="exponential"))   # E = -sum e^{u} ~ -e^1000
    assert np.isfinite(e).all()
    np.testing.assert_allclose(e, exp_energy_lse(xi, xi[:3], 1.0), rtol=1e-6)


def test_masked_rows_contribute_nothing():
    # Capacity pads patterns with zero rows; for exp / softmax exp(0) = 1 would leak in unless masked.
    xi = jnp.asarray(random_patterns(5, 6, 12))
    padded = jnp.concatenate([xi, jnp.zeros((4, 12))])
    full, mask = jnp.ones(6, bool), jnp.arange(10) < 6
    s = jnp.asarray(random_patterns(6, 1, 12)[0])
    x = jnp.asarray(np.random.default_rng(7).normal(size=12).astype(np.float32))

    @jax.jit   # one compilation instead of one per eager operation
    def both(xi, mask):
        lam = jnp.float32(0.5)   # the sharpness
        r = xi @ s - xi[:, 0] * s[0]
        return [_energy(xi @ s, mask, 12, "polynomial", 3, lam), _energy(xi @ s, mask, 12, "exponential", None, lam),
                _field(r, xi[:, 0], mask, "polynomial", 3, lam), _field(r, xi[:, 0], mask, "exponential", None, lam),
                softmax_update_masked(xi, mask, x, lam), softmax_energy_masked(xi, mask, x, lam)]

    for a, b in zip(both(padded, mask), both(xi, full)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # negative control: unmasked zero rows do change the exponential and softmax energies
    leaky = both(padded, jnp.ones(10, bool))
    assert not np.isclose(leaky[1], both(xi, full)[1]) and not np.isclose(leaky[5], both(xi, full)[5])


# --------------------------------------------------------------------------- #
# binary dynamics
# --------------------------------------------------------------------------- #
def test_polynomial_dynamics_descends_to_exact_fixed_points():
    n, p, degree = 60, 120, 3
    xi = random_patterns(8, p, n)
    probes = random_patterns(9, (2, 3), n)   # random starts: long descents
    r = dense_retrieve(jax.random.key(0), xi, probes, n_sweeps=6, degree=degree)
    assert r.states.shape == (2, 3, n) and r.energies.shape == (2, 3, 7) and r.overlaps.shape == (2, 3, 7, p)
    assert not bool(r.cycle2.any()) and bool(r.converged.all())
    s = np.asarray(r.states)
    np.testing.assert_allclose(r.overlaps[..., -1, :], s @ xi.T / n, atol=1e-6)
    # The energy trace in exact integers: recomputed from the states, never increasing.
    e = np.asarray(r.energies, np.float64) * degree * n ** (degree - 1)
    np.testing.assert_allclose(e[..., -1], poly_energy_times(xi, s, degree), rtol=1e-6)
    assert (np.diff(e, axis=-1) <= 1e-6 * np.abs(e[..., :-1])).all() and (e[..., -1] < e[..., 0]).all()
    # A converged state is a fixed point: no single flip lowers the (integer) energy.
    flips = s[..., None, :] * np.where(np.eye(n, dtype=bool), -1, 1)   # (..., n, n): site k flipped
    assert (poly_energy_times(xi, flips, degree) >= poly_energy_times(xi, s, degree)[..., None]).all()


def test_exponential_dynamics_at_n_1000_without_overflow():
    xi = random_patterns(10, 30, 1000)
    probe = hopfield.corrupt(jax.random.key(1), jnp.asarray(xi[:2]), 0.3)
    r = dense_retrieve(jax.random.key(2), xi, probe, n_sweeps=2, kind="exponential")
    e = np.asarray(r.energies, np.float64)
    assert np.isfinite(e).all() and (np.diff(e, axis=-1) <= 1e-6 * np.abs(e[:, :-1])).all()
    np.testing.assert_array_equal(r.states, xi[:2])
    np.testing.assert_allclose(e[:, -1], exp_energy_lse(xi, xi[:2], 1.0), rtol=1e-6)
    # sharpness is traced: a new value reuses the compiled program
    size = dense_retrieve.__globals__["_dense_retrieve_batch"]._cache_size()
    dense_retrieve(jax.random.key(2), xi, probe, n_sweeps=2, kind="exponential", sharpness=0.01)
    assert dense_retrieve.__globals__["_dense_retrieve_batch"]._cache_size() == size


# --------------------------------------------------------------------------- #
# continuous (softmax) network
# --------------------------------------------------------------------------- #
def test_softmax_update_formula_and_energy_never_increases():
    rng = np.random.default_rng(11)
    xi = rng.normal(size=(15, 8)).astype(np.float32)
    x = rng.normal(scale=3.0, size=(20, 8)).astype(np.float32)
    m2 = (xi**2).sum(-1).max()
    for sharpness in (0.1, 1.0, 8.0):
        new = np.asarray(softmax_update(xi, x, sharpness))
        logits = sharpness * x.astype(np.float64) @ xi.T
        np.testing.assert_allclose(new, special.softmax(logits, axis=-1) @ xi, rtol=1e-4, atol=1e-5)
        e0, e1 = np.asarray(softmax_energy(xi, x, sharpness)), np.asarray(softmax_energy(xi, new, sharpness))
        expected = -special.logsumexp(logits, axis=-1) / sharpness + 0.5 * (x.astype(np.float64) ** 2).sum(-1) \
            + np.log(15) / sharpness + 0.5 * m2
        np.testing.assert_allclose(e0, expected, rtol=1e-5)
        assert (e1 <= e0 + 1e-5 * np.abs(e0)).all()           # CCCP: one update never increases E
        assert (e1 >= -1e-5).all() and (e1 <= 2 * m2 * (1 + 1e-6)).all()   # 0 <= E <= 2 M^2 on the hull


def test_softmax_retrieve_traces_and_temperature():
    xi = random_patterns(12, 200, 64)   # alpha ~ 3
    probe = hopfield.corrupt(jax.random.key(3), jnp.asarray(xi[:4]), 0.25)
    r = softmax_retrieve(xi, probe, sharpness=1.0, n_steps=2)
    assert r.states.shape == (4, 64) and r.overlaps.shape == (4, 3, 200) and r.energies.shape == (4, 3)
    np.testing.assert_allclose(np.diagonal(r.overlaps[:, 0, :4]), 0.5, atol=1e-6)   # cosine = overlap at ±1
    np.testing.assert_allclose(np.diagonal(r.overlaps[:, -1, :4]), 1.0, atol=1e-5)
    assert (np.diff(np.asarray(r.energies), axis=-1) <= 1e-4).all()
    # Blunt (small sharpness): the update averages many patterns (a metastable mixture), far from xi[0].
    blunt = softmax_retrieve(xi, probe, sharpness=0.01, n_steps=2)
    assert (np.diagonal(blunt.overlaps[:, -1, :4]) < 0.9).all()


# --------------------------------------------------------------------------- #
# capacity
# --------------------------------------------------------------------------- #
def max_failures(n_trials, p_fail=0.02, level=1e-4):
    """Largest failure count that a memory failing with probability <= p_fail exceeds with probability < level."""
    return int(stats.binom.isf(level, n_trials, p_fail))


def test_degree_two_capacity_agrees_with_classical_hebb():
    # Same key: both draw the same patterns and probes, only the dynamics differ
    # (random-permutation sweeps vs a random unstable spin; same fixed points).
    # Same arguments as the dense_capacity doctest, which reuses this compilation.
    key, alphas = jax.random.key(0), [0.12, 0.2, 1.0]
    classical = capacity(key, 100, alphas, 100)
    dense = dense_capacity(key, 100, alphas, n_trials=100, degree=2, n_sweeps=30)
    assert dense.converged[:, :2].all()
    se = np.hypot(classical.retrieved_stderr, dense.retrieved_stderr)
    # independent-sample binomial error: conservative for positively correlated pairs
    assert (np.abs(classical.retrieved_fraction - dense.retrieved_fraction) <= 4 * se + 1e-12).all()
    # paired (McNemar) test: discordant trials split evenly under the null
    b = (classical.retrieved & ~dense.retrieved).sum(-1)
    c = (~classical.retrieved & dense.retrieved).sum(-1)
    assert (np.abs(b - c) <= 4 * np.sqrt(np.maximum(b + c, 1))).all(), (b, c)
    # the drop is there: retrieved below alpha_c ~ 0.14, lost at 1
    # measured 0.93 and 0.61 of 100: 5.1 and 3.9 binomial standard errors from 0.8
    # (false failure ~2e-7 + 5e-5)
    assert classical.retrieved_fraction[0, 0] > 0.8 > classical.retrieved_fraction[0, 1]
    assert dense.retrieved[0, 2].sum() <= max_failures(100)


def test_degree_three_exponential_and_softmax_store_far_beyond_hebb():
    key, k = jax.random.key(2), max_failures(50)
    cubic = dense_capacity(key, 100, [1.0], 50, degree=3, flip_fraction=0.1)
    assert (~cubic.retrieved).sum() <= k      # P = 100 < N^2 / (6 ln N) = 362 (Krotov-Hopfield)
    expo = dense_capacity(key, 100, [2.0], 50, kind="exponential", flip_fraction=0.2)
    assert (~expo.retrieved).sum() <= k and expo.converged.all()
    soft = dense_capacity(key, 100, [2.0], 50, kind="softmax", n_sweeps=2, flip_fraction=0.2)
    assert (~soft.retrieved).sum() <= k
    # sharpness is traced (no recompile); too blunt a softmax only averages the patterns
    size = dense_capacity.__globals__["_dense_capacity_call"]._cache_size()
    blunt = dense_capacity(key, 100, [2.0], 50, kind="softmax", n_sweeps=2, flip_fraction=0.2, sharpness=0.01)
    assert dense_capacity.__globals__["_dense_capacity_call"]._cache_size() == size
    assert blunt.retrieved.sum() <= k


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
def test_bad_input_raises_value_errors_naming_the_argument():
    xi = random_patterns(13, 3, 10)
    key = jax.random.key(0)
    cases = [
        (lambda: dense_energy(xi, xi, kind="cubic"), "kind must be one of"),
        (lambda: dense_energy(xi, xi, degree=1), "degree must be an integer >= 2"),
        (lambda: dense_energy(xi, xi, degree=2.0), "degree must be an integer"),
        (lambda: dense_energy(random_patterns(0, 3, 100), random_patterns(0, 1, 100), degree=30),
         "degree must keep the fields"),
        (lambda: dense_energy(xi, xi, kind="exponential", sharpness=0.0), "sharpness must be finite and > 0"),
        (lambda: dense_energy(xi, xi, kind="exponential", sharpness=jnp.inf), "sharpness must be finite and > 0"),
        (lambda: dense_energy(xi, xi, sharpness=-1.0), "sharpness must be finite and > 0"),
        (lambda: dense_energy(xi * 0.5, xi), "patterns must contain only -1 and \\+1"),
        (lambda: dense_energy(xi, xi[:, :5]), "states must have last dimension N = 10"),
        (lambda: dense_retrieve(key, xi, xi[0], n_sweeps=0), "n_sweeps must be an integer >= 1"),
        (lambda: dense_retrieve(0, xi, xi[0]), "key must be a JAX PRNG key"),
        (lambda: dense_retrieve(key, xi, xi[0] * 2), "probe must contain only -1 and \\+1"),
        (lambda: dense_retrieve(key, xi, xi[0], kind="softmax"), "kind must be one of"),
        (lambda: softmax_update(xi, np.ones(4)), "state must have last dimension N = 10"),
        (lambda: softmax_update(np.ones(10), np.ones(10)), "patterns must have shape \\(P, N\\)"),
        (lambda: softmax_energy(np.full((2, 10), np.nan), np.ones(10)), "patterns must be finite"),
        (lambda: softmax_retrieve(xi, xi[0], n_steps=0), "n_steps must be an integer >= 1"),
        (lambda: softmax_retrieve(xi, xi[0], sharpness=0.0), "sharpness must be finite and > 0"),
        (lambda: dense_capacity(key, 10, [0.3], kind="hebbian"), "kind must be one of"),
        (lambda: dense_capacity(key, 10, [0.0]), "alphas must be"),
        (lambda: dense_capacity(key, 0, [0.3]), "n must be an integer >= 1"),
        (lambda: dense_capacity(key, 10, [0.3], flip_fraction=1.5), "flip_fraction must be in"),
        (lambda: dense_capacity(key, 10, [0.3], threshold=1.0), "threshold must be in"),
        (lambda: dense_capacity(key, 10, [0.3], n_trials=0), "n_trials must be an integer >= 1"),
        (lambda: dense_capacity(key, 10, [0.3], dtype=jnp.float16), "float32 or float64"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_exact_ties_keep_the_spin():
    # Patterns come in pairs that differ only at site 0, so its two energies are equal
    # for every state and kind (in a pair r is the same, xi opposite): site 0 never moves.
    xi = np.array([[1, 1, 1, 1], [-1, 1, 1, 1], [1, -1, 1, -1], [-1, -1, 1, -1]], np.float32)
    probes = np.array([[1, 1, -1, 1], [-1, -1, 1, 1], [1, -1, -1, -1], [-1, 1, 1, -1]], np.float32)
    for kind in ("polynomial", "exponential"):
        r = dense_retrieve(jax.random.key(4), xi, probes, n_sweeps=3, kind=kind, degree=3)
        np.testing.assert_array_equal(r.states[:, 0], probes[:, 0])
        assert bool(r.converged.all())
