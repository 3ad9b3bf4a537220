"""The zero-temperature tie rule (docs/conventions.md): at beta = inf a spin whose
local field is exactly zero keeps its value, in every sampler; at finite beta
the same configurations move (the controls), so the checks can fail."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat.mcmc.kawasaki import _accepts

# s(x, y) = a(x) a(y) with a = (+, +, -, -, ...): every site has two up and two
# down neighbours, so every local field is exactly zero and the energy is 0.
_A = np.array([1.0, 1.0, -1.0, -1.0] * 2)
ALL_TIES = jnp.asarray(np.outer(_A, _A))
LATTICE = js.ising.lattice((8, 8))

SAMPLERS = {
    "metropolis": lambda m: js.mcmc.metropolis(m),
    "glauber": lambda m: js.mcmc.glauber(m),
    "checkerboard-metropolis": lambda m: js.mcmc.checkerboard(m, rule="metropolis"),
    "checkerboard-glauber": lambda m: js.mcmc.checkerboard(m, rule="glauber"),
}


def _final_spins(sampler, spins, beta, n_sweeps=3):
    return js.mcmc.run(jax.random.key(0), sampler, spins, beta, n_sweeps)[0].spins


def test_the_configuration_is_all_ties():
    assert np.all(np.asarray(js.ising.local_field(LATTICE, ALL_TIES)) == 0)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_zero_field_spins_keep_their_value_at_zero_temperature(name):
    sampler = SAMPLERS[name](LATTICE)
    np.testing.assert_array_equal(_final_spins(sampler, ALL_TIES, jnp.inf), ALL_TIES)
    # control: at finite beta 64 zero-field sites each move with probability 1/2 (heat
    # bath) or 1 (Metropolis) per visit; all staying put has probability < 2^-64
    assert np.any(np.asarray(_final_spins(sampler, ALL_TIES, 0.5)) != np.asarray(ALL_TIES))


@pytest.mark.parametrize("rule", ["metropolis", "glauber"])
def test_dense_path_follows_the_tie_rule(rule):
    dense = js.ising.to_dense(LATTICE)
    spins = ALL_TIES.ravel()
    sampler = js.mcmc.single_spin(dense, rule=rule)
    np.testing.assert_array_equal(_final_spins(sampler, spins, jnp.inf), spins)


# An L-shaped domain of 3 up spins on a 4 x 4 torus: some exchanges leave the
# energy unchanged, none lowers it (checked below), so at beta = inf Kawasaki
# dynamics must leave it in place.
L_SHAPE = jnp.asarray(
    [[1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, -1.0]]
)


def _exchange_energy_changes(s):
    s = np.asarray(s)
    m = js.ising.lattice(s.shape)
    e0 = float(js.ising.energy(m, s))
    out = []
    for x in range(4):
        for y in range(4):
            for dx, dy in ((1, 0), (0, 1)):
                x2, y2 = (x + dx) % 4, (y + dy) % 4
                if s[x, y] != s[x2, y2]:
                    t = s.copy()
                    t[x, y], t[x2, y2] = t[x2, y2], t[x, y]
                    out.append(float(js.ising.energy(m, t)) - e0)
    return np.array(out)


@pytest.mark.parametrize("rule", ["metropolis", "glauber"])
def test_kawasaki_refuses_zero_energy_exchanges_at_zero_temperature(rule):
    changes = _exchange_energy_changes(L_SHAPE)
    assert changes.min() == 0 and np.any(changes == 0)
    sampler = js.mcmc.kawasaki(js.ising.lattice((4, 4)), rule=rule)
    np.testing.assert_array_equal(_final_spins(sampler, L_SHAPE, jnp.inf, 5), L_SHAPE)
    # control: at beta = 1 a zero-energy exchange is accepted w.p. 1 (Metropolis) or 1/2,
    # and 5 sweeps propose one of the 4 such exchanges ~80 times; ending exactly where it
    # started has probability far below 1e-6
    moved = jax.vmap(lambda k: js.mcmc.run(k, sampler, L_SHAPE, 1.0, 5)[0].spins)(
        jax.random.split(jax.random.key(1), 4)
    )
    assert np.any(np.asarray(moved) != np.asarray(L_SHAPE)[None])


def test_kawasaki_acceptance_at_a_tie():
    v_metropolis, v_heat_bath = jnp.float32(0.1), jnp.float32(-5.0)  # a tiny uniform's variates
    assert not bool(_accepts("metropolis", 0.0, jnp.inf, v_metropolis))
    assert not bool(_accepts("glauber", 0.0, jnp.inf, v_heat_bath))
    assert bool(_accepts("metropolis", 0.0, 1.0, v_metropolis))
    assert bool(_accepts("glauber", 0.0, 1.0, v_heat_bath))
