"""Weak scaling over 1, 2, 4 and 8 devices: one lattice split across them, and a batch of chains.

Run:  python benchmarks/sharding.py [--repeats 5] [--block 512] [--devices 1 2 4 8] [--quick]

(``--quick``: 1 and 2 devices, 256 x 256 per device, 2 repeats; a smoke run.)

Each device count runs in its own process (``XLA_FLAGS=--xla_force_host_platform_device_count=n``
on a CPU; on a machine with n accelerators the real devices are used), with a
fixed amount of work per device:

1. **One lattice, domain-decomposed** (``checkerboard(model, mesh=mesh)``):
   a ``block x block`` piece of a 2D Ising lattice per device, on a 2D mesh
   (1x1, 1x2, 2x2, 2x4), so the lattice grows with the device count.
   Beside it, the same lattice swept by the plain single-device
   ``checkerboard`` with its spins sharded the same way, split by XLA's
   partitioner (which all-gathers random words: see docs/howto/sharding-lattice.md).
2. **A batch of chains**: ``jax.vmap`` of ``run`` over 8 chains of a
   128 x 128 lattice per device, the chain axis sharded over a 1D mesh.

3. **Random words per site** (one device): the decomposed sampler evaluates
   Threefry once per site, the single-device generator once per pair of
   sites. Its sweep on a one-device mesh against the plain ``checkerboard``
   at L = 512 and 1024, and the uniforms alone (``uniform_open`` against
   the per-site words of ``jaxstat.mcmc._halo``), interleaved, best of
   ``--repeats`` rounds.

Metropolis sweeps at T_c, 20 sweeps per call, inside ``jaxstat.mcmc.run``.
Figures: first call (compilation included) and the warm median of
``--repeats`` calls; spin flips per ns, in total and per device.
Simulated CPU devices share the machine's cores, so per-device throughput
falls as soon as there are more devices than cores; the total shows what
the decomposition costs beyond that.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BETA_C = 0.4406867935097715
N_SWEEPS = 20
MESHES = {1: (1, 1), 2: (1, 2), 4: (2, 2), 8: (2, 4)}


def _timed(fn, repeats):
    import jax

    from _common import median_time

    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    return first, median_time(fn, repeats)[0]


def worker(n, block, repeats):
    """One device count: prints a JSON line of timings."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

    import jaxstat as js
    from _common import machine

    devices = jax.devices()[:n]
    assert len(devices) == n, f"asked for {n} devices, have {len(jax.devices())}"
    sizes = MESHES[n]
    mesh = Mesh(np.array(devices).reshape(sizes), ("x", "y"))
    shape = (block * sizes[0], block * sizes[1])
    model = js.ising.lattice(shape)
    key = jax.random.key(0)
    out = {"devices": n, "mesh": list(sizes), "shape": list(shape), "machine": machine()}

    decomposed = js.mcmc.checkerboard(model, mesh=mesh)
    spins = js.mcmc.lattice_sharded(mesh, shape, js.ising.random_spins, key, shape)
    state = decomposed.init(spins)
    first, warm = _timed(lambda: js.mcmc.run(key, decomposed, state, BETA_C, N_SWEEPS)[0].spins, repeats)
    out["halo"] = {"first_s": first, "sweep_s": warm / N_SWEEPS}

    plain = js.mcmc.checkerboard(model)
    pstate = plain.init(spins)
    pstate = pstate._replace(spins=jax.device_put(pstate.spins, NamedSharding(mesh, P("x", "y"))))
    first, warm = _timed(lambda: js.mcmc.run(key, plain, pstate, BETA_C, N_SWEEPS)[0].spins, repeats)
    out["partitioner"] = {"first_s": first, "sweep_s": warm / N_SWEEPS}

    # A batch of chains: 8 chains of 128 x 128 per device, chain axis sharded.
    n_chains, L = 8 * n, 128
    chain_mesh = Mesh(np.array(devices), ("chains",))
    batch = NamedSharding(chain_mesh, P("chains"))
    sampler = js.mcmc.checkerboard(js.ising.lattice((L, L)))
    keys = jax.device_put(jax.random.split(key, n_chains), batch)
    chains = jax.device_put(js.ising.random_spins(key, (n_chains, L, L)), batch)
    run_chains = jax.jit(jax.vmap(lambda k, s: js.mcmc.run(k, sampler, s, BETA_C, N_SWEEPS)[0].spins))
    first, warm = _timed(lambda: run_chains(keys, chains), repeats)
    out["chains"] = {"first_s": first, "sweep_s": warm / N_SWEEPS, "n_chains": n_chains, "L": L}
    if n == 1:
        out["per_site_words"] = per_site_words(repeats)
    print(json.dumps(out))


def per_site_words(repeats):
    """Seconds per sweep (best of interleaved rounds): plain vs one-device decomposed, and their uniforms."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh

    import jaxstat as js
    from jaxstat.mcmc._halo import Blocks
    from jaxstat.mcmc.base import uniform_open

    mesh = Mesh(np.array(jax.devices()[:1]), ("x",))
    zero = [jnp.int32(0)] * 2
    out = {}
    for L in (512, 1024):
        model = js.ising.lattice((L, L))
        spins = js.ising.random_spins(jax.random.key(0), (L, L))
        blocks = Blocks((L, L), (), (), (32, 32))

        def uniforms(draw):
            def body(c, i):
                return c + jnp.sum(draw(jax.random.fold_in(jax.random.key(1), i))), None
            return jax.jit(lambda: jax.lax.scan(body, 0.0, jnp.arange(N_SWEEPS))[0])

        fns = {
            "plain sweep": jax.jit(lambda k: js.mcmc.run(k, js.mcmc.checkerboard(model), spins, BETA_C, N_SWEEPS)[0].spins),
            "decomposed sweep": jax.jit(lambda k: js.mcmc.run(
                k, js.mcmc.checkerboard(model, mesh=mesh), spins, BETA_C, N_SWEEPS)[0].spins),
        }
        plain_u = uniforms(lambda k: uniform_open(k, (L, L), jnp.float32))
        site_u = uniforms(lambda k: blocks.uniforms(jax.random.bits(k, (2,), jnp.uint32), zero, jnp.float32))
        fns["plain uniforms"] = lambda k: plain_u()
        fns["per-site uniforms"] = lambda k: site_u()
        best = {name: float("inf") for name in fns}
        for f in fns.values():
            jax.block_until_ready(f(jax.random.key(1)))
        for _ in range(repeats):
            for name, f in fns.items():
                t0 = time.perf_counter()
                jax.block_until_ready(f(jax.random.key(1)))
                best[name] = min(best[name], (time.perf_counter() - t0) / N_SWEEPS)
        out[L] = best
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block", type=int, default=512, help="lattice side per device (per mesh cell)")
    parser.add_argument("--devices", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1 and 2 devices, block 256, 2 repeats (a smoke run)")
    args = parser.parse_args()
    if args.quick and args.worker is None:
        args.devices, args.block, args.repeats = [1, 2], 256, 2
    if args.worker is not None:
        return worker(args.worker, args.block, args.repeats)
    rows = []
    for n in args.devices:
        env = dict(os.environ)
        if env.get("JAX_PLATFORMS", "cpu") == "cpu":
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={n}").strip()
        proc = subprocess.run([sys.executable, __file__, "--worker", str(n), "--block", str(args.block),
                               "--repeats", str(args.repeats)], env=env, capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)))
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    from _common import record  # jax loads here, after the workers: this process runs nothing on it

    print(f"Machine: {rows[0]['machine']}")
    print(f"Metropolis at T_c, {N_SWEEPS} sweeps per call, warm medians of {args.repeats}; "
          "flips/ns total (per device)\n")
    print("| devices | mesh | lattice | halo exchange: first call | sweep | flips/ns | XLA partitioner "
          "(plain checkerboard): first call | sweep | flips/ns | chains | chains: first call | sweep | flips/ns |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["devices"]
        sites = r["shape"][0] * r["shape"][1]
        c = r["chains"]
        chain_sites = c["n_chains"] * c["L"] ** 2

        def rate(sweep_s, n_sites):
            total = n_sites / sweep_s / 1e9
            return f"{total:.3f} ({total / n:.3f})"

        print(f"| {n} | {'x'.join(map(str, r['mesh']))} | {r['shape'][0]} x {r['shape'][1]} "
              f"| {r['halo']['first_s']:.2f} s | {r['halo']['sweep_s'] * 1e3:.2f} ms | {rate(r['halo']['sweep_s'], sites)} "
              f"| {r['partitioner']['first_s']:.2f} s | {r['partitioner']['sweep_s'] * 1e3:.2f} ms "
              f"| {rate(r['partitioner']['sweep_s'], sites)} "
              f"| {c['n_chains']} x {c['L']}² | {c['first_s']:.2f} s | {c['sweep_s'] * 1e3:.2f} ms "
              f"| {rate(c['sweep_s'], chain_sites)} |")
        record(f"one lattice over {n} device(s), {r['shape'][0]} × {r['shape'][1]}, halo exchange",
               sites / r["halo"]["sweep_s"] / 1e9, "flips/ns", peer="XLA partitioner (plain checkerboard)",
               peer_value=sites / r["partitioner"]["sweep_s"] / 1e9, first_call_s=r["halo"]["first_s"])
    if "per_site_words" in rows[0]:
        print("\nOne device, µs per sweep (best of interleaved rounds):\n")
        words = rows[0]["per_site_words"]
        names = list(next(iter(words.values())))
        print("| L | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for L, best in words.items():
            print(f"| {L} | " + " | ".join(f"{best[k] * 1e6:.0f}" for k in names) + " |")


if __name__ == "__main__":
    main()
