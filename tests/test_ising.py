"""Models: energies, local fields, conversions, disorder, validation, dtypes."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js


def brute_energy(J, h, s):
    return -0.5 * s @ J @ s - h @ s


@pytest.mark.parametrize(
    "shape,periodic",
    [((5,), True), ((6,), False), ((3, 4), True), ((3, 4), (True, False)), ((2, 3, 4), False), ((2, 2, 2), True)],
)
def test_lattice_matches_dense_energy_and_field(shape, periodic):
    key = jax.random.key(0)
    kJ, kh, ks = jax.random.split(key, 3)
    d = len(shape)
    J = jax.random.normal(kJ, (d,) + shape)
    h = jax.random.normal(kh, shape)
    m = js.ising.lattice(shape, J=J, h=h, periodic=periodic)
    md = js.ising.to_dense(m)
    s = js.ising.random_spins(ks, (7,) + shape)
    flat = s.reshape(7, -1)
    np.testing.assert_allclose(js.ising.energy(m, s), js.ising.energy(md, flat), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        js.ising.local_field(m, s).reshape(7, -1), js.ising.local_field(md, flat), rtol=1e-5, atol=1e-4
    )
    Jn, hn = np.asarray(md.J, np.float64), np.asarray(md.h, np.float64)
    assert np.allclose(Jn, Jn.T) and np.all(np.diag(Jn) == 0)
    for i in range(3):
        assert np.isclose(float(js.ising.energy(md, flat[i])), brute_energy(Jn, hn, np.asarray(flat[i])), atol=1e-4)


def test_uniform_lattice_bond_count():
    for shape, periodic, bonds in [((4, 4), True, 32), ((4, 4), False, 24), ((3, 3, 3), True, 81), ((5,), False, 4)]:
        m = js.ising.lattice(shape, periodic=periodic)
        assert float(js.ising.energy(m, jnp.ones(shape))) == -bonds


@pytest.mark.parametrize("kind", ["lattice", "dense"])
def test_local_field_is_minus_gradient(kind):
    key = jax.random.key(3)
    if kind == "lattice":
        m = js.ising.edwards_anderson(key, (4, 5), bonds="gaussian", h=0.3, periodic=(True, False))
    else:
        m = js.ising.sherrington_kirkpatrick(key, 12, h=0.2)
    s = js.ising.random_spins(jax.random.key(4), js.ising.site_shape(m))
    grad = jax.grad(lambda x: js.ising.energy(m, x))(s)
    np.testing.assert_allclose(js.ising.local_field(m, s), -grad, atol=1e-5)


def test_neuron_spin_conversion_exact():
    rng = np.random.default_rng(1)
    n = 7
    W = rng.normal(size=(n, n))
    W = W + W.T
    np.fill_diagonal(W, 0)
    theta = rng.normal(size=n)
    model, const = js.ising.from_neurons(W, theta)
    acts = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float32)
    spins = 2 * acts - 1
    e_spin = np.asarray(js.ising.energy(model, spins)) + float(const)
    e_neur = -0.5 * np.einsum("bi,ij,bj->b", acts, W, acts) + acts @ theta
    np.testing.assert_allclose(e_spin, e_neur, atol=1e-4)
    # local field is half the membrane potential: same sign, same dynamics
    u = acts @ W.T - theta
    np.testing.assert_allclose(2 * np.asarray(js.ising.local_field(model, spins)), u, atol=1e-4)
    # round trip
    W2, theta2, const2 = js.ising.to_neurons(model)
    np.testing.assert_allclose(W2, W, atol=1e-5)
    np.testing.assert_allclose(theta2, theta, atol=1e-5)
    e_back = np.asarray(js.ising.energy(model, spins)) + float(const2)
    np.testing.assert_allclose(e_back, np.asarray(js.ising.neuron_energy(W2, theta2, acts)), atol=1e-4)


def test_to_neurons_of_lattice_is_exact():
    m = js.ising.lattice((3, 3), J=0.7, h=-0.2)
    W, theta, const = js.ising.to_neurons(m)
    s = js.ising.random_spins(jax.random.key(9), (20, 3, 3))
    n = (s.reshape(20, -1) + 1) / 2
    np.testing.assert_allclose(
        js.ising.energy(m, s) + const, js.ising.neuron_energy(W, theta, n), atol=1e-4
    )


def test_disorder_generators():
    m = js.ising.sherrington_kirkpatrick(jax.random.key(0), 400)
    J = np.asarray(m.J)
    off = J[np.triu_indices(400, 1)]
    assert np.allclose(J, J.T) and np.all(np.diag(J) == 0)
    # variance 1/n with standard error sqrt(2/k)/n for k Gaussian samples (exact, not estimated;
    # k = 79800, so the sample variance is Gaussian to high accuracy): two-sided 4-sigma, 6.3e-5
    k = off.size
    assert abs(off.var() * 400 - 1) < 4 * np.sqrt(2 / k)
    ea = js.ising.edwards_anderson(jax.random.key(1), (8, 8), bonds="pm")
    assert set(np.unique(np.asarray(ea.J))) == {-1.0, 1.0}
    eg = js.ising.edwards_anderson(jax.random.key(1), (8, 8), bonds="gaussian", periodic=False)
    # open boundaries: wrap-around bonds are zero
    assert np.all(np.asarray(eg.J)[0, -1, :] == 0) and np.all(np.asarray(eg.J)[1, :, -1] == 0)


def test_magnetization_and_batches():
    m = js.ising.lattice((4, 4))
    s = jnp.stack([jnp.ones((4, 4)), -jnp.ones((4, 4))])
    np.testing.assert_allclose(js.ising.magnetization(s, m), [1.0, -1.0])
    assert float(js.ising.magnetization(s[0])) == 1.0
    np.testing.assert_allclose(js.ising.energy_per_spin(m, s), [-2.0, -2.0])
    # vmap gives the same as leading batch axes
    np.testing.assert_allclose(jax.vmap(lambda x: js.ising.energy(m, x))(s), js.ising.energy(m, s))


def test_dtypes_preserved():
    m = js.ising.lattice((4, 4))
    s = jnp.ones((4, 4), jnp.float32)
    assert js.ising.energy(m, s).dtype == jnp.float32
    assert js.ising.local_field(m, s).dtype == jnp.float32
    with jax.enable_x64(True):
        m64 = js.ising.lattice((4, 4))
        assert m64.dtype == jnp.float64
        s64 = jnp.ones((4, 4))
        assert js.ising.energy(m64, s64).dtype == jnp.float64
        d64 = js.ising.sherrington_kirkpatrick(jax.random.key(0), 5)
        assert js.ising.local_field(d64, jnp.ones(5)).dtype == jnp.float64


def test_asymmetric_allowed_for_dynamics_only():
    J = np.array([[0.0, 1.0], [-1.0, 0.0]])
    with pytest.raises(ValueError, match="symmetric"):
        js.ising.dense(J)
    m = js.ising.dense(J, allow_asymmetric=True)
    np.testing.assert_allclose(js.ising.local_field(m, jnp.array([1.0, 1.0])), [1.0, -1.0])
    with pytest.raises(ValueError, match="symmetric"):
        js.ising.energy(m, jnp.array([1.0, 1.0]))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: js.ising.dense(np.ones((3, 4))), r"J must be a square"),
        (lambda: js.ising.dense(np.eye(3)), r"zero diagonal"),
        (lambda: js.ising.dense(np.zeros((3, 3)), np.zeros(4)), r"h must .* shape \(N,\)"),
        (lambda: js.ising.dense(np.full((2, 2), np.nan)), r"finite"),
        (lambda: js.ising.lattice((4, 4), J=np.ones((4, 4))), r"J must be a scalar or have shape"),
        (lambda: js.ising.lattice((4, 4), h=np.ones(3)), r"h must be a scalar or have the lattice shape"),
        (lambda: js.ising.lattice((1, 4)), r"periodic axis 0 needs side length >= 2"),
        (lambda: js.ising.lattice((0, 4)), r"shape\[0\] must be an integer >= 1"),
        (lambda: js.ising.lattice((4, 4), periodic=(True,)), r"periodic must be"),
        (lambda: js.ising.lattice((4, 4), h=np.full((4, 4), np.inf)), r"fields h must be finite"),
        (lambda: js.ising.energy(js.ising.lattice((4, 4)), jnp.ones((4, 5))), r"trailing shape \(4, 4\)"),
        (lambda: js.ising.energy(js.ising.lattice((2, 2)), jnp.array([[1.0, 0.0], [1.0, 1.0]])), r"only -1 and \+1"),
        (lambda: js.ising.edwards_anderson(jax.random.key(0), (4, 4), bonds="uniform"), r"bonds must be"),
        (lambda: js.ising.from_neurons(np.zeros((3, 3)), np.zeros(2)), r"theta must have shape"),
        (lambda: js.ising.energy("not a model", jnp.ones(3)), r"model must be a jaxstat.ising model"),
        (lambda: js.ising.lattice((4, 4), periodic=1), r"periodic must be a bool or 2 bools"),
        (lambda: js.ising.dense(np.array([[0, 1j], [1j, 0]])), r"J must be real; got complex"),
        (lambda: js.ising.from_neurons(np.eye(3), np.zeros(3)), r"weights W must have a zero diagonal"),
        (lambda: js.ising.from_neurons(np.triu(np.ones((3, 3)), 1), np.zeros(3)), r"weights W must be symmetric"),
        (lambda: js.ising.magnetization(jnp.array([0.5, 3.0])), r"only -1 and \+1"),
        (lambda: js.ising.sherrington_kirkpatrick(0, 4), r"key must be a JAX PRNG key"),
    ],
)
def test_bad_input_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
