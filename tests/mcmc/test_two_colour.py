"""The checkerboard sweep runs its two half-sweeps straight or in a loop (by the last
axis's length, for XLA:CPU's fusion); both must give the same chain bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat.mcmc import base


@pytest.mark.parametrize("shape, rule", [((6, 8), "metropolis"), ((4, 4, 6), "glauber")])
def test_loop_and_straight_half_sweeps_agree_bit_for_bit(monkeypatch, shape, rule):
    model = js.ising.edwards_anderson(jax.random.key(0), shape, bonds="gaussian", h=0.3)
    spins = js.ising.random_spins(jax.random.key(1), shape)
    runs = {}
    for name, threshold in (("loop", 10**9), ("straight", 0)):
        monkeypatch.setattr(base, "_ROLLS_FUSED_BELOW", threshold)
        sampler = js.mcmc.checkerboard(model, rule)
        state, energies = sampler.init(spins), []
        for key in jax.random.split(jax.random.key(2), 5):  # eager steps: each traces its own branch
            state, info = sampler.step(key, state, 0.7)
            energies.append(state.energy)
        runs[name] = state.spins, np.asarray(energies), info.acceptance_rate
    for a, b in zip(runs["loop"], runs["straight"]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs["loop"][0], spins)  # the chain moved


def test_two_half_sweeps_returns_the_second_half_fields(monkeypatch):
    s = jnp.arange(12.0).reshape(3, 4)

    def half_sweep(colour, s):
        return s + 1 + colour, s * 10

    for threshold in (10**9, 0):
        monkeypatch.setattr(base, "_ROLLS_FUSED_BELOW", threshold)
        s1, field = base.two_half_sweeps(half_sweep, s)
        np.testing.assert_array_equal(s1, s + 3)
        np.testing.assert_array_equal(field, (s + 1) * 10)
