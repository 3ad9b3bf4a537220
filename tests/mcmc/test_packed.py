"""Multi-spin coding (checkerboard(..., packed=True)) against the float path and exact answers.

The packed sampler draws its random bits differently from the float path, so
the chains differ; the references are the exact distribution (enumeration,
chi-square over independent chains: tests/mcmc/exactness.py), the exact
finite torus at K_c (test_critical.py runs the packed sampler there too), and,
for every word operation, the same quantity computed site by site.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat.mcmc import driver
from jaxstat.mcmc import packed as P
from jaxstat.mcmc._packing import Layout
from helpers import ALPHA, chi2_pvalue, sigmas

from exactness import assert_matches_exact, check_against_exact

SHAPES = [(4, 4), (2, 6), (6, 6), (4, 128), (2, 4, 6), (4, 4, 4)]  # bits per word 2, 3, 3, 32 (W = 2), 3, 2


# --------------------------------------------------------------------------- #
# layout and word operations, site by site
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", SHAPES)
def test_pack_unpack_round_trip_with_batch_axes(shape):
    s = js.ising.random_spins(jax.random.key(0), (3,) + shape)
    w = js.mcmc.pack_spins(s, shape)
    layout = Layout(shape)
    assert w.shape == (3, 2) + layout.word_shape and w.dtype == jnp.uint32
    assert int(jnp.max(w)) < 2 ** layout.bits  # unused bits stay zero
    np.testing.assert_array_equal(js.mcmc.unpack_spins(w, shape), s)
    # colour 0 holds exactly the sites whose coordinates sum to an even number
    even = (np.indices(shape).sum(axis=0) % 2) == 0
    ups = [int(jax.lax.population_count(w[:, c]).sum()) for c in range(2)]
    assert ups == [int((np.asarray(s) > 0)[:, even].sum()), int((np.asarray(s) > 0)[:, ~even].sum())]


def _unsatisfied_counts(model, spins):
    """Per site: how many of its 2d bonds are unsatisfied (J_ij s_i s_j < 0), site by site."""
    d, s = len(model.shape), np.asarray(spins)
    J = np.broadcast_to(np.asarray(model.J), (d,) + model.shape)
    count = np.zeros(model.shape, np.int64)
    for k in range(d):
        count += (J[k] * s * np.roll(s, -1, axis=k) < 0)
        count += (np.roll(J[k], 1, axis=k) * s * np.roll(s, 1, axis=k) < 0)
    return count


@pytest.mark.parametrize("shape", SHAPES)
def test_neighbour_masks_count_each_sites_unsatisfied_bonds(shape):
    """The bit-sliced count of unsatisfied bonds equals the count site by site (±J bonds)."""
    model = js.ising.edwards_anderson(jax.random.key(1), shape)
    sampler = js.mcmc.checkerboard(model, packed=True)
    s = js.ising.random_spins(jax.random.key(2), shape)
    words = js.mcmc.pack_spins(s)
    layout = Layout(shape)
    direct = _unsatisfied_counts(model, s)
    for colour in range(2):
        own = words[colour]
        digits = P.count_bits([own ^ m for m in sampler._masks(words, colour)])
        for i, digit in enumerate(digits):
            np.testing.assert_array_equal(digit, layout.pack_colour(jnp.asarray((direct >> i) & 1, bool), colour))
        for a in range(2 * len(shape) + 1):
            np.testing.assert_array_equal(P.equals(digits, a) & layout.valid, layout.pack_colour(jnp.asarray(direct == a), colour))


def test_bit_sliced_comparison_equals_integer_comparison():
    rng = np.random.default_rng(0)
    u = rng.integers(0, 2**24, size=(5000, 32), dtype=np.int64)
    u[0, :5] = [0, 1, 2**23, 2**24 - 2, 2**24 - 1]
    limits = [0, 1, 2**23, 2**23 + 1, 2**24 - 1, 2**24, int(u[0, 3])]
    planes = [jnp.asarray(((u >> (23 - p)) & 1) << np.arange(32), np.uint32).sum(axis=1, dtype=np.uint32)
              for p in range(24)]
    masks = P.below(iter(planes), [jnp.uint32(t) for t in limits])
    for t, mask in zip(limits, masks):
        bits = (np.asarray(mask)[:, None] >> np.arange(32)) & 1
        np.testing.assert_array_equal(bits, u < t, err_msg=f"T = {t}")


def test_threshold_rounding_and_flip_probabilities():
    """p_a at 2^-24 resolution; the zero-temperature tie rule; the heat bath's 1/2 at dE = 0."""
    mag = jnp.float32(1.0)
    p = P.flip_probabilities("metropolis", 2, mag, jnp.float32(0.3))
    np.testing.assert_allclose(p, [np.exp(-2.4), np.exp(-1.2), 1, 1, 1], rtol=1e-6)
    t = np.asarray(P.thresholds(p))
    assert np.all(np.abs(t / 2**24 - np.asarray(p, np.float64)) <= 2**-25 + 1e-7)
    assert list(np.asarray(P.flip_probabilities("metropolis", 2, mag, jnp.float32(jnp.inf)))) == [0, 0, 0, 1, 1]
    assert list(np.asarray(P.flip_probabilities("glauber", 2, mag, jnp.float32(jnp.inf)))) == [0, 0, 0, 1, 1]
    assert float(P.flip_probabilities("glauber", 3, mag, jnp.float32(0.7))[3]) == 0.5


# --------------------------------------------------------------------------- #
# the generator: Threefry planes, bit frequencies and serial correlation
# --------------------------------------------------------------------------- #
def _planes(key, shape=(64, 16), colour=0, generator=None):
    k = jax.random.bits(key, (2,), jnp.uint32)
    planes = (generator or P._random_planes)(k[0], k[1], shape, colour)
    return np.stack([np.asarray(x) for x in planes])  # (24, *shape)


def _bits(words):
    return ((words.reshape(-1, 1) >> np.arange(32, dtype=np.uint32)) & 1).astype(np.int8)


def _quality_z(generator=None):
    """Largest |z| over the checks of bit frequency and of serial agreement (adjacent planes,
    words, colours, sweeps), each check a count of n fair coin flips under the null."""
    key = jax.random.key(42)
    a = _planes(key, generator=generator)
    other_colour = _planes(key, colour=1, generator=generator)
    next_sweep = _planes(jax.random.fold_in(key, 1), generator=generator)
    z = []
    bits = _bits(a)  # (words, 32)
    n = bits.shape[0]
    z += list((bits.sum(axis=0) - n / 2) / np.sqrt(n / 4))  # each of the 32 bit positions
    pairs = [(a[1:], a[:-1]), (a[:, :, 1:], a[:, :, :-1]), (a[:, 1:], a[:, :-1]), (a, other_colour),
             (a, next_sweep)]
    for x, y in pairs:  # agreement of bits across adjacent counters: 1/2 each
        agree = 32 * x.size - int(_bits(x ^ y).sum())
        m = 32 * x.size
        z.append((agree - m / 2) / np.sqrt(m / 4))
    # the 24-bit uniforms of the lanes: lag-1 correlation along the lanes of a word
    u = sum(((a[p][..., None] >> np.arange(32, dtype=np.uint32)) & 1).astype(np.float64) * 2.0 ** (-1 - p)
            for p in range(24)).reshape(-1)
    r = np.corrcoef(u[1:], u[:-1])[0, 1]
    z.append(r * np.sqrt(len(u)))
    return np.max(np.abs(z)), len(z), u


def test_random_planes_have_fair_bits_and_no_serial_correlation():
    zmax, k, u = _quality_z()
    assert zmax < sigmas(ALPHA / (2 * k)), zmax  # Bonferroni over the k checks, ALPHA / 2 in all
    # the lanes' 24-bit uniforms: 64 equal bins
    assert chi2_pvalue(np.minimum((u * 64).astype(int), 63), np.full(64, 1 / 64)) > ALPHA / 2


def test_quality_checks_reject_a_weak_generator():
    """Negative control: a multiplicative hash of the counter alone (no mixing across planes
    beyond a constant) fails the same checks."""

    def weak(k0, k1, shape, colour):
        index = jax.lax.iota(jnp.uint32, int(np.prod(shape))).reshape(shape)
        for p in range(P.PLANES):
            yield (index * jnp.uint32(2654435761)) ^ (k0 + jnp.uint32(p))

    zmax, k, _ = _quality_z(weak)
    assert zmax > sigmas(ALPHA / (2 * k)), zmax


# --------------------------------------------------------------------------- #
# the sampler: energies, exactness, driver, errors
# --------------------------------------------------------------------------- #
def _models(shape):
    return [js.ising.lattice(shape), js.ising.lattice(shape, J=-0.7), js.ising.edwards_anderson(jax.random.key(3), shape)]


@functools.partial(jax.jit, static_argnames="n")
def _energy_path(sampler, key, spins, beta, n):
    def body(state, k):
        state, info = sampler.step(k, state, beta)
        return state, (state.energy, state.words, info.acceptance_rate)

    return jax.lax.scan(body, sampler.init(spins), jax.random.split(key, n))[1]


# (the 3D heat bath is the enumeration test's; its cached energies are checked there)
@pytest.mark.parametrize("shape,rule", [((6, 6), "metropolis"), ((6, 6), "glauber"), ((2, 4, 6), "metropolis")])
def test_cached_energy_and_acceptance_match_the_configuration(shape, rule):
    s0 = js.ising.random_spins(jax.random.key(4), shape)
    for model in _models(shape):
        sampler = js.mcmc.checkerboard(model, rule, packed=True)
        for beta in (0.4, jnp.inf):
            energies, words, rates = _energy_path(sampler, jax.random.key(5), s0, beta, 8)
            spins = js.mcmc.unpack_spins(words, shape)
            np.testing.assert_allclose(energies, js.ising.energy(model, spins), atol=1e-4)
            before = jnp.concatenate([s0[None], spins[:-1]])
            changed = jnp.mean((spins != before).reshape(8, -1), axis=1)
            np.testing.assert_allclose(rates, changed, atol=1e-6)
            if beta == jnp.inf:  # a quench never raises the energy; ties keep their spin
                assert np.all(np.diff(np.asarray(energies)) <= 1e-5)


EXACT = {
    "metropolis-2d": lambda: (js.ising.lattice((4, 4)), "metropolis", None),
    "glauber-2d": lambda: (js.ising.lattice((4, 4)), "glauber", None),
    "metropolis-2d-pmJ": lambda: (js.ising.edwards_anderson(jax.random.key(6), (4, 4)), "metropolis", None),
    "glauber-3d": lambda: (js.ising.lattice((2, 2, 4)), "glauber", (0.1, 0.2, 0.3)),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_packed_sampler_matches_exact_distribution(name):
    model, rule, betas = EXACT[name]()
    p, energy_checks = check_against_exact(js.mcmc.checkerboard(model, rule, packed=True), model, betas=betas)
    assert_matches_exact(p, energy_checks, name)  # false failure <= 1e-4 (exactness.py)


def test_packed_chi_square_rejects_wrong_temperature():
    """Negative control: the packed sampler run 20% too hot fails the same test."""
    model = js.ising.lattice((4, 4))
    p, _ = check_against_exact(js.mcmc.checkerboard(model, "metropolis", packed=True), model, beta_scale=0.8)
    assert p < ALPHA, p


def test_run_records_energy_and_magnetization_and_vmaps_over_chains():
    model = js.ising.lattice((8, 64))
    sampler = js.mcmc.checkerboard(model, packed=True)
    s0 = js.ising.random_spins(jax.random.key(7), (3, 8, 64))
    keys = jax.random.split(jax.random.key(8), 3)
    state, trace = jax.vmap(lambda k, s: js.mcmc.run(k, sampler, s, 0.3, 5))(keys, s0)
    assert trace["energy"].shape == trace["magnetization"].shape == (3, 5)
    assert state.spins.shape == (3, 8, 64) and state.site_shape == (8, 64)
    np.testing.assert_allclose(trace["energy"][:, -1], js.ising.energy(model, state.spins), atol=1e-3)
    np.testing.assert_allclose(trace["magnetization"][:, -1], state.spins.mean(axis=(1, 2)), atol=1e-6)
    # a packed state continues a run
    state2, _ = js.mcmc.run(jax.random.key(9), sampler, jax.tree.map(lambda x: x[0], state), 0.3, 2)
    assert isinstance(state2, js.mcmc.PackedState)


def test_new_disorder_sample_does_not_recompile():
    s0 = js.ising.random_spins(jax.random.key(10), (6, 6))
    observe = lambda st: st.energy  # noqa: E731
    js.mcmc.run(jax.random.key(0), js.mcmc.checkerboard(js.ising.edwards_anderson(jax.random.key(0), (6, 6)),
                                                        packed=True), s0, 0.5, 3, observe=observe)
    before = driver._run_compiled._cache_size()
    for seed in (1, 2, 3):
        model = js.ising.edwards_anderson(jax.random.key(seed), (6, 6))
        js.mcmc.run(jax.random.key(seed), js.mcmc.checkerboard(model, packed=True), s0, 0.5, 3, observe=observe)
    assert driver._run_compiled._cache_size() == before


@pytest.mark.parametrize("rule", ["metropolis", "glauber"])
def test_zero_couplings_at_infinite_beta_keep_every_spin(rule):
    """J = 0: every flip has dE = 0, which the tie rule keeps at beta = inf (as the float path)."""
    model = js.ising.lattice((4, 4), J=0.0)
    s0 = js.ising.random_spins(jax.random.key(12), (4, 4))
    sampler = js.mcmc.checkerboard(model, rule, packed=True)
    state, _ = sampler.step(jax.random.key(13), sampler.init(s0), jnp.inf)
    np.testing.assert_array_equal(state.spins, s0)
    state, _ = sampler.step(jax.random.key(13), sampler.init(s0), 1.0)
    assert bool(jnp.any(state.spins != s0))


def test_invalid_beta_gives_nan():
    sampler = js.mcmc.checkerboard(js.ising.lattice((4, 4)), packed=True)
    state = sampler.init(jnp.ones((4, 4)))
    out = jax.jit(lambda b: sampler.step(jax.random.key(0), state, b)[0].energy)(jnp.float32(-1.0))
    assert np.isnan(out)


def test_parallel_tempering_over_packed_replicas():
    model = js.ising.lattice((8, 8))
    pt = js.mcmc.parallel_tempering(js.mcmc.checkerboard(model, packed=True), jnp.linspace(0.2, 0.5, 4))
    state, trace = js.mcmc.run(jax.random.key(11), pt, jnp.ones((8, 8)), None, 10)
    np.testing.assert_allclose(state.energy, js.ising.energy(model, state.spins), atol=1e-4)
    assert trace["swap_acceptance"].shape == (10, 3)


@pytest.mark.parametrize("model,match", [
    (lambda: js.ising.lattice((4, 4), h=0.1), "field"),
    (lambda: js.ising.lattice((4, 4), h=jnp.zeros((4, 4))), "per-site field"),
    (lambda: js.ising.lattice((4, 4), periodic=False), "periodic boundaries"),
    (lambda: js.ising.edwards_anderson(jax.random.key(0), (4, 4), bonds="gaussian"), "one magnitude"),
    (lambda: js.ising.lattice((4, 5), periodic=(True, False)), "periodic boundaries"),
    (lambda: js.ising.sherrington_kirkpatrick(jax.random.key(0), 8), "lattice"),
])
def test_unsupported_models_are_refused_naming_the_supported_cases(model, match):
    with pytest.raises(ValueError, match=match) as err:
        js.mcmc.checkerboard(model(), packed=True)
    assert "supported" in str(err.value) or "nearest-neighbour" in str(err.value)


def test_bad_states_and_options_are_refused():
    sampler = js.mcmc.checkerboard(js.ising.lattice((4, 4)), packed=True)
    with pytest.raises(ValueError, match="PackedState"):
        sampler.step(jax.random.key(0), js.mcmc.checkerboard(js.ising.lattice((4, 4))).init(jnp.ones((4, 4))), 0.3)
    other = js.mcmc.checkerboard(js.ising.lattice((4, 8)), packed=True).init(jnp.ones((4, 8)))
    with pytest.raises(ValueError, match="state.words must have shape"):
        sampler.step(jax.random.key(0), other, 0.3)
    with pytest.raises(ValueError, match="mesh"):
        js.mcmc.checkerboard(js.ising.lattice((4, 4)), packed=True, mesh=jax.sharding.Mesh(jax.devices()[:1], ("x",)))
    with pytest.raises(ValueError, match="even last side"):
        js.mcmc.pack_spins(jnp.ones((4, 5)))
    with pytest.raises(ValueError, match="uint32"):
        js.mcmc.unpack_spins(jnp.ones((2, 4, 1)), (4, 4))
    with pytest.raises(ValueError, match=r"\+1/-1|spins"):
        sampler.init(jnp.zeros((4, 4)))
