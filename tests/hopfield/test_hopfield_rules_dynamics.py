"""Tests for jaxstat.hopfield: storage rules, retrieval dynamics, overlaps.

Fixed seeds throughout; sizes are small so the file runs in well under a minute.
"""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat import hopfield


def random_patterns(seed, p, n):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(p, n)).astype(np.float32)


def correlated_patterns(seed, p, n, shared=0.3):
    """Patterns that agree with a common template on a fixed ``shared`` fraction of sites."""
    rng = np.random.default_rng(seed)
    xi = rng.choice([-1.0, 1.0], size=(p, n))
    common = rng.random(n) < shared
    xi[:, common] = rng.choice([-1.0, 1.0], size=n)[common]
    return xi.astype(np.float32)


def is_fixed_point(W, xi):
    """Every pattern's field is strictly aligned with it (a zero-temperature fixed point)."""
    return np.asarray(xi * (xi @ np.asarray(W).T) > 0).all(axis=1)


# --------------------------------------------------------------------------- #
# storage rules
# --------------------------------------------------------------------------- #
def test_hebbian_symmetric_zero_diagonal_and_formula():
    xi = random_patterns(0, 5, 40)
    W = np.asarray(hopfield.hebbian(xi))
    assert W.shape == (40, 40) and W.dtype == np.float32
    np.testing.assert_array_equal(W, W.T)
    np.testing.assert_array_equal(np.diag(W), 0.0)
    expected = xi.T @ xi / 40
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(W, expected, atol=1e-6)


def test_hebbian_stores_random_patterns_at_low_load():
    xi = random_patterns(1, 3, 200)
    W = hopfield.hebbian(xi)
    assert is_fixed_point(W, xi).all()
    # ... and the dynamics leaves them alone, in both modes.
    # (Same shapes as the energy test below: one compilation serves both.)
    for mode in ("async", "sync"):
        r = hopfield.retrieve(jax.random.key(0), W, xi, n_sweeps=8, mode=mode)
        np.testing.assert_array_equal(r.states, xi)
        np.testing.assert_allclose(np.diagonal(hopfield.overlap(xi, r.states)), 1.0)
        assert bool(r.converged.all()) and not bool(r.cycle2.any())
        assert r.overlaps is None


def test_pseudo_inverse_stores_correlated_patterns_exactly():
    xi = correlated_patterns(2, 20, 100)
    W = np.asarray(hopfield.pseudo_inverse(xi))
    np.testing.assert_allclose(W, W.T, atol=1e-5)
    np.testing.assert_array_equal(np.diag(W), 0.0)
    assert is_fixed_point(W, xi).all()
    # Negative control: Hebb's rule does not store these correlated patterns.
    assert not is_fixed_point(hopfield.hebbian(xi), xi).any()
    r = hopfield.retrieve(jax.random.key(3), W, xi, n_sweeps=2, mode="sync")
    np.testing.assert_array_equal(r.states, xi)


def test_pseudo_inverse_is_the_projector_before_zeroing_the_diagonal():
    xi = correlated_patterns(3, 6, 30).astype(np.float64)
    projector = xi.T @ np.linalg.inv(xi @ xi.T / 30) @ xi / 30
    np.fill_diagonal(projector, 0.0)
    np.testing.assert_allclose(hopfield.pseudo_inverse(xi), projector, atol=1e-5)


def test_pseudo_inverse_dependent_patterns_warn_with_rank_and_no_nan():
    xi = random_patterns(4, 3, 50)
    xi = np.concatenate([xi, -xi[:1], xi[1:2]])  # rank 3, P = 5
    with pytest.warns(UserWarning, match=r"rank 3 < P = 5"):
        W = hopfield.pseudo_inverse(xi)
    assert np.isfinite(np.asarray(W)).all()
    assert is_fixed_point(W, xi).all()


def test_pseudo_inverse_full_rank_raises():
    xi = random_patterns(5, 12, 10)  # P >= N, spans R^N
    with pytest.raises(ValueError, match=r"rank 10 = N"):
        hopfield.pseudo_inverse(xi)


def storkey_by_hand(xi):
    """Storkey (1997), written out with explicit sums over k != i, j."""
    n = xi.shape[1]
    W = np.zeros((n, n))
    for x in xi.astype(np.float64):
        h = np.array([[sum(W[i, k] * x[k] for k in range(n) if k != i and k != j) for j in range(n)]
                      for i in range(n)])
        new = W.copy()
        for i in range(n):
            for j in range(n):
                if i != j:
                    new[i, j] = W[i, j] + (x[i] * x[j] - x[i] * h[j, i] - h[i, j] * x[j]) / n
        W = new
    return W


def test_storkey_matches_its_recursion_by_hand():
    xi = np.array([[1, -1, 1, 1], [1, 1, -1, 1]], dtype=np.float32)
    expected = storkey_by_hand(xi)
    # First pattern: Hebb; second: the correction terms are non-zero here.
    np.testing.assert_allclose(storkey_by_hand(xi[:1]), np.asarray(hopfield.hebbian(xi[:1])), atol=1e-7)
    assert not np.allclose(expected, np.asarray(hopfield.hebbian(xi)) * 1.0)
    np.testing.assert_allclose(hopfield.storkey(xi), expected, atol=1e-6)
    # Order-dependent, as the rule is.
    xi3 = random_patterns(6, 3, 6)
    np.testing.assert_allclose(hopfield.storkey(xi3), storkey_by_hand(xi3), atol=1e-6)
    assert not np.allclose(hopfield.storkey(xi3), hopfield.storkey(xi3[::-1]))


# --------------------------------------------------------------------------- #
# retrieval dynamics
# --------------------------------------------------------------------------- #
def test_async_energy_never_increases_at_zero_temperature_and_beta_is_traced():
    xi = random_patterns(7, 30, 200)  # alpha = 0.15: past capacity, long descents
    W = hopfield.hebbian(xi)
    probes = jnp.asarray(random_patterns(8, 3, 200))
    r = hopfield.retrieve(jax.random.key(9), W, probes, n_sweeps=8)
    e = np.asarray(r.energies, np.float64)
    assert e.shape == (3, 9)
    # Energies are recomputed from the states each sweep, so a tie flip (dE = 0) is the only slack.
    assert (np.diff(e, axis=-1) <= 1e-4 * np.abs(e[:, :-1])).all()
    assert (e[:, -1] < e[:, 0]).all()
    e_final = -0.5 * np.einsum("bi,ij,bj->b", r.states, np.asarray(W), r.states)
    np.testing.assert_allclose(e[:, -1], e_final, rtol=1e-5)
    # A finite temperature reuses the compiled program (beta is traced).
    size = hopfield.dynamics._retrieve_batch._cache_size()
    r_hot = hopfield.retrieve(jax.random.key(9), W, probes, beta=0.5, n_sweeps=8)
    assert hopfield.dynamics._retrieve_batch._cache_size() == size
    assert r_hot.energies[:, -1].mean() > r.energies[:, -1].mean()  # hot chains stay higher


def mean_final_overlaps(n, p, trials, n_probes=25):
    """Per trial: mean final overlap of probes (10% corrupted patterns) with their pattern."""
    out = []
    for t in range(trials):
        xi = jnp.asarray(random_patterns(100 + t, p, n))
        probes = hopfield.corrupt(jax.random.key(t), xi[:n_probes], 0.1)
        np.testing.assert_allclose(np.diagonal(hopfield.overlap(xi[:n_probes], probes)), 0.8, atol=1e-6)
        # Same shapes at every load: one compilation for the whole test.
        r = hopfield.retrieve(jax.random.key(50 + t), hopfield.hebbian(xi), probes, n_sweeps=10)
        out.append(np.diagonal(np.asarray(hopfield.overlap(xi[:n_probes], r.states))).mean())
    return np.array(out)


def test_retrieval_below_capacity_and_breakdown_above():
    # Bounds use the spread of the per-trial means (standard error), not a hand-picked margin.
    # Measured: every low-load trial ends at m = 1 exactly (a stored pattern attracts 10% noise),
    # so the first bound fails only for a broken memory; at alpha = 0.3 the trial means are
    # 0.446 +- 0.0085, 6.4 standard errors below 0.5, so mean + 2 err crosses it with
    # probability ~Phi(-4.4) = 5e-6.
    low = mean_final_overlaps(500, 25, trials=4)  # alpha = 0.05 < alpha_c ~ 0.138
    assert low.mean() - 2 * low.std(ddof=1) / np.sqrt(len(low)) > 0.95, low
    high = mean_final_overlaps(500, 150, trials=3)  # alpha = 0.3: no retrieval
    assert high.mean() + 2 * high.std(ddof=1) / np.sqrt(len(high)) < 0.5, high


def test_sync_two_cycle_is_reported():
    W = jnp.array([[0.0, -1.0], [-1.0, 0.0]])
    r = hopfield.retrieve(jax.random.key(0), W, jnp.array([1.0, 1.0]), n_sweeps=5, mode="sync")
    assert bool(r.cycle2) and not bool(r.converged)
    np.testing.assert_array_equal(r.energies, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # E(±(1, 1)) = +1
    np.testing.assert_array_equal(r.states, [-1.0, -1.0])  # odd number of sweeps
    # From a fixed point: converged, no cycle. Async never cycles on symmetric W.
    r = hopfield.retrieve(jax.random.key(0), W, jnp.array([1.0, -1.0]), n_sweeps=5, mode="sync")
    assert bool(r.converged) and not bool(r.cycle2)
    r = hopfield.retrieve(jax.random.key(1), W, jnp.array([1.0, 1.0]), n_sweeps=5, mode="async")
    assert not bool(r.cycle2) and float(r.states.sum()) == 0.0


def test_sync_zero_field_keeps_spin_and_thresholds_act_as_negative_fields():
    W = jnp.zeros((3, 3))
    s = jnp.array([1.0, -1.0, 1.0])
    r = hopfield.retrieve(jax.random.key(0), W, s, n_sweeps=2, mode="sync")
    np.testing.assert_array_equal(r.states, s)
    theta = jnp.array([0.5, -0.5, 0.0])
    r = hopfield.retrieve(jax.random.key(0), W, s, n_sweeps=2, mode="sync", theta=theta)
    np.testing.assert_array_equal(r.states, [-1.0, 1.0, 1.0])


def test_asymmetric_weights_are_accepted_and_the_cycle_is_followed_exactly():
    """W is a directed 3-ring: the zero-temperature synchronous map is s' = (s_1, s_2, s_0),
    a rotation with period 3. From (1, -1, -1) the states after sweeps 1..4 are
    (-1, -1, 1), (-1, 1, -1), (1, -1, -1), (-1, -1, 1); every rotation has the same
    formula value E = -1/2 s.W s = -1/2 (s0 s1 + s1 s2 + s2 s0) = 1/2."""
    W = jnp.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    s0 = jnp.array([1.0, -1.0, -1.0])
    r = hopfield.retrieve(jax.random.key(0), W, s0, n_sweeps=4, mode="sync")
    np.testing.assert_array_equal(r.states, [-1.0, -1.0, 1.0])
    np.testing.assert_array_equal(r.energies, np.full(5, 0.5))
    assert not bool(r.converged) and not bool(r.cycle2)   # a 3-cycle is neither
    r3 = hopfield.retrieve(jax.random.key(0), W, s0, n_sweeps=3, mode="sync")
    np.testing.assert_array_equal(r3.states, s0)


def test_overlap_and_corrupt():
    xi = random_patterns(10, 3, 20)
    m = hopfield.overlap(xi, xi[None])
    assert m.shape == (1, 3, 3)
    np.testing.assert_allclose(np.diagonal(m[0]), 1.0)
    x = hopfield.corrupt(jax.random.key(0), xi, 0.25)  # exactly 5 flips per row
    np.testing.assert_array_equal(np.sum(np.asarray(x) != xi, axis=-1), 5)
    np.testing.assert_array_equal(hopfield.corrupt(jax.random.key(0), xi, 0.0), xi)
    np.testing.assert_array_equal(hopfield.corrupt(jax.random.key(0), xi, 1.0), -xi)


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("rule", [hopfield.hebbian, hopfield.pseudo_inverse, hopfield.storkey])
@pytest.mark.parametrize(
    "patterns, match",
    [
        (np.array([[1.0, 0.0, 1.0]]), r"patterns must contain only -1 and \+1"),
        (np.ones(4), r"patterns must have shape \(P, N\)"),
        (np.ones((2, 3, 4)), r"patterns must have shape \(P, N\)"),
        (np.ones((0, 4)), r"patterns must hold at least one pattern"),
    ],
)
def test_bad_patterns(rule, patterns, match):
    with pytest.raises(ValueError, match=match):
        rule(patterns)


def test_bad_retrieve_inputs():
    key, W, s = jax.random.key(0), hopfield.hebbian(random_patterns(0, 2, 6)), jnp.ones(6)
    with pytest.raises(ValueError, match=r"probe must have last dimension N = 6 to match W of shape \(6, 6\)"):
        hopfield.retrieve(key, W, jnp.ones(5))
    with pytest.raises(ValueError, match=r"W must be a square"):
        hopfield.retrieve(key, jnp.ones((6, 5)), s)
    with pytest.raises(ValueError, match=r"W must have a zero diagonal"):
        hopfield.retrieve(key, jnp.eye(6), s)
    with pytest.raises(ValueError, match=r"beta must be >= 0"):
        hopfield.retrieve(key, W, s, beta=-1.0)
    with pytest.raises(ValueError, match=r"mode must be one of"):
        hopfield.retrieve(key, W, s, mode="parallel")
    with pytest.raises(ValueError, match=r"n_sweeps must be an integer >= 1"):
        hopfield.retrieve(key, W, s, n_sweeps=0)
    with pytest.raises(ValueError, match=r"probe must contain only -1 and \+1"):
        hopfield.retrieve(key, W, jnp.zeros(6))
    with pytest.raises(ValueError, match=r"theta must be a scalar or have shape"):
        hopfield.retrieve(key, W, s, theta=jnp.ones(3))
    with pytest.raises(ValueError, match=r"patterns must have N = 6 columns"):
        hopfield.retrieve(key, W, s, patterns=np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"states must have last dimension N = 6"):
        hopfield.overlap(np.ones((2, 6)), np.ones(5))
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\]"):
        hopfield.corrupt(key, s, 1.5)
    with pytest.raises(ValueError, match=r"key must be a JAX PRNG key"):
        hopfield.retrieve(0, W, s)


def test_dtypes_are_preserved():
    xi = random_patterns(11, 2, 8)
    r = hopfield.retrieve(jax.random.key(0), hopfield.hebbian(xi), xi, n_sweeps=2, mode="sync", patterns=xi)
    assert r.states.dtype == r.energies.dtype == r.overlaps.dtype == jnp.float32
    with jax.enable_x64(True):
        x64 = xi.astype(np.float64)
        for rule in (hopfield.hebbian, hopfield.pseudo_inverse, hopfield.storkey):
            assert rule(x64).dtype == jnp.float64
        r = hopfield.retrieve(jax.random.key(0), hopfield.hebbian(x64), x64, n_sweeps=2, mode="sync", patterns=x64)
        assert r.states.dtype == r.energies.dtype == r.overlaps.dtype == jnp.float64
        assert hopfield.overlap(x64, x64).dtype == hopfield.corrupt(jax.random.key(0), x64, 0.5).dtype == jnp.float64


def test_retrieve_composes_with_jit_and_vmap():
    xi = jnp.asarray(random_patterns(12, 2, 16))
    Ws = jax.vmap(hopfield.hebbian)(jnp.stack([xi, -xi]))  # vmap over disorder
    out = jax.jit(jax.vmap(lambda W: hopfield.retrieve(jax.random.key(0), W, xi, n_sweeps=2, mode="sync").states))(Ws)
    np.testing.assert_array_equal(out, jnp.stack([xi, xi]))
