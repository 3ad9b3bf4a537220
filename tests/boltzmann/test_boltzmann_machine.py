"""Fully connected Boltzmann machine against brute-force enumeration in float64.

References are computed here with NumPy over ``itertools.product`` (unit 0
the most significant bit, as jaxstat.exact numbers states), independent of
the library's enumeration. Float32 results are compared with tolerances of
a few float32 ulps of the quantities involved; Monte Carlo estimates with
error bars from independent chains.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import ALPHA
from scipy import stats as sps

import jaxstat as js
import jaxstat.boltzmann.learning as bml
import jaxstat.boltzmann.machine as bmm


# --------------------------------------------------------------------------- #
# references
# --------------------------------------------------------------------------- #
def random_machine(seed, n_visible, n_hidden, scale=1.0):
    rng = np.random.default_rng(seed)
    n = n_visible + n_hidden
    W = np.triu(rng.normal(size=(n, n)) * scale, 1)
    c = rng.normal(size=n) * 0.5
    return bmm.bm_from_weights(W + W.T, c[:n_visible], c[n_visible:], dtype=jnp.float32)


def all_states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)


def brute(params, data=None):
    """log Z, <ss^T>_model, and with data <ss^T>_data and the mean log p(v), in float64."""
    W = np.asarray(params.W, np.float64)
    c = np.concatenate([np.asarray(params.a, np.float64), np.asarray(params.b, np.float64)])
    S = all_states(params.n_units)
    logw = 0.5 * np.einsum("ki,ij,kj->k", S, W, S) + S @ c
    log_z = np.logaddexp.reduce(logw)
    p = np.exp(logw - log_z)
    out = {"log_z": log_z, "p": p, "corr": S.T @ (p[:, None] * S)}
    if data is not None:
        nv = params.n_visible
        corr, ll = np.zeros_like(out["corr"]), 0.0
        for v in np.asarray(data, np.float64):
            rows = np.all(S[:, :nv] == v, axis=1)
            lw = logw[rows]
            q = np.exp(lw - np.logaddexp.reduce(lw))
            corr += S[rows].T @ (q[:, None] * S[rows])
            ll += np.logaddexp.reduce(lw) - log_z
        out.update(data_corr=corr / len(data), ll=ll / len(data))
    return out


# --------------------------------------------------------------------------- #
# energy, conditionals, Ising form
# --------------------------------------------------------------------------- #
def test_energy_matches_the_definition():
    m = random_machine(0, 3, 2)
    S = all_states(5)
    W, c = np.asarray(m.W, np.float64), np.concatenate([m.a, m.b]).astype(np.float64)
    want = -0.5 * np.einsum("ki,ij,kj->k", S, W, S) - S @ c
    np.testing.assert_allclose(bmm.bm_energy(m, S), want, rtol=1e-6, atol=1e-5)
    assert bmm.bm_energy(m, S).dtype == jnp.float32


def test_to_ising_is_exact_energies_and_full_distribution():
    m = random_machine(1, 3, 2, scale=1.5)
    model, const = bmm.to_ising(m)
    assert isinstance(model, js.ising.DenseIsing)
    S = all_states(5)
    # energy for energy: E_BM(s) = E_Ising(2s - 1) + const
    np.testing.assert_allclose(js.ising.energy(model, 2 * S - 1) + const, bmm.bm_energy(m, S), rtol=1e-6, atol=1e-5)
    # the whole distribution: the foundation's enumeration of the Ising model
    # at beta = 1 is the machine's Boltzmann distribution, state by state
    ref = brute(m)
    r = js.exact.enumerate(model, 1.0)
    np.testing.assert_allclose(r.probabilities, ref["p"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(r.log_z - const, ref["log_z"], rtol=1e-6)
    # and Glauber's heat-bath probability on the spin model is the unit's sigmoid
    p_up = jax.nn.sigmoid(2 * js.ising.local_field(model, 2 * S - 1))
    np.testing.assert_allclose(p_up, bmm.unit_probs(m, S), rtol=1e-5, atol=1e-7)


def test_conditionals_match_enumeration():
    m = random_machine(2, 2, 2, scale=1.5)
    p = brute(m)["p"]
    n = m.n_units
    S = all_states(n)
    probs = np.asarray(bmm.unit_probs(m, S))
    for i in range(n):
        bit = 1 << (n - 1 - i)  # unit i's place in the state index
        idx = np.arange(2**n)
        want = p[idx | bit] / (p[idx | bit] + p[idx & ~bit])
        np.testing.assert_allclose(probs[:, i], want, rtol=1e-5)
        np.testing.assert_allclose(bmm.conditional(m, S, i), want, rtol=1e-5)


# --------------------------------------------------------------------------- #
# exact statistics and the learning rule
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_hidden", [0, 2])
def test_exact_statistics_match_brute_force(n_hidden):
    m = random_machine(3, 3, n_hidden, scale=1.5)
    data = np.random.default_rng(4).integers(0, 2, size=(7, 3)).astype(np.float32)
    ref = brute(m, data)
    r = js.boltzmann.exact_statistics(m, data)
    np.testing.assert_allclose(r.log_z, ref["log_z"], rtol=1e-6)
    np.testing.assert_allclose(r.correlation, ref["corr"], atol=2e-6)
    np.testing.assert_allclose(r.mean, np.diag(ref["corr"]), atol=2e-6)
    np.testing.assert_allclose(r.data_correlation, ref["data_corr"], atol=2e-6)
    np.testing.assert_allclose(r.log_likelihood, ref["ll"], rtol=1e-6)
    assert js.boltzmann.exact_statistics(m).data_correlation is None


def test_ahs_rule_is_the_log_likelihood_gradient():
    """<ss^T>_data - <ss^T>_model is d L / d W_ij for tied W_ij = W_ji (autodiff says so)."""
    m = random_machine(5, 3, 2)
    data = np.random.default_rng(6).integers(0, 2, size=(9, 3)).astype(np.float32)
    g = jax.grad(lambda p: js.boltzmann.exact_statistics(p, data).log_likelihood)(m)
    r = js.boltzmann.exact_statistics(m, data)
    rule = bmm.ahs_gradient(r.data_correlation, r.correlation, m.n_visible)
    off = ~np.eye(m.n_units, dtype=bool)  # W_ii multiplies s_i^2 = s_i: not a parameter
    np.testing.assert_allclose((g.W + g.W.T)[off], rule.W[off], atol=2e-5)
    np.testing.assert_allclose(g.a, rule.a, atol=2e-5)
    np.testing.assert_allclose(g.b, rule.b, atol=2e-5)
    assert np.array_equal(rule.W, rule.W.T) and not np.diag(rule.W).any()


def fittable_data():
    """200 rows from the visible marginal of a 3+1 machine: a BM can fit them (nearly) exactly."""
    target = random_machine(7, 3, 1, scale=2.5)
    p_v = brute(target)["p"].reshape(8, 2).sum(axis=1)
    counts = np.round(200 * p_v).astype(int)
    counts[np.argmax(counts)] += 200 - counts.sum()  # 200 rows: the shape the learn doctest compiles for
    q = counts / counts.sum()
    entropy = -np.sum(q[q > 0] * np.log(q[q > 0]))  # -entropy bounds any model's mean log-likelihood
    return np.repeat(all_states(3), counts, axis=0).astype(np.float32), entropy


def log_likelihood_path(r, m0, data):
    """The exact log-likelihood before the first update and after each (the observe history)."""
    return np.concatenate([[float(js.boltzmann.exact_statistics(m0, data).log_likelihood)], np.asarray(r.history)])


def test_exact_learning_climbs_to_the_entropy_bound():
    data, entropy = fittable_data()
    m0 = bmm.bm(jax.random.key(1), 3, 1, scale=0.1)
    log_lik = lambda p: js.boltzmann.exact_statistics(p, data).log_likelihood
    r = bml.learn(jax.random.key(0), m0, data, n_steps=300, optimizer=optax.sgd(1.0), observe=log_lik)
    assert isinstance(r, bml.LearnResult) and r.chains is None
    ll = log_likelihood_path(r, m0, data)
    assert ll.shape == (301,)
    # exact gradient ascent with a small step is monotone; 1e-5 absorbs float32 rounding of ll ~ 1
    assert np.diff(ll).min() > -1e-5
    assert ll.max() <= -entropy + 1e-5
    assert -entropy - ll[-1] < 2e-3 and ll[0] < -entropy - 0.5
    # the history is the exact likelihood of the returned parameters
    np.testing.assert_allclose(ll[-1], brute(r.params, data)["ll"], rtol=1e-5)


def test_sampled_learning_increases_the_exact_likelihood():
    data, entropy = fittable_data()
    m0 = bmm.bm(jax.random.key(1), 3, 1, scale=0.1)
    log_lik = lambda p: js.boltzmann.exact_statistics(p, data).log_likelihood
    r = bml.learn(jax.random.key(2), m0, data, n_steps=300, optimizer=optax.sgd(0.5), method="sampled",
                  n_chains=100, n_sweeps=5, observe=log_lik)
    ll = log_likelihood_path(r, m0, data)
    assert r.chains.shape == (100, 4) and set(np.unique(r.chains)) <= {0.0, 1.0}
    # from 0.67 nats below the bound to within 0.02: the stochastic gradient's
    # noise (100 chains x 5 sweeps, lr 0.5) costs ~1e-3 nats at stationarity and
    # fluctuates by about as much, so 0.02 is ~20 of those (false failure negligible)
    assert ll[0] < -entropy - 0.5
    assert -entropy - ll[-1] < 0.02


# --------------------------------------------------------------------------- #
# Monte Carlo statistics against the exact ones
# --------------------------------------------------------------------------- #
# Same shapes and run lengths as the sampled_statistics doctest: one compilation.
MC = {"n_chains": 400, "n_sweeps": 50, "burn_in": 50}


def max_z(estimate, stderr, exact):
    """Largest |estimate - exact| / stderr over the distinct (upper-triangle) entries, and their number.

    Entries with a zero error bar (clamped units: every chain sees the same
    data) must agree exactly instead.
    """
    est, err, ex = (np.asarray(x, np.float64) for x in (estimate, stderr, exact))
    upper = np.triu(np.ones(est.shape, bool))
    fixed = upper & (err == 0)
    np.testing.assert_allclose(est[fixed], ex[fixed], atol=1e-6)
    free = upper & (err > 0)
    return np.max(np.abs(est - ex)[free] / err[free]), int(free.sum())


def test_sampled_model_and_clamped_terms_match_exact_within_error():
    m = random_machine(8, 3, 1, scale=1.5)
    v = np.array([1.0, 0.0, 1.0], np.float32)
    data = np.tile(v, (300, 1))  # identical rows: 300 independent clamped chains
    s = bml.sampled_statistics(jax.random.key(9), m, data, **MC)
    r = js.boltzmann.exact_statistics(m, data)
    # 400 (300) chains: the standard errors are accurate, so a Gaussian test with
    # a Bonferroni-corrected level over the k distinct entries is honest
    z_model, k = max_z(s.correlation, s.correlation_stderr, r.correlation)
    assert k == 10 and z_model < sps.norm.isf(ALPHA / (2 * k)), z_model
    z_data, k = max_z(s.data_correlation, s.data_correlation_stderr, r.data_correlation)
    assert k == 3 and z_data < sps.norm.isf(ALPHA / (2 * k)), z_data  # <h>, <v_0 h>, <v_2 h>
    np.testing.assert_array_equal(s.data_correlation[:3, :3], np.outer(v, v))  # clamped units are the data
    # negative control: the same test rejects a machine with 20% stronger weights
    other = js.boltzmann.exact_statistics(m._replace(W=1.2 * m.W), data)
    assert max_z(s.correlation, s.correlation_stderr, other.correlation)[0] > 10
    assert s.chains.shape == (400, 4) and set(np.unique(s.chains)) <= {0.0, 1.0}


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
def test_bad_input_raises_clear_errors():
    m = random_machine(0, 3, 1)
    good = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="data must contain only 0 and 1.*got 1 other"):
        js.boltzmann.exact_statistics(m, np.array([[0.0, 1.0, -1.0]]))
    with pytest.raises(ValueError, match=r"data must have shape \(n_samples, 3\); got shape \(2, 4\)"):
        bml.learn(jax.random.key(0), m, np.zeros((2, 4)), n_steps=1)
    with pytest.raises(ValueError, match=r"data must have shape \(n_samples, 3\); got shape \(3,\)"):
        js.boltzmann.exact_statistics(m, np.zeros(3))
    with pytest.raises(ValueError, match=r"s must have shape \(4,\)"):
        bmm.bm_energy(m, np.zeros(3))
    with pytest.raises(ValueError, match="s must contain only 0 and 1"):
        bmm.unit_probs(m, np.full(4, 0.5))
    with pytest.raises(ValueError, match="n_hidden must be an integer >= 0; got -1"):
        bmm.bm(jax.random.key(0), 3, -1)
    with pytest.raises(ValueError, match="n_visible must be an integer >= 1; got 0"):
        bmm.bm(jax.random.key(0), 0, 2)
    with pytest.raises(ValueError, match=r"weights W must be symmetric.*max \|W - W.T\| = 0.5"):
        bmm.bm_from_weights(np.array([[0.0, 0.5], [0.0, 0.0]]), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="zero diagonal"):
        bmm.bm_from_weights(np.eye(2), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match=r"n_visible \+ n_hidden = N = 2; got shapes \(1,\) and \(2,\)"):
        bmm.bm_from_weights(np.zeros((2, 2)), np.zeros(1), np.zeros(2))
    with pytest.raises(ValueError, match="params must be a BoltzmannMachine"):
        js.boltzmann.exact_statistics((m.W, m.a, m.b))
    with pytest.raises(ValueError, match=r"i must be an integer unit index in \[0, N\) = \[0, 4\); got 4"):
        bmm.conditional(m, np.zeros(4), 4)
    with pytest.raises(ValueError, match="method must be one of"):
        bml.learn(jax.random.key(0), m, good, n_steps=1, method="cd")
    with pytest.raises(ValueError, match="optimizer must be an optax GradientTransformation"):
        bml.learn(jax.random.key(0), m, good, n_steps=1, optimizer=0.1)
    big = bmm.bm(jax.random.key(0), 11, 10)
    with pytest.raises(ValueError, match="N = 21 units, more than MAX_EXACT_UNITS = 20.*sampled"):
        js.boltzmann.exact_statistics(big)
    with pytest.raises(ValueError, match="scale must be a finite number >= 0"):
        bmm.bm(jax.random.key(0), 2, 1, scale=-1.0)


def test_learn_with_minibatches_adam_and_resume():
    """The trainer's shape: any optax optimizer, minibatches, and a resumed run from chains and opt_state."""
    data, entropy = fittable_data()
    m0 = bmm.bm(jax.random.key(1), 3, 1, scale=0.1)
    ll0 = float(js.boltzmann.exact_statistics(m0, data).log_likelihood)
    adam = optax.adam(0.05)
    r = bml.learn(jax.random.key(3), m0, data, n_steps=100, optimizer=adam, batch_size=50, method="sampled",
                  n_chains=50, n_sweeps=5, burn_in=10)
    assert r.history is None and r.chains.shape == (50, 4)
    r2 = bml.learn(jax.random.key(4), r.params, data, n_steps=50, optimizer=adam, batch_size=50, method="sampled",
                   chains=r.chains, opt_state=r.opt_state, burn_in=0)
    assert np.array_equal(r2.params.W, r2.params.W.T) and not np.diag(r2.params.W).any()
    ll = float(js.boltzmann.exact_statistics(r2.params, data).log_likelihood)
    # from ~0.67 nats below the bound: at least half the gap closes, and the bound holds
    assert ll0 < -entropy - 0.5 and ll > ll0 + 0.5 * (-entropy - ll0) and ll <= -entropy + 1e-5, (ll0, ll)
