"""The native CPU union-find (jaxstat/_native.py) against FastSV: the same roots, flips and
cluster counts on any lattice, vmapped too, hence bit-identical Swendsen-Wang and Wolff
chains; and the build's cache, switch and platform guard."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat import _native
from jaxstat.mcmc import _lattice

pytestmark = pytest.mark.skipif(not _native.available(), reason=f"native kernels unavailable: "
                                f"{_native.why_unavailable()}")


def both_paths(fn, *args, monkeypatch):
    """``jit(fn)(*args)`` natively, then with the native kernels switched off (a fresh trace each)."""
    native = jax.jit(lambda *a: fn(*a))(*args)
    with monkeypatch.context() as m:
        m.setattr(_native, "available", lambda: False)
        portable = jax.jit(lambda *a: fn(*a))(*args)
    return native, portable


def assert_trees_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# odd and 1-long axes, rows longer than a 64-bit word, 3D; bond densities through percolation
@pytest.mark.parametrize("shape", [(9, 1), (1, 9), (5, 7), (33, 70), (3, 4, 5), (130,)], ids=str)
def test_cluster_flips_match_fastsv(shape, monkeypatch):
    rng = np.random.default_rng(sum(shape))
    n = math.prod(shape)
    for p in (0.3, 0.55, 1.0):
        bonds = jnp.asarray(rng.random((len(shape),) + shape) < p)
        coins = jnp.asarray(rng.integers(0, 2**32, _lattice.n_coin_words(n), dtype=np.uint32))
        for ghost in (None, jnp.asarray(rng.random(shape) < 0.05)):
            native, portable = both_paths(_lattice.cluster_flips, bonds, ghost, coins, monkeypatch=monkeypatch)
            assert_trees_equal(native, portable)
            roots, flip, n_clusters = native
            assert roots.shape == (n + (ghost is not None),) and flip.shape == shape and flip.dtype == bool
            if ghost is not None:  # the ghost's cluster never flips
                assert not np.asarray(flip).ravel()[np.asarray(roots[:n]) == int(roots[n])].any()


def test_vmapped_flips_are_each_chains_own(monkeypatch):
    rng = np.random.default_rng(7)
    bonds = jnp.asarray(rng.random((4, 2, 6, 66)) < 0.5)
    ghost = jnp.asarray(rng.random((4, 6, 66)) < 0.1)
    coins = jnp.asarray(rng.integers(0, 2**32, (4, _lattice.n_coin_words(6 * 66)), dtype=np.uint32))
    batched = jax.jit(jax.vmap(_lattice.cluster_flips))(bonds, ghost, coins)
    shared_ghost = jax.jit(jax.vmap(_lattice.cluster_flips, in_axes=(0, None, 0)))(bonds, ghost[0], coins)
    one = jax.jit(_lattice.cluster_flips)
    for c in range(4):
        assert_trees_equal([x[c] for x in batched], one(bonds[c], ghost[c], coins[c]))
        assert_trees_equal([x[c] for x in shared_ghost], one(bonds[c], ghost[0], coins[c]))
    _, portable = both_paths(jax.vmap(_lattice.cluster_flips), bonds, ghost, coins, monkeypatch=monkeypatch)
    assert_trees_equal(batched, portable)


@pytest.mark.parametrize("make", [js.mcmc.swendsen_wang, lambda m: js.mcmc.wolff(m, method="label")],
                         ids=["swendsen_wang", "wolff_label"])
def test_chains_bit_identical_on_both_paths(make, monkeypatch):
    model = js.ising.lattice((6, 5, 4), h=0.2)
    sampler = make(model)

    def chain(key, s):
        def body(t, carry):
            state, energies = carry
            state, _ = sampler.step(jax.random.fold_in(key, t), state, 0.35)
            return state, energies.at[t].set(state.energy)
        return jax.lax.fori_loop(0, 30, body, (sampler.init(s), jnp.zeros(30)))

    native, portable = both_paths(chain, jax.random.key(0), jnp.ones(model.shape), monkeypatch=monkeypatch)
    assert_trees_equal(native, portable)


def test_switch_and_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXSTAT_NATIVE", "0")
    with pytest.raises(RuntimeError, match="JAXSTAT_NATIVE=0"):
        _native._load()
    monkeypatch.delenv("JAXSTAT_NATIVE")
    monkeypatch.setenv("JAXSTAT_CACHE_DIR", str(tmp_path))
    compiler = _native._compiler()
    first = _native._build(compiler)
    stamp = first.stat().st_mtime_ns
    assert first.parent == tmp_path / "native" and _native._build(compiler) == first  # cached: not rebuilt
    assert first.stat().st_mtime_ns == stamp and list(first.parent.iterdir()) == [first]


def test_other_platforms_never_see_the_cpu_kernel():
    bonds, coins = jnp.ones((2, 8, 8), bool), jnp.zeros((_lattice.n_coin_words(64),), jnp.uint32)
    exported = jax.export.export(jax.jit(lambda b, c: _lattice.cluster_flips(b, None, c)), platforms=["cuda"])
    assert "jaxstat_fk" not in exported(bonds, coins).mlir_module()


def test_wolff_auto_labels_large_lattices_natively(monkeypatch):
    """``wolff(model)`` (method "auto") grows small clusters and labels from _LABEL_FROM_SITES
    sites on where the native union-find runs: the same chain either way."""
    from jaxstat.mcmc import cluster

    model = js.ising.lattice((16, 16))
    spins = jnp.ones((16, 16))

    def chain(sampler):
        run = jax.jit(lambda k, s: js.mcmc.run(k, sampler, s, 0.44, 20)[0].spins)
        return run, run(jax.random.key(4), spins)

    assert js.mcmc.wolff(model).method == "auto"
    _, grown = chain(js.mcmc.wolff(model, method="grow"))
    small, same = chain(js.mcmc.wolff(model))
    assert "jaxstat_fk" not in small.lower(jax.random.key(4), spins).as_text()
    monkeypatch.setattr(cluster, "_LABEL_FROM_SITES", 16 * 16)
    jax.clear_caches()
    large, labelled = chain(js.mcmc.wolff(model))
    assert "jaxstat_fk_label" in large.lower(jax.random.key(4), spins).as_text()
    jax.clear_caches()
    np.testing.assert_array_equal(same, grown)
    np.testing.assert_array_equal(labelled, grown)
