"""Device-count invariance checks, run by tests/test_parallel.py in a subprocess.

XLA_FLAGS=--xla_force_host_platform_device_count=8 must be set before jax is
imported, so this runs as its own process and prints one JSON object: for
each case and each mesh size, the leaves compared, those that differ from
the reference bit for bit, and how many devices the result is spread over.
"""

import json
import os
import sys

if __name__ == "__main__" and "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    sys.exit("run with XLA_FLAGS=--xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxstat as js  # noqa: E402
from jaxstat import parallel  # noqa: E402

MESHES = (1, 2, 4, 8)


def leaves(tree):
    """(path, NumPy array) of every leaf; typed keys as their data. Properties such as a
    tempering state's rung-ordered spins are derived from these leaves."""
    out = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append((jax.tree_util.keystr(path), np.asarray(leaf)))
    return out


def compare(reference, result):
    ref = leaves(reference)
    got = leaves(result)
    assert [p for p, _ in ref] == [p for p, _ in got]
    return {
        "fields": [p for p, _ in ref],
        "differ": [p for (p, a), (_, b) in zip(ref, got) if a.dtype != b.dtype or not np.array_equal(a, b)],
        "devices": min(len(x.sharding.device_set) for x in jax.tree.leaves(result)),
    }


def sanity(result, spins):
    """Facts that make the comparison meaningful: the chains differ from each other, and no float is NaN."""
    s = np.asarray(spins)
    return {
        "chains_distinct": len({row.tobytes() for row in s.reshape(s.shape[0], -1)}) == s.shape[0],
        "finite": all(np.all(np.isfinite(a)) for _, a in leaves(result) if a.dtype.kind == "f"),
    }


def lattice_batches():
    """Lattice samplers under a plain jit, inputs sharded with shard_batch; one program per mesh
    (compiling is the cost of this check) for two cases:

    * "chains": jit(vmap(run)) of 8 checkerboard chains on an 8x8 lattice;
    * "replicas": one parallel-tempering run (checkerboard, 8 rungs) with its replica axis sharded.
    """
    L, n_chains, R = 8, 8, 8
    sampler = js.mcmc.checkerboard(js.ising.lattice((L, L)))
    pt = js.mcmc.parallel_tempering(sampler, jnp.linspace(0.1, 0.8, R))
    spins = jax.vmap(lambda k: js.ising.random_spins(k, (L, L)))(jax.random.split(jax.random.key(1), n_chains))
    replicas = js.ising.random_spins(jax.random.key(5), (R, L, L))

    @jax.jit
    def run(keys, spins, replicas):
        chains = jax.vmap(lambda k, s: js.mcmc.run(k, sampler, s, 0.44, 12, thin=2))(keys, spins)
        return {"chains": chains, "replicas": js.mcmc.run(jax.random.key(6), pt, replicas, None, 12)}

    keys = jax.random.split(jax.random.key(0), n_chains)
    reference = run(keys, spins, replicas)  # one device, nothing sharded
    out = {"sanity": {
        "chains": sanity(reference["chains"], reference["chains"][0].spins),
        # The replica comparison means something only if replicas were exchanged across devices.
        "replicas": {"exchanged": bool(np.asarray(reference["replicas"][1]["swapped"]).any()),
                     "finite": sanity(reference["replicas"], replicas)["finite"]},
    }}
    for n in MESHES[1:]:
        mesh = parallel.batch_mesh(n)
        result = run(parallel.chain_keys(jax.random.key(0), n_chains, mesh), parallel.shard_batch(spins, mesh),
                     parallel.shard_batch(replicas, mesh))
        out[n] = {name: compare(reference[name], result[name]) for name in ("chains", "replicas")}
        # The replicated trace of the tempering run does not count: its state is what is split.
        out[n]["replicas"]["devices"] = len(result["replicas"][0].replicas.spins.sharding.device_set)
    return out


def dense_batches():
    """Through map_batch, one program per mesh (compiling is the cost of this check):
    a (disorder x beta) batch of Sherrington-Kirkpatrick glauber chains ("sk"), and
    independent parallel-tempering chains on one SK sample (metropolis, 4 rungs; "pt")."""
    n_spins = 12
    disorder = jnp.repeat(jax.random.split(jax.random.key(2), 4), 2)  # 4 samples, each at 2 betas
    betas = jnp.tile(jnp.array([0.5, 1.5]), 4)
    chains = jax.random.split(jax.random.key(4), 8)
    pt = js.mcmc.parallel_tempering(
        js.mcmc.metropolis(js.ising.sherrington_kirkpatrick(jax.random.key(3), n_spins)), jnp.linspace(0.2, 2.0, 4)
    )

    def one(disorder_key, beta, chain_key):
        k_model, k_spins, k_run = jax.random.split(disorder_key, 3)
        model = js.ising.sherrington_kirkpatrick(k_model, n_spins)
        spins = js.ising.random_spins(k_spins, (n_spins,))
        sk = js.mcmc.run(k_run, js.mcmc.glauber(model), spins, beta, 10)
        k_spins, k_run = jax.random.split(chain_key)
        return {"sk": sk, "pt": js.mcmc.run(k_run, pt, js.ising.random_spins(k_spins, (4, n_spins)), None, 10)}

    args = (disorder, betas, chains)
    results = {n: parallel.map_batch(one, *args, mesh=parallel.batch_mesh(n), chunk_size=1) for n in MESHES}
    reference = results[1]  # one device
    out = {"sanity": {name: sanity(reference[name], reference[name][0].spins) for name in ("sk", "pt")}}
    out["sanity"]["pt"]["exchanged"] = bool(np.asarray(reference["pt"][1]["swapped"]).any())
    for n in MESHES[1:]:
        out[n] = compare(reference, results[n])
    return out


def errors():
    """Messages of the bad-input checks that need a mesh of several devices."""
    mesh = parallel.batch_mesh(4)
    calls = {
        "shard_batch": lambda: parallel.shard_batch({"spins": jnp.ones((6, 3))}, mesh),
        "chain_keys": lambda: parallel.chain_keys(jax.random.key(0), 10, mesh),
        "map_batch": lambda: parallel.map_batch(lambda x: x, jnp.ones(6), mesh=mesh),
        "map_batch_chunk": lambda: parallel.map_batch(lambda x: x, jnp.ones(8), mesh=mesh, chunk_size=3),
        "local_rows": lambda: parallel.local_rows(6, mesh),
        "shard_local_batch": lambda: parallel.shard_local_batch(jnp.ones(6), mesh),
        "too_many_devices": lambda: parallel.batch_mesh(9),
    }
    out = {}
    for name, call in calls.items():
        try:
            call()
            out[name] = None
        except ValueError as err:
            out[name] = str(err)
    return out


if __name__ == "__main__":
    result = {"n_devices": len(jax.devices())}
    for case in (lattice_batches, dense_batches, errors):
        result[case.__name__] = case()
    print(json.dumps(result, default=str))
