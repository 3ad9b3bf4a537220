"""jaxstat.parallel: batch placement, device-count invariance and the multi-host recipe.

The invariance checks need 8 devices, which XLA only simulates when
``XLA_FLAGS`` is set before jax is imported: one subprocess runs
``tests/_parallel_devices.py`` once for the whole module and the tests read
its JSON. The multi-host test launches ``examples/multihost.py`` as two
local processes (CPU backend, gloo collectives) and compares their file with
a single-process run bit for bit.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from helpers import once_per_session
from jaxstat import parallel

ROOT = Path(__file__).resolve().parent.parent
MESHES = ("2", "4", "8")


def _env(n_devices=None):
    env = dict(os.environ, JAX_PLATFORMS="cpu")  # simulated devices are CPU devices, even on a GPU machine
    flags = [f for f in env.get("XLA_FLAGS", "").split() if "xla_force_host_platform_device_count" not in f]
    if n_devices:
        flags.append(f"--xla_force_host_platform_device_count={n_devices}")
    env["XLA_FLAGS"] = " ".join(flags)
    return env


def _run_device_checks():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "_parallel_devices.py")],
        env=_env(8), capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def devices(tmp_path_factory, worker_id):
    return json.loads(once_per_session(tmp_path_factory, worker_id, "parallel_devices", _run_device_checks))


# --------------------------------------------------------------------------- #
# device-count invariance (8 simulated devices, meshes of 1, 2, 4 and 8)
# --------------------------------------------------------------------------- #
def test_the_subprocess_sees_eight_devices(devices):
    assert devices["n_devices"] == 8


@pytest.mark.parametrize("n", MESHES)
def test_sharded_checkerboard_chains_are_bit_identical_to_one_device(devices, n):
    case = devices["lattice_batches"]
    assert case["sanity"]["chains"] == {"chains_distinct": True, "finite": True}
    got = case[n]["chains"]
    assert got["devices"] == int(n)  # really split over n devices
    assert {"[0].spins", "[0].energy", "[1]['energy']", "[1]['magnetization']", "[1]['acceptance_rate']"} <= set(
        got["fields"]
    )
    assert got["differ"] == []


@pytest.mark.parametrize("n", MESHES)
def test_map_batch_sk_and_tempering_chains_are_bit_identical_on_any_mesh(devices, n):
    case = devices["dense_batches"]
    assert case["sanity"]["sk"] == {"chains_distinct": True, "finite": True}
    assert case["sanity"]["pt"] == {"chains_distinct": True, "finite": True, "exchanged": True}
    got = case[n]
    assert got["devices"] == int(n)
    fields = set(got["fields"])
    # SK glauber (temperature x disorder) and parallel tempering: spins, fields, energies, every trace field.
    assert {"['sk'][0].spins", "['sk'][0].field", "['sk'][1]['energy']", "['sk'][1]['acceptance_rate']"} <= fields
    assert {"['pt'][0].replicas.spins", "['pt'][0].replica", "['pt'][1]['swap_acceptance']",
            "['pt'][1]['swapped']", "['pt'][1]['round_trips']", "['pt'][1]['energy']"} <= fields
    assert got["differ"] == []


@pytest.mark.parametrize("n", MESHES)
def test_tempering_with_its_replica_axis_sharded_is_bit_identical(devices, n):
    case = devices["lattice_batches"]
    assert case["sanity"]["replicas"] == {"exchanged": True, "finite": True}
    got = case[n]["replicas"]
    assert got["devices"] == int(n)
    assert {"[0].replicas.spins", "[0].replica", "[1]['swap_acceptance']", "[1]['energy']"} <= set(got["fields"])
    assert got["differ"] == []


@pytest.mark.parametrize(
    "call, expected",
    [
        ("shard_batch", ["x['spins']", "6", "4 device(s)"]),
        ("chain_keys", ["n_chains (10)", "4 device(s)"]),
        ("map_batch", ["args[0]", "(6 along axis 0)", "4 device(s)"]),
        ("map_batch_chunk", ["chunk_size (3)", "rows per device (2", "batch of 8 over 4"]),
        ("local_rows", ["batch_size (6)", "4 device(s)"]),
        ("shard_local_batch", ["(6 along axis 0)", "4 device(s) of this process"]),
        ("too_many_devices", ["8 local device(s)", "got 9"]),
    ],
)
def test_a_mesh_that_does_not_divide_the_batch_is_refused_naming_both(devices, call, expected):
    message = devices["errors"][call]
    assert message is not None, f"{call} did not raise"
    for part in expected:
        assert part in message


# --------------------------------------------------------------------------- #
# the helpers on this process's devices
# --------------------------------------------------------------------------- #
def test_batch_mesh_forms_and_bad_devices():
    assert parallel.batch_mesh().devices.tolist() == jax.devices()
    mesh = parallel.batch_mesh(1, axis_name="chains")
    assert dict(mesh.shape) == {"chains": 1} and mesh.devices.tolist() == jax.local_devices()[:1]
    assert parallel.batch_mesh(jax.devices()[:1]).devices.tolist() == jax.devices()[:1]
    for bad, text in [(0, "between 1 and"), ([], "non-empty"), (["cpu"], "jax devices"),
                      (jax.devices()[:1] * 2, "distinct"), (1.5, "number of local devices")]:
        with pytest.raises(ValueError, match=text):
            parallel.batch_mesh(bad)
    with pytest.raises(ValueError, match="axis_name"):
        parallel.batch_mesh(axis_name="")


def test_shard_batch_places_every_leaf_and_keeps_values():
    mesh = parallel.batch_mesh()
    keys = jax.random.split(jax.random.key(0), 4)
    tree = {"spins": jnp.arange(24.0).reshape(4, 2, 3), "keys": keys, "beta": np.linspace(0.1, 0.4, 4)}
    out = parallel.shard_batch(tree, mesh)
    assert jax.tree.structure(out) == jax.tree.structure(tree)
    for leaf in jax.tree.leaves(out):
        assert leaf.sharding == jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    np.testing.assert_array_equal(out["spins"], tree["spins"])
    np.testing.assert_array_equal(jax.random.key_data(out["keys"]), jax.random.key_data(keys))
    axis1 = parallel.shard_batch(jnp.ones((3, 4)), mesh, axis=1)
    assert axis1.sharding.spec == jax.sharding.PartitionSpec(None, "batch")


def test_shard_batch_bad_input():
    with pytest.raises(ValueError, match=r"x\['beta'\] must have a batch axis 0; got shape \(\)"):
        parallel.shard_batch({"spins": jnp.ones((4, 2)), "beta": 0.5})
    with pytest.raises(ValueError, match="batch axis 2"):
        parallel.shard_batch(jnp.ones((4, 2)), axis=2)
    with pytest.raises(ValueError, match="mesh must be a jax.sharding.Mesh"):
        parallel.shard_batch(jnp.ones(4), mesh=4)
    with pytest.raises(ValueError, match="axis must be an integer >= 0"):
        parallel.shard_batch(jnp.ones(4), axis=-1)
    with pytest.raises(ValueError, match="at least one array"):
        parallel.shard_batch({})


def test_replicate_and_chain_keys():
    betas = parallel.replicate({"betas": jnp.linspace(0.1, 1.0, 3), "key": jax.random.key(1)})
    assert all(leaf.sharding.is_fully_replicated for leaf in jax.tree.leaves(betas))
    keys = parallel.chain_keys(jax.random.key(7), 6)
    np.testing.assert_array_equal(jax.random.key_data(keys), jax.random.key_data(jax.random.split(jax.random.key(7), 6)))
    legacy = parallel.chain_keys(jax.random.PRNGKey(7), 2)
    assert legacy.shape == (2, 2)
    with pytest.raises(ValueError, match="one PRNG key, not a batch"):
        parallel.chain_keys(jax.random.split(jax.random.key(0), 2), 4)
    with pytest.raises(ValueError, match="n_chains must be an integer >= 1"):
        parallel.chain_keys(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
        parallel.chain_keys(3, 4)


L = 6
SAMPLER = js.mcmc.checkerboard(js.ising.lattice((L, L)))


def _chain(key, beta):
    state, trace = js.mcmc.run(key, SAMPLER, js.ising.random_spins(jax.random.fold_in(key, 1), (L, L)), beta, 5)
    return state.spins, trace


def test_map_batch_in_chunks_equals_vmap_bit_for_bit_and_compiles_once():
    # Lattice chains round alike in any batch shape, so chunks of 2 must reproduce the whole
    # vmap exactly: a wrong chunk offset or order would show. (The doctest checks the same
    # for one chunk.)
    keys = jax.random.split(jax.random.key(3), 4)
    betas = jnp.linspace(0.2, 0.6, 4)
    expected = jax.jit(jax.vmap(_chain))(keys, betas)
    got = parallel.map_batch(_chain, keys, betas, chunk_size=2)
    assert len({np.asarray(s).tobytes() for s in expected[0]}) == 4  # distinct rows
    for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(got)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    n_programs = parallel._map_compiled._cache_size()
    parallel.map_batch(_chain, jax.random.split(jax.random.key(4), 4), betas + 0.1, chunk_size=2)
    assert parallel._map_compiled._cache_size() == n_programs  # new keys and betas: same program


def test_map_batch_bad_input():
    with pytest.raises(ValueError, match="f must be a function"):
        parallel.map_batch(jnp.ones(4), jnp.ones(4))
    with pytest.raises(ValueError, match="at least one batched argument"):
        parallel.map_batch(_chain)
    with pytest.raises(ValueError, match=r"same batch size on axis 0; got \{'args\[0\]': 4, 'args\[1\]': 3\}"):
        parallel.map_batch(_chain, jax.random.split(jax.random.key(0), 4), jnp.ones(3))
    with pytest.raises(ValueError, match=r"chunk_size \(3\) must divide the rows per device \(4"):
        parallel.map_batch(_chain, jax.random.split(jax.random.key(0), 4), jnp.ones(4), chunk_size=3)


def test_local_data_and_to_host_in_one_process():
    mesh = parallel.batch_mesh()
    assert parallel.local_rows(8, mesh) == slice(0, 8)
    x = np.arange(8.0, dtype=np.float32)[parallel.local_rows(8, mesh)]
    keys = jax.random.split(jax.random.key(2), 8)
    glob = parallel.shard_local_batch({"x": x, "keys": keys}, mesh)
    assert glob["x"].sharding.spec == jax.sharding.PartitionSpec("batch")
    host = parallel.to_host(glob)
    assert isinstance(host["x"], np.ndarray) and np.array_equal(host["x"], x)
    assert np.array_equal(host["keys"], np.asarray(jax.random.key_data(keys)))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        parallel.local_rows(0)


# --------------------------------------------------------------------------- #
# multi-host: two local processes of examples/multihost.py
# --------------------------------------------------------------------------- #
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(out, env, *extra):
    cmd = [sys.executable, str(ROOT / "examples" / "multihost.py"), "--out", str(out), "--n-chains", "8",
           "--size", "8", "--n-sweeps", "20", "--burn-in", "10", *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_write_the_single_process_result_bit_for_bit(tmp_path):
    """Two processes with 2 CPU devices each (a 4-device global mesh) against one process on one device."""
    port = _free_port()
    procs = [_launch(tmp_path / "single.npz", _env())] + [
        _launch(tmp_path / "multi.npz", _env(2), "--coordinator", f"127.0.0.1:{port}",
                "--num-processes", "2", "--process-id", str(i))
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (stdout, stderr) in zip(procs, outputs):
        assert p.returncode == 0, stderr[-4000:]
    assert "2 process(es), 4 device(s)" in outputs[1][0]
    assert "wrote" not in outputs[2][0]  # only process 0 reports and writes
    single, multi = np.load(tmp_path / "single.npz"), np.load(tmp_path / "multi.npz")
    assert sorted(single.files) == ["abs_magnetization", "beta", "energy", "mean_final_energy", "spins"]
    assert sorted(multi.files) == sorted(single.files)
    assert single["spins"].shape == (8, 8, 8) and single["energy"].shape == (8, 20)
    assert len({row.tobytes() for row in single["spins"]}) == 8  # distinct chains, so the order is checked too
    for name in single.files:
        assert single[name].dtype == multi[name].dtype
        np.testing.assert_array_equal(single[name], multi[name], err_msg=name)
