"""Re-created but equal callables (optimizers, observe functions) reuse compiled programs;
different ones do not; the wrapper is transparent inside the compiled function."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxstat as js
from jaxstat._static import Static, _global_names, structural_key
from jaxstat.boltzmann import train as rbm_train
from jaxstat.mcmc import driver


def test_structural_equality():
    assert Static(optax.sgd(0.05)) == Static(optax.sgd(0.05))
    assert hash(Static(optax.adam(1e-3))) == hash(Static(optax.adam(1e-3)))
    assert Static(optax.sgd(0.05)) != Static(optax.sgd(0.1))
    assert Static(optax.sgd(0.05)) != Static(optax.adam(0.05))
    assert Static(optax.sgd(0.05, momentum=0.9)) != Static(optax.sgd(0.05))

    def make(scale):
        return lambda s: {"m": scale * jnp.mean(s.spins)}

    assert Static(make(2.0)) == Static(make(2.0)) and Static(make(2.0)) != Static(make(3.0))
    assert Static(functools.partial(max, 1)) == Static(functools.partial(max, 1))
    # data that could change under the cache's feet is compared by identity
    def closing_over(x):
        return lambda: x

    a = np.ones(3)
    assert Static(closing_over(a)) == Static(closing_over(a))
    assert Static(closing_over(a)) != Static(closing_over(np.ones(3)))
    big = jnp.arange(1000.0)
    assert structural_key(big) != structural_key(jnp.arange(1000.0))
    assert structural_key(jnp.arange(3.0)) == structural_key(jnp.arange(3.0))
    # cycles do not recurse forever
    cyc = []
    cyc.append(cyc)
    assert Static(cyc) == Static(cyc)


SCALE = 2.0  # a module-level value that a function reads (rebound by the next test)


def _reads_scale():
    return lambda x: SCALE * x  # one code object for every call


def test_a_rebound_global_is_a_different_function():
    # Same code and closure, but the global it reads has changed: the compiled program of the
    # old value must not be reused (it would silently give the old answer).
    global SCALE
    fn = jax.jit(lambda f, x: f(x), static_argnums=0)
    before = Static(_reads_scale())
    assert Static(_reads_scale()) == before
    assert float(fn(Static(_reads_scale()), 1.0)) == 2.0
    try:
        SCALE = 3.0
        assert Static(_reads_scale()) != before
        assert float(fn(Static(_reads_scale()), 1.0)) == 3.0
    finally:
        SCALE = 2.0
    assert Static(_reads_scale()) == before
    # globals read by functions defined inside the function count too
    assert "SCALE" in _global_names((lambda: (lambda: SCALE)).__code__)


def test_transparent():
    opt = Static(optax.sgd(0.5))
    params = {"w": jnp.ones(2)}
    updates, _ = opt.update({"w": jnp.ones(2)}, opt.init(params), params)
    np.testing.assert_allclose(updates["w"], -0.5)
    assert Static(lambda x: x + 1)(1) == 2 and Static(Static(len)).value is len


def test_fit_with_a_fresh_optimizer_compiles_once():
    """The issue's loop: five seeds, a freshly built optax.sgd(lr) each time, one compilation."""
    data = (jax.random.uniform(jax.random.key(0), (40, 6)) < 0.5).astype(jnp.float32)
    before = rbm_train._epoch._cache_size()
    for seed in range(5):
        params = js.boltzmann.rbm(jax.random.key(seed), 6, 3)
        js.boltzmann.fit(jax.random.key(seed), params, data, n_epochs=1, batch_size=10,
                         optimizer=optax.sgd(0.05))
    assert rbm_train._epoch._cache_size() == before + 1
    # a different learning rate is a different program (hyperparameters are static unless injected)
    js.boltzmann.fit(jax.random.key(0), params, data, n_epochs=1, batch_size=10, optimizer=optax.sgd(0.07))
    assert rbm_train._epoch._cache_size() == before + 2


def test_run_with_a_re_created_observe_compiles_once():
    sampler = js.mcmc.checkerboard(js.ising.lattice((4, 4)))
    before = driver._run_compiled._cache_size()
    traces = []
    for seed in range(3):
        def observe(state):
            return {"m2": jnp.mean(state.spins) ** 2}

        traces.append(js.mcmc.run(jax.random.key(seed), sampler, jnp.ones((4, 4)), 0.3, 5, observe=observe)[1])
    assert driver._run_compiled._cache_size() == before + 1
    assert all(t["m2"].shape == (5,) for t in traces)


def test_nets_train_with_fresh_models_and_optimizers_compiles_once():
    """New seeds of the same architecture, a fresh optimizer each time, new data of the same shapes:
    one compiled program."""
    from jaxstat import nets

    x = jax.random.normal(jax.random.key(0), (24, 5))
    y = jnp.arange(24) % 3
    before = nets._train_run._cache_size()
    for seed in range(3):
        model = nets.mlp(jax.random.key(seed), (5, 4, 3))
        nets.train(model, x + seed, y, optax.sgd(0.1), n_epochs=2, batch_size=8, key=jax.random.key(seed))
    assert nets._train_run._cache_size() == before + 1
