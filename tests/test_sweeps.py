"""``jaxstat.sweep``: the same numbers as a hand-written nested vmap, bit for bit, for any chunk
size and device count; one compiled program per sweep; labels; clear errors for bad grids."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat import sweeps

L = 8
BETAS = jnp.array([0.2, 0.44, 0.7])
KEYS = jax.random.split(jax.random.key(11), 5)  # 3 x 5 = 15 points: chunks of 4 leave one to pad


def _one(beta, key, sampler):
    state, trace = js.mcmc.run(key, sampler, jnp.ones((L, L)), beta, 12)
    return {"m": trace["magnetization"], "e": jnp.mean(trace["energy"]), "spins": state.spins}


SAMPLER = js.mcmc.checkerboard(js.ising.lattice((L, L)))


def one_chain(beta, key):
    return _one(beta, key, SAMPLER)


@pytest.fixture(scope="module")
def nested():
    """The hand-written sweep: betas outside, seeds inside, one compiled nested vmap."""
    return jax.device_get(jax.jit(jax.vmap(jax.vmap(one_chain, (None, 0)), (0, None)))(BETAS, KEYS))


def assert_identical(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("batch_size", [None, 4, 1])
def test_equals_nested_vmap_for_any_chunk_size(nested, batch_size):
    """All points in one chunk, chunks of 4 (the last padded), one point at a time: the same bits."""
    r = js.sweep(one_chain, {"beta": BETAS, "key": KEYS}, batch_size=batch_size)
    assert_identical(r.values, nested)
    assert r.shape == (3, 5) and list(r.axes) == ["beta", "key"]
    assert r.values["m"].shape == (3, 5, 12) and r.values["spins"].shape == (3, 5, L, L)
    assert all(isinstance(v, np.ndarray) for v in jax.tree.leaves(r.values))  # gathered on the host


def test_axis_order_follows_the_grid(nested):
    """fn takes its point by keyword: the grid's order sets the result's axes, not fn's signature."""
    r = js.sweep(one_chain, {"key": KEYS, "beta": BETAS}, batch_size=6)
    assert r.shape == (5, 3)
    assert_identical(r.values, jax.tree.map(lambda a: np.swapaxes(a, 0, 1), nested))
    assert_identical(r.sel(beta=0.44).values, jax.tree.map(lambda a: a[1], nested))
    assert_identical(r.isel(key=slice(1, 3)).values, jax.tree.map(lambda a: np.swapaxes(a, 0, 1)[1:3], nested))
    assert r.isel(key=[4, 0]).axes["key"].shape == (2,)


def energy_fn():
    """A new function object each call, of the same code: what a loop that re-creates a lambda makes."""
    return lambda beta, key, sampler: _one(beta, key, sampler)["e"]


def test_one_compilation_for_all_chunks_and_for_re_created_functions():
    """Four chunks, a re-created function, new grid values and a fresh sampler of the same shapes
    passed as ``fixed``: one program. A new chunk size is a new program."""
    before = sweeps._chunk._cache_size()
    grid = {"beta": BETAS, "key": KEYS}
    energies = {}
    for scale in (1.0, 0.5, 1.0):  # couplings are traced data of the sampler: no recompilation
        sampler = js.mcmc.checkerboard(js.ising.lattice((L, L), J=scale))
        energies[scale] = js.sweep(energy_fn(), grid, fixed={"sampler": sampler}, batch_size=4).values
    # J = 0.5 at beta is J = 1 at beta / 2 (same keys, same random bits)
    half = js.sweep(energy_fn(), {"beta": BETAS / 2, "key": KEYS}, fixed={"sampler": sampler}, batch_size=4)
    assert sweeps._chunk._cache_size() == before + 1
    np.testing.assert_allclose(energies[0.5], half.values / 2, rtol=1e-6)
    js.sweep(energy_fn(), grid, fixed={"sampler": sampler}, batch_size=5)
    assert sweeps._chunk._cache_size() == before + 2


def test_pytree_axis_of_disorder_samples_against_exact_enumeration():
    """A stacked model pytree is one axis; zipped quantities are one axis too."""
    models = jax.vmap(lambda k: js.ising.sherrington_kirkpatrick(k, 6))(jax.random.split(jax.random.key(3), 4))
    betas = jnp.array([0.5, 1.0, 2.0])
    r = js.sweep(lambda model, beta: js.exact.enumerate(model, beta).log_z, {"model": models, "beta": betas},
                 batch_size=5)
    assert r.values.shape == (4, 3)
    for i in range(4):
        model = jax.tree.map(lambda a, i=i: a[i], models)
        for j, beta in enumerate(betas):
            np.testing.assert_allclose(r.values[i, j], js.exact.enumerate(model, beta).log_z, rtol=1e-6)
    zipped = js.sweep(lambda pair: pair["beta"] * pair["h"],
                      {"pair": {"beta": jnp.array([1.0, 2.0, 3.0]), "h": jnp.array([4.0, 5.0, 6.0])}})
    np.testing.assert_array_equal(zipped.values, [4.0, 10.0, 18.0])
    ints = js.sweep(lambda n, x: n * x, {"n": range(3), "x": [0.5, 1.5]})  # lists and ranges are 1-D axes
    np.testing.assert_array_equal(ints.values, np.outer(np.arange(3), [0.5, 1.5]))


def test_progress_bar_counts_points(capsys):
    js.sweep(lambda a: 2 * a, {"a": jnp.arange(7.0)}, batch_size=3, progress=True)
    err = capsys.readouterr().err
    assert "jaxstat.sweep" in err and "7/7" in err


def f2(a, b):
    return a + b


@pytest.mark.parametrize("kwargs, match", [
    (dict(fn=3, grid={"a": jnp.ones(2)}), "fn must be a function"),
    (dict(grid=[jnp.ones(2)]), "grid must be a dict"),
    (dict(grid={}), "at least one axis"),
    (dict(grid={"a": jnp.ones(2), "b": jnp.zeros(0)}), "axis 'b' has length 0"),
    (dict(grid={"a": jnp.ones(2), "b": {"x": jnp.zeros((0, 3)), "y": jnp.zeros(0)}}), "axis 'b' has length 0"),
    (dict(grid={"a": 1.0, "b": jnp.ones(2)}), "axis 'a' must have a leading axis"),
    (dict(grid={"a": jnp.ones(2), "b": {"x": jnp.ones(3), "y": jnp.ones(4)}}), "axis 'b'.*share their leading"),
    (dict(grid={"a": jnp.ones(2), "b": {}}), "axis 'b' holds no arrays"),
    (dict(grid={"a": jnp.ones(2), 0: jnp.ones(2)}), "names must be str"),
    (dict(grid={"a": jnp.ones(2), "b": ["x", "y"]}), "axis 'b' must hold arrays of numbers"),
    (dict(grid={"a": jnp.ones(2)}, fixed={"a": 1.0, "b": 2.0}), r"names \['a'\] are both"),
    (dict(fixed={"c": "metropolis"}), "fixed argument 'c' must be a pytree of arrays"),
    (dict(fixed=[1.0]), "fixed must be a dict"),
    (dict(batch_size=0), "batch_size must be an integer >= 1; got 0"),
    (dict(batch_size=2.5), "batch_size must be an integer"),
    (dict(devices=0), "devices must be between 1 and the 1 local device"),
    (dict(devices=[]), "devices must be a non-empty sequence"),
    (dict(devices=["cpu"]), "devices must be a non-empty sequence"),
])
def test_bad_input(kwargs, match):
    before = sweeps._chunk._cache_size()
    args = dict(fn=f2, grid={"a": jnp.ones(2), "b": jnp.ones(3)}) | kwargs
    with pytest.raises(ValueError, match=match):
        js.sweep(args.pop("fn"), args.pop("grid"), **args)
    assert sweeps._chunk._cache_size() == before  # refused before anything was compiled


def test_bad_calls():
    with pytest.raises(ValueError, match="axis 'a' is traced.*lax.map"):
        jax.jit(lambda a: js.sweep(lambda a: a, {"a": a}).values)(jnp.ones(3))
    with pytest.raises(ValueError, match="PRNG key"):
        js.sweep(lambda key: key, {"key": KEYS})
    r = js.sweep(f2, {"a": jnp.arange(2.0), "b": jnp.arange(3.0)})
    with pytest.raises(ValueError, match=r"\[7.0\] not found on axis 'b'"):
        r.sel(b=7.0)
    with pytest.raises(ValueError, match="'c'"):
        r.isel(c=0)


# --------------------------------------------------------------------------- #
# Several devices: one subprocess with 8 simulated CPU devices (the flag must be set before jax is
# imported), meshes over 1, 2, 4 and 8 of them, against the nested vmap on one device.
# --------------------------------------------------------------------------- #
_MULTI = r"""
import json, re, sys
import jax, jax.numpy as jnp, numpy as np
import jaxstat as js
from jaxstat import sweeps
sys.path.insert(0, "tests")
from test_sweeps import BETAS, KEYS, one_chain

assert len(jax.devices()) == 8, jax.devices()
ref = jax.device_get(jax.jit(jax.vmap(jax.vmap(one_chain, (None, 0)), (0, None)))(BETAS, KEYS))
out = {}
for n, batch_size in ((1, 4), (2, 4), (4, None), (8, 3), (8, None)):
    devices = {1: 1, 2: jax.devices()[:2], 4: jax.devices()[:4], 8: None}[n]   # an int, a list, None: all
    r = js.sweep(one_chain, {"beta": BETAS, "key": KEYS}, batch_size=batch_size, devices=devices)
    out[f"{n}/{batch_size}"] = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(r.values)))
# the compiled chunk on 8 devices: 8 SPMD partitions and no collective of any kind
mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("batch",))
index = {"beta": jnp.zeros(8, jnp.int32), "key": jnp.zeros(8, jnp.int32)}
hlo = sweeps._chunk.lower({"beta": BETAS, "key": KEYS}, {}, index, fn=sweeps.static(one_chain),
                          mesh=mesh).compile().as_text()
out["partitions"] = [int(n) for n in re.findall(r"num_partitions=(\d+)", hlo)]
out["collectives"] = [op for op in ("all-gather", "all-reduce", "all-to-all", "collective-permute", "reduce-scatter")
                      if op in hlo]
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def multi_device():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", _MULTI], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT ", 1)[1])


def test_device_count_invariance(multi_device):
    """1, 2, 4 and 8 devices, chunks of several sizes (padded, rounded to the device count): the same bits."""
    assert multi_device["1/4"] and multi_device["2/4"] and multi_device["4/None"]
    assert multi_device["8/3"] and multi_device["8/None"]


def test_sharded_chunk_communicates_nothing(multi_device):
    assert multi_device["partitions"] == [8]
    assert multi_device["collectives"] == []
