"""Chains of the 2D Ising model on every device of every host, with one output file.

The multi-host recipe (docs/howto/multihost.md), runnable anywhere:

    # one process, every local device (a laptop, one GPU node):
    python examples/multihost.py --out ising_chains.npz

    # two processes on this machine, the CPU backend (what the test suite runs):
    python examples/multihost.py --coordinator 127.0.0.1:12345 --num-processes 2 --process-id 0 --out ising_chains.npz &
    python examples/multihost.py --coordinator 127.0.0.1:12345 --num-processes 2 --process-id 1 --out ising_chains.npz

    # every host of a GPU cluster (SLURM, Open MPI) or a Cloud TPU pod slice: the
    # same command on each host; jax.distributed.initialize() reads the cluster
    # from the environment.
    python examples/multihost.py --auto --n-chains 4096 --size 256 --out ising_chains.npz

Every process runs this whole script (JAX's multi-controller model): it
initializes the distributed runtime, builds one mesh over all devices of all
processes, makes the rows of the chain batch that its own devices hold
(process-local data) into one global array, and runs the same compiled
program. Chain ``c`` is seeded by ``fold_in(key(seed), c)``, never by device or
process, so the file is bit-identical for any number of processes and devices.
Only process 0 writes it.
"""

import argparse
import sys

import jax


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--coordinator", help="host:port of process 0, e.g. 10.0.0.1:12345 (explicit set-up)")
    p.add_argument("--num-processes", type=int, help="number of processes (explicit set-up)")
    p.add_argument("--process-id", type=int, help="this process's index, 0 .. num-processes - 1")
    p.add_argument("--auto", action="store_true", help="jax.distributed.initialize() from the cluster environment")
    p.add_argument("--n-chains", type=int, default=16, help="chains in all (a multiple of the device count)")
    p.add_argument("--size", type=int, default=16, help="lattice side L (L x L, periodic)")
    p.add_argument("--n-sweeps", type=int, default=200)
    p.add_argument("--burn-in", type=int, default=100)
    p.add_argument("--beta-min", type=float, default=0.3)
    p.add_argument("--beta-max", type=float, default=0.6)
    p.add_argument("--chunk-size", type=int, default=None, help="chains per device per step (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="ising_chains.npz")
    return p.parse_args(argv)


def initialize(args):
    """Start JAX's distributed runtime: before any other JAX call touches a device."""
    explicit = (args.coordinator, args.num_processes, args.process_id)
    if any(x is not None for x in explicit):
        if any(x is None for x in explicit):
            sys.exit("--coordinator, --num-processes and --process-id go together")
        jax.distributed.initialize(
            coordinator_address=args.coordinator, num_processes=args.num_processes, process_id=args.process_id
        )
    elif args.auto:
        jax.distributed.initialize()


def main(argv=None):
    args = parse_args(argv)
    initialize(args)

    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec

    import jaxstat as js
    from jaxstat import parallel

    L, n_chains = args.size, args.n_chains
    mesh = parallel.batch_mesh()  # every device of every process
    sampler = js.mcmc.checkerboard(js.ising.lattice((L, L)))
    root = jax.random.key(args.seed)

    def chain(index, beta):
        """One chain, keyed by its global index alone."""
        k_init, k_run = jax.random.split(jax.random.fold_in(root, index))
        spins = js.ising.random_spins(k_init, (L, L))
        state, trace = js.mcmc.run(k_run, sampler, spins, beta, args.n_sweeps, burn_in=args.burn_in)
        return {
            "spins": state.spins.astype(jnp.int8),
            "energy": trace["energy"] / L**2,
            "abs_magnetization": jnp.mean(jnp.abs(trace["magnetization"])),
        }

    # Process-local data: each process builds only the rows its devices hold.
    rows = parallel.local_rows(n_chains, mesh)
    index = np.arange(n_chains, dtype=np.int32)[rows]
    beta = np.linspace(args.beta_min, args.beta_max, n_chains, dtype=np.float32)[rows]
    index, beta = parallel.shard_local_batch((index, beta), mesh)

    result = parallel.map_batch(chain, index, beta, mesh=mesh, chunk_size=args.chunk_size)

    # A reduction over the whole batch: a cross-device sum, replicated on every device.
    replicated = NamedSharding(mesh, PartitionSpec())
    mean_energy = jax.jit(lambda e: jnp.mean(e[:, -1]), out_shardings=replicated)(result["energy"])

    # Gathering is a collective: every process calls it; then one process writes.
    host = parallel.to_host({**result, "beta": beta, "mean_final_energy": mean_energy})
    if jax.process_index() == 0:
        np.savez(args.out, **host)
        print(
            f"{jax.process_count()} process(es), {len(jax.devices())} device(s): {n_chains} chains of "
            f"{L}x{L}; mean final energy per spin {float(host['mean_final_energy']):.4f}; wrote {args.out}"
        )


if __name__ == "__main__":
    main()
