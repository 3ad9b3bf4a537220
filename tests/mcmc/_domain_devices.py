"""Checks of the domain-decomposed checkerboard on 8 simulated devices, run by
tests/mcmc/test_domain.py in ONE subprocess (``XLA_FLAGS`` must be set before
jax is imported). Prints one JSON object; the tests assert on its parts.

Every comparison is bit for bit (``tobytes``): spins and traces of
``jaxstat.mcmc.run`` on meshes over 1, 2, 4 and 8 of the devices, 1D and 2D,
against the single-device ``checkerboard`` with the same key.
"""

import json
import os
import re
import sys


def main():
    if "--xla_force_host_platform_device_count=8" not in os.environ.get("XLA_FLAGS", ""):
        sys.exit("run with XLA_FLAGS=--xla_force_host_platform_device_count=8")
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh

    import jaxstat as js

    devices = jax.devices()
    out = {"n_devices": len(devices), "identity": {}, "hlo": {}, "errors": {}}

    def mesh(sizes):
        n = int(np.prod(sizes))
        return Mesh(np.array(devices[:n]).reshape(sizes), ("x", "y")[: len(sizes)])

    def same(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()

    def identity(name, model, rule, beta, meshes):
        spins = js.ising.random_spins(jax.random.key(1), model.shape, dtype=model.dtype)
        key = jax.random.key(2)
        kw = dict(burn_in=2)
        ref_state, ref_trace = js.mcmc.run(key, js.mcmc.checkerboard(model, rule), spins, beta, 6, **kw)
        rows, first = {}, None
        for sizes in meshes:
            sampler = js.mcmc.checkerboard(model, rule, mesh=mesh(sizes))
            state, trace = js.mcmc.run(key, sampler, spins, beta, 6, **kw)
            first = first or trace
            exact_energy = float(js.ising.energy(model, jnp.asarray(np.asarray(state.spins))))
            rows["x".join(map(str, sizes))] = {
                "spins": same(state.spins, ref_state.spins),
                "trace_vs_single_device": {k: same(trace[k], ref_trace[k]) for k in ref_trace},
                "trace_vs_first_mesh": {k: same(trace[k], first[k]) for k in ref_trace},
                "energy_vs_single_device": float(np.max(np.abs(np.asarray(trace["energy"]) -
                                                               np.asarray(ref_trace["energy"])))),
                "state_energy_error": abs(float(state.energy) - exact_energy),
                "devices": len(state.spins.sharding.device_set),
                "spec": str(state.spins.sharding.spec),
            }
        flips = np.asarray(ref_trace["acceptance_rate"])
        out["identity"][name] = {"meshes": rows, "moved": bool(flips.min() > 0),
                                 "dtype": str(np.asarray(ref_state.spins).dtype)}

    k = jax.random.key(7)
    identity("uniform 2D periodic, scalar field, metropolis", js.ising.lattice((16, 16), h=0.25), "metropolis",
             0.4, [(1,), (2,), (4,), (8,), (2, 4)])
    identity("gaussian EA 2D, periodic x open, per-site field, glauber",
             js.ising.edwards_anderson(k, (16, 16), "gaussian", periodic=(True, False),
                                       h=0.3 * jax.random.normal(jax.random.key(8), (16, 16))),
             "glauber", 0.7, [(1,), (2,), (2, 2), (2, 4)])
    identity("pm EA 3D open, scalar field, metropolis",
             js.ising.edwards_anderson(k, (8, 8, 8), "pm", periodic=False, h=0.5), "metropolis",
             0.6, [(1,), (8,), (2, 4)])
    with jax.enable_x64(True):
        identity("uniform 2D float64, glauber", js.ising.lattice((16, 16), dtype=jnp.float64), "glauber",
                 0.4, [(2, 4)])

    # The compiled sweep: which collectives, on what shapes.
    def collectives(sampler, spins):
        state = sampler.init(spins)
        text = jax.jit(lambda key, st, b: sampler.step(key, st, b)).lower(
            jax.random.key(0), state, 0.44).compile().as_text()
        found = []
        for line in text.splitlines():
            m = re.search(r"=\s*(.*?)\s+(all-gather|all-to-all|collective-permute|all-reduce|reduce-scatter)"
                          r"(-start)?\(", line)
            if m:
                shapes = [[int(v) for v in dims.split(",") if v] for _, dims in
                          re.findall(r"(\w+)\[([\d,]*)\]", m.group(1))]
                found.append({"op": m.group(2), "shapes": shapes})
        return {"collectives": found, "n_sites": sampler.model.n, "block": list(sampler.blocks.block),
                "tiles": list(sampler.blocks.tiles)}

    L = 256
    pm_open = js.ising.edwards_anderson(k, (L, L), "pm", periodic=False, h=0.1)
    out["hlo"]["per-bond 2D open, 2x4 mesh"] = collectives(
        js.mcmc.checkerboard(pm_open, mesh=mesh((2, 4))), js.ising.random_spins(k, (L, L)))
    out["hlo"]["uniform 3D, 1D mesh of 8"] = collectives(
        js.mcmc.checkerboard(js.ising.lattice((32, 32, 32)), "glauber", mesh=mesh((8,))),
        js.ising.random_spins(k, (32, 32, 32)))

    # A new disorder sample of the same shapes reuses the compiled run.
    from jaxstat.mcmc.driver import _run_compiled

    m24 = mesh((2, 4))
    spins = js.ising.random_spins(k, (16, 16))
    runs = [js.mcmc.run(k, js.mcmc.checkerboard(js.ising.edwards_anderson(jax.random.key(i), (16, 16)),
                                                 mesh=m24), spins, 0.5, 3) for i in range(2)]
    before = _run_compiled._cache_size()
    js.mcmc.run(k, js.mcmc.checkerboard(js.ising.edwards_anderson(jax.random.key(9), (16, 16)), mesh=m24),
                spins, 0.6, 3)
    out["recompiled_for_new_disorder"] = _run_compiled._cache_size() - before
    out["disorder_samples_differ"] = not same(runs[0][0].spins, runs[1][0].spins)

    # Arrays built straight into the lattice sharding equal the unsharded ones.
    s = js.mcmc.lattice_sharded(m24, (16, 16), js.ising.random_spins, k, (16, 16))
    model = js.mcmc.lattice_sharded(m24, (16, 16), js.ising.edwards_anderson, k, (16, 16), periodic=False)
    plain = js.ising.edwards_anderson(k, (16, 16), periodic=False)
    placed = js.mcmc.checkerboard(plain, mesh=m24).model
    # The how-to's recipe: jax.make_mesh (explicit axes in jax >= 0.7), everything built on the mesh.
    explicit = jax.make_mesh((2, 4), ("x", "y"))
    ea = js.mcmc.lattice_sharded(explicit, (16, 16), js.ising.edwards_anderson, k, (16, 16), periodic=False)
    start = js.mcmc.lattice_sharded(explicit, (16, 16), js.ising.random_spins, k, (16, 16))
    recipe, _ = js.mcmc.run(k, js.mcmc.checkerboard(ea, "glauber", mesh=explicit), start, 0.5, 4)
    single, _ = js.mcmc.run(k, js.mcmc.checkerboard(plain, "glauber"), js.ising.random_spins(k, (16, 16)), 0.5, 4)
    out["lattice_sharded"] = {
        "recipe_spins_equal": same(recipe.spins, single.spins),
        "recipe_devices": len(recipe.spins.sharding.device_set),
        "spins_equal": same(s, js.ising.random_spins(k, (16, 16))),
        "spins_spec": str(s.sharding.spec),
        "J_equal": same(model.J, plain.J),
        "J_spec": str(model.J.sharding.spec),
        "sampler_J_spec": str(placed.J.sharding.spec),
    }

    def error(name, fn):
        try:
            fn()
            out["errors"][name] = None
        except ValueError as err:
            out["errors"][name] = str(err)

    lat = js.ising.lattice((16, 16))
    error("mesh of 3 on a side of 16", lambda: js.mcmc.checkerboard(lat, mesh=Mesh(np.array(devices[:3]), ("x",))))
    error("2D mesh whose second axis does not divide",
          lambda: js.mcmc.checkerboard(js.ising.lattice((8, 6)), mesh=mesh((2, 4))))
    error("3-axis mesh", lambda: js.mcmc.checkerboard(
        lat, mesh=Mesh(np.array(devices).reshape(2, 2, 2), ("a", "b", "c"))))
    error("2D mesh on a 1D lattice", lambda: js.mcmc.checkerboard(js.ising.lattice((16,)), mesh=mesh((2, 4))))
    error("not a mesh", lambda: js.mcmc.checkerboard(lat, mesh="x"))
    error("lattice_sharded, mesh does not divide", lambda: js.mcmc.lattice_sharded(
        mesh((8,)), (12, 12), js.ising.random_spins, k, (12, 12)))
    error("lattice_sharded, fn not callable", lambda: js.mcmc.lattice_sharded(mesh((2,)), (8, 8), "spins"))
    error("dense model", lambda: js.mcmc.checkerboard(js.ising.dense(jnp.zeros((4, 4))), mesh=mesh((2,))))
    out["checkpoint"] = checkpoint_cases(js, jax, jnp, np, mesh, same)
    print(json.dumps(out))


def checkpoint_cases(js, jax, jnp, np, mesh, same):
    """A checkpointed run of a lattice split over a 2x4 mesh, resumed from its older checkpoint,
    against the same run without checkpoints (orbax saves and restores the sharded arrays); the
    same with streamed statistics; and a batch of chains sharded over 8 devices."""
    import pathlib
    import shutil
    import tempfile

    def resumed(key, sampler, spins, beta, n, **kw):
        directory = pathlib.Path(tempfile.mkdtemp())
        try:
            js.mcmc.run(key, sampler, spins, beta, n, checkpoint_dir=directory, checkpoint_every=4, **kw)
            steps = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())
            shutil.rmtree(directory / str(steps[-1]))  # lose the newest: resume from the one before
            return js.mcmc.run(key, sampler, spins, beta, n, checkpoint_dir=directory, checkpoint_every=4, **kw)
        finally:
            shutil.rmtree(directory)

    def all_same(a, b):
        la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
        return len(la) == len(lb) and all(same(x, y) for x, y in zip(la, lb))

    results = {}
    model = js.ising.lattice((32, 32))
    sampler = js.mcmc.checkerboard(model, mesh=mesh((2, 4)))
    spins = js.ising.random_spins(jax.random.key(1), (32, 32))
    key = jax.random.key(3)
    ref = js.mcmc.run(key, sampler, spins, 0.44, 12, burn_in=3)
    out = resumed(key, sampler, spins, 0.44, 12, burn_in=3)
    results["decomposed"] = all_same(out, ref)
    results["decomposed_sharding"] = str(out[0].spins.sharding.spec)
    stream = js.stats.Streaming(n_levels=3)
    results["decomposed_stream"] = all_same(resumed(key, sampler, spins, 0.44, 12, stream=stream),
                                            js.mcmc.run(key, sampler, spins, 0.44, 12, stream=stream))
    from jax.sharding import NamedSharding, PartitionSpec

    chains = js.mcmc.chains(js.mcmc.checkerboard(js.ising.lattice((8, 8))), 8, betas=jnp.linspace(0.2, 0.5, 8))
    batch = jax.device_put(js.ising.random_spins(jax.random.key(4), (8, 8, 8)),
                           NamedSharding(mesh((8,)), PartitionSpec("x")))
    single = js.mcmc.run(key, chains, np.asarray(batch), None, 10)
    sharded = resumed(key, chains, batch, None, 10)
    results["chains_sharded_vs_one_device"] = all_same(sharded, single)
    results["chains_devices"] = len(sharded[0].spins.sharding.device_set)
    return results


if __name__ == "__main__":
    main()
