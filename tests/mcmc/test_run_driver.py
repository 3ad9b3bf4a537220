"""The run driver and sampler contracts: no recompilation, beta = inf, dtypes, errors."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from helpers import within_sigmas


_TAGS = itertools.count()


def counting(sampler):
    """Wrap a sampler so every trace of its step increments a counter.

    Each call defines a new wrapper class, so its compiled programs are a fresh
    cache entry; the inner sampler is a leaf like any other.
    """
    count = {"traces": 0}
    # Treedefs of two classes of the same name and fields compare equal (measured: JAX 0.10),
    # so a fresh class alone can hit another Counting's cached program; a unique static tag
    # makes each wrapper's structure, and so its cache entry, its own.
    unique = next(_TAGS)

    @js.mcmc.register_sampler
    class Counting(js.mcmc.Sampler):
        inner: object
        tag: int = js.mcmc.static_field(default=unique)

        def init(self, spins):
            return self.inner.init(spins)

        def step(self, key, state, beta):
            count["traces"] += 1
            return self.inner.step(key, state, beta)

    return Counting(sampler, unique), count


def test_new_beta_does_not_recompile():
    """A new beta of any scalar type reuses run's one compiled program."""
    import jaxstat.mcmc.driver as driver

    m = js.ising.lattice((8, 8))
    sampler, count = counting(js.mcmc.checkerboard(m))  # a fresh sampler: a fresh cache entry
    s = jnp.ones((8, 8))
    betas = (0.3, float("inf"), np.float32(0.2), np.float64(0.45), jnp.asarray(0.7), 0, jnp.asarray(1.5, jnp.float32))
    before = driver._run_compiled._cache_size()
    for i, beta in enumerate(betas):
        js.mcmc.run(jax.random.key(i), sampler, s, beta, 5)  # same sampler, same (default) observe
    # Exactly one compilation: weak-typed python scalars, ints, numpy scalars
    # of either width and jax arrays all reach the compiled program as one
    # strong float dtype. Without that canonicalization this would be 3 or more.
    assert driver._run_compiled._cache_size() - before == 1
    # and the sweep itself was traced once (burn_in = 0: one call site of step)
    assert count["traces"] == 1


def test_beta_inside_jit_and_vmap_does_not_retrace():
    """Under the user's own jit, run traces the sweep once per sampler, whatever beta is."""
    m = js.ising.lattice((8, 8))
    s = jnp.ones((8, 8))

    # a vmapped ladder: new beta values of the same shape never retrace
    sampler, count = counting(js.mcmc.checkerboard(m))
    ladder = jax.jit(jax.vmap(lambda b: js.mcmc.run(jax.random.key(1), sampler, s, b, 5)[1]["energy"]))
    e1 = ladder(jnp.linspace(0.1, 1.0, 6))
    assert count["traces"] == 1
    e2 = ladder(jnp.linspace(0.2, 2.0, 6))
    assert count["traces"] == 1
    assert e1.shape == e2.shape == (6, 5)
    assert not np.array_equal(np.asarray(e1), np.asarray(e2))  # beta really was an input

    # a scalar beta passed through jit: a python float arrives weak-typed, a jax
    # or numpy scalar strong, so the outer jit traces twice or more; run
    # casts beta to one dtype, so its inner program and the sweep are traced once.
    sampler, count = counting(js.mcmc.checkerboard(m))
    one = jax.jit(lambda b: js.mcmc.run(jax.random.key(1), sampler, s, b, 5)[1]["energy"])
    one(0.3)
    assert count["traces"] == 1
    one(0.6)
    one(jnp.asarray(0.3))
    one(np.float64(0.9))
    assert one._cache_size() >= 2  # the outer jit did retrace: the check above has teeth
    assert count["traces"] == 1
    # eager runs with the same sampler reuse that trace too, at any beta
    js.mcmc.run(jax.random.key(2), sampler, s, 0.9, 5)
    js.mcmc.run(jax.random.key(2), sampler, s, jnp.inf, 5)
    assert count["traces"] == 1


@pytest.mark.parametrize("make", [js.mcmc.metropolis, js.mcmc.glauber, js.mcmc.checkerboard])
def test_zero_temperature_is_exact(make):
    m = js.ising.lattice((8, 8), J=1.0, h=0.0)
    sampler = make(m)
    s0 = js.ising.random_spins(jax.random.key(0), (8, 8))
    state, trace = js.mcmc.run(jax.random.key(1), sampler, s0, jnp.inf, 30)
    e = np.asarray(trace["energy"])
    assert np.all(np.isfinite(e)) and np.all(np.isfinite(np.asarray(state.spins)))
    assert set(np.unique(np.asarray(state.spins))) <= {-1.0, 1.0}
    np.testing.assert_allclose(float(state.energy), float(js.ising.energy(m, state.spins)), atol=1e-3)
    # zero-temperature dynamics never raises the energy: sequential single-spin
    # moves each lower it or keep it, and a checkerboard half-sweep flips only
    # sites of one colour, which share no bond, so its energy change is the sum
    # of their single-spin changes, each <= 0 (the tie rule keeps zero-field spins)
    assert np.all(np.diff(e) <= 1e-4)


def test_zero_temperature_never_raises_energy_dense():
    m = js.ising.sherrington_kirkpatrick(jax.random.key(5), 64, h=0.1)
    for make in (js.mcmc.metropolis, js.mcmc.glauber):
        state, trace = js.mcmc.run(jax.random.key(1), make(m, order="random"), jnp.ones(64), jnp.inf, 20)
        e = np.asarray(trace["energy"])
        assert np.all(np.diff(e) <= 1e-4) and np.all(np.isfinite(e))
        assert float(trace["acceptance_rate"][-1]) == 0.0  # a local minimum is reached and kept


def test_infinite_temperature_is_uniform():
    """beta = 0: every Metropolis proposal is accepted, heat bath is a coin flip."""
    m = js.ising.lattice((8, 8))
    for sampler in (js.mcmc.checkerboard(m, "metropolis"), js.mcmc.metropolis(m)):
        _, trace = js.mcmc.run(jax.random.key(0), sampler, jnp.ones((8, 8)), 0.0, 10)
        assert np.all(np.asarray(trace["acceptance_rate"]) == 1.0)


@pytest.mark.parametrize(
    "make", [lambda m: js.mcmc.checkerboard(m, "glauber"), js.mcmc.glauber], ids=["checkerboard", "single-spin"]
)
def test_infinite_temperature_heat_bath_is_a_coin_flip(make):
    """beta = 0 heat bath: each update draws a fair new spin, so it changes the spin w.p. 1/2.

    Each site update is an independent Bernoulli(1/2) change, whatever the
    configuration, so the number of changed spins over n = sweeps * N updates
    is Binomial(n, 1/2): fraction 1/2 with standard error sqrt(1/4 / n). The
    known variance makes a 4-sigma Gaussian bound exact enough (n = 25600).
    """
    m = js.ising.lattice((8, 8))
    n_sweeps = 400
    _, trace = js.mcmc.run(jax.random.key(3), make(m), jnp.ones((8, 8)), 0.0, n_sweeps)
    rate = np.asarray(trace["acceptance_rate"], np.float64)
    n_updates = n_sweeps * m.n
    fraction = rate.mean()  # every sweep has N updates, so this is changes / n_updates
    stderr = np.sqrt(0.25 / n_updates)
    assert within_sigmas(fraction, 0.5, stderr), (fraction, stderr)
    # not all-or-nothing per sweep: the per-sweep fractions scatter binomially too
    assert within_sigmas(rate.std(ddof=1), np.sqrt(0.25 / m.n), np.sqrt(0.25 / m.n) / np.sqrt(2 * (n_sweeps - 1)))


def test_asymmetric_network_runs_glauber_only():
    J = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.5], [0.2, 0.0, 0.0]])
    m = js.ising.dense(J, allow_asymmetric=True)
    state, _ = js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), jnp.ones(3), 1.0, 10)
    assert state.spins.shape == (3,)
    with pytest.raises(ValueError, match="symmetric"):
        js.mcmc.metropolis(m)


def test_thin_burn_in_and_observe():
    m = js.ising.lattice((4, 4))
    sampler = js.mcmc.glauber(m)
    state, trace = js.mcmc.run(
        jax.random.key(0), sampler, jnp.ones((4, 4)), 0.5, 25, burn_in=7, thin=4,
        observe=lambda st: {"m": jnp.mean(st.spins), "s": st.spins},
    )
    assert trace["m"].shape == (6,) and trace["s"].shape == (6, 4, 4)
    assert trace["acceptance_rate"].shape == (6,)
    state2, tr = js.mcmc.run(jax.random.key(0), sampler, jnp.ones((4, 4)), 0.5, 3, observe=lambda st: st.energy)
    assert tr.shape == (3,)


def test_dtype_float32_and_float64():
    m = js.ising.lattice((4, 4))
    state, trace = js.mcmc.run(jax.random.key(0), js.mcmc.checkerboard(m), jnp.ones((4, 4)), 0.4, 3)
    assert state.spins.dtype == jnp.float32 and trace["energy"].dtype == jnp.float32
    with jax.enable_x64(True):
        for make in (js.mcmc.checkerboard, js.mcmc.glauber):
            m64 = js.ising.lattice((4, 4))
            state, trace = js.mcmc.run(jax.random.key(0), make(m64), jnp.ones((4, 4)), 0.4, 3)
            assert state.spins.dtype == jnp.float64 and trace["energy"].dtype == jnp.float64
            assert trace["magnetization"].dtype == jnp.float64


def test_progress_bar_runs(capsys):
    m = js.ising.lattice((4, 4))
    state, trace = js.mcmc.run(jax.random.key(0), js.mcmc.checkerboard(m), jnp.ones((4, 4)), 0.4, 100, progress=True)
    jax.block_until_ready(trace)
    jax.effects_barrier()
    assert trace["energy"].shape == (100,)
    assert "100/100" in capsys.readouterr().err


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), s, -1.0, 5), r"beta must be >= 0"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), s, float("nan"), 5), r"beta .* NaN"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), s, jnp.ones(3), 5), r"beta must be a scalar"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), s, 0.5, 0), r"n_sweeps must be an integer >= 1"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), s, 0.5, 5, thin=0), r"thin must be"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), s, 0.5, 5, burn_in=-1), r"burn_in must be"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), "glauber", s, 0.5, 5), r"sampler must be a jaxstat.mcmc.Sampler"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), s * 0.5, 0.5, 5), r"only -1 and \+1"),
        (lambda s, m: js.mcmc.run(jax.random.key(0), js.mcmc.glauber(m), jnp.ones((4, 5)), 0.5, 5), r"trailing shape"),
        (lambda s, m: js.mcmc.glauber(m).init(jnp.ones((2, 4, 4))), r"one configuration"),
        (lambda s, m: js.mcmc.checkerboard(js.ising.lattice((5, 4))), r"even side lengths .* axis 0 of length 5"),
        (lambda s, m: js.mcmc.checkerboard(js.ising.sherrington_kirkpatrick(jax.random.key(0), 4)), r"lattice model"),
        (lambda s, m: js.mcmc.checkerboard(m, rule="wolff"), r"rule must be one of"),
        (lambda s, m: js.mcmc.metropolis(m, order="backwards"), r"order must be one of"),
        (lambda s, m: js.mcmc.glauber(m).step(jax.random.key(0), js.mcmc.glauber(m).init(s), -0.5), r"beta must be >= 0"),
    ],
)
def test_bad_input_errors(call, match):
    m = js.ising.lattice((4, 4))
    with pytest.raises(ValueError, match=match):
        call(jnp.ones((4, 4)), m)


def test_checkerboard_open_odd_lattice_allowed():
    m = js.ising.lattice((5, 3), periodic=False)
    state, _ = js.mcmc.run(jax.random.key(0), js.mcmc.checkerboard(m), jnp.ones((5, 3)), 0.3, 5)
    np.testing.assert_allclose(float(state.energy), float(js.ising.energy(m, state.spins)), atol=1e-4)


def test_progress_does_not_change_the_chain():
    """The chunked loop behind the progress bar draws the same random numbers."""
    import jaxstat.mcmc.driver as driver

    m = js.ising.lattice((4, 4))
    sampler = js.mcmc.glauber(m)
    s = js.ising.random_spins(jax.random.key(5), (4, 4))
    plain = js.mcmc.run(jax.random.key(6), sampler, s, 0.5, 23, burn_in=9, thin=3)
    old = driver._n_ticks
    driver._n_ticks = lambda n, sweeps: 4  # several chunks with a remainder in each phase
    try:
        ticked = js.mcmc.run(jax.random.key(6), sampler, s, 0.5, 23, burn_in=9, thin=3, progress=True)
    finally:
        driver._n_ticks = old
    jax.effects_barrier()
    np.testing.assert_array_equal(plain[0].spins, ticked[0].spins)
    for k in plain[1]:
        np.testing.assert_array_equal(plain[1][k], ticked[1][k])


def test_new_couplings_do_not_recompile():
    """Samplers are pytrees with the model's arrays as leaves: a Python loop over
    disorder samples or coupling sets of the same shapes compiles run once per kind."""
    import jaxstat.mcmc.driver as driver

    observe = lambda st: st.energy  # noqa: E731  (one function object for the whole loop)
    before = driver._run_compiled._cache_size()
    energies = []
    for seed in range(3):
        m = js.ising.sherrington_kirkpatrick(jax.random.key(seed), 12)
        _, e = js.mcmc.run(jax.random.key(0), js.mcmc.metropolis(m), jnp.ones(12), 0.5, 4, observe=observe)
        energies.append(np.asarray(e))
    assert driver._run_compiled._cache_size() - before == 1
    for seed in range(3):
        J = jax.random.uniform(jax.random.key(10 + seed), (2, 6, 6), minval=0.5, maxval=1.5)
        m = js.ising.lattice((6, 6), J=J, h=0.1 * seed)
        _, e = js.mcmc.run(jax.random.key(0), js.mcmc.checkerboard(m), jnp.ones((6, 6)), 0.5, 4, observe=observe)
        energies.append(np.asarray(e))
    assert driver._run_compiled._cache_size() - before == 2
    # the couplings really were inputs: every disorder sample gave its own energies
    assert len({e.tobytes() for e in energies}) == 6
