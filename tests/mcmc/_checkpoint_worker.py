"""A checkpointed run in its own process, for the kill tests of tests/mcmc/test_checkpoint.py.

Usage: python _checkpoint_worker.py DIR MODE, MODE one of
  run   run to the end (the test kills it with SIGKILL between checkpoints);
  hang  after the first checkpoint, every later checkpoint's commit (orbax's
        atomic rename) hangs after its files are written: the test kills the
        writer half-way through a save.
"""

import asyncio
import pathlib
import sys

import jax
import jax.numpy as jnp

import jaxstat as js

L, N_SWEEPS, BURN_IN, THIN, EVERY, BETA = 32, 600, 40, 3, 30, 0.44


def arguments():
    """The run both processes make (the test compares against it run uninterrupted)."""
    sampler = js.mcmc.checkerboard(js.ising.lattice((L, L)))
    spins = js.ising.random_spins(jax.random.key(1), (L, L))
    return (jax.random.key(7), sampler, spins, BETA, N_SWEEPS), dict(burn_in=BURN_IN, thin=THIN)


def main(directory: str, mode: str):
    if mode == "hang":
        from orbax.checkpoint._src.path import atomicity

        original = atomicity.AtomicRenameTemporaryPath.finalize

        async def finalize(self):
            name = pathlib.Path(str(self._final_path)).name  # a step's directory, or an item inside one
            if name.isdigit() and name != str(EVERY):  # every checkpoint after the first
                pathlib.Path(directory, "..", "writer-hung").resolve().touch()
                await asyncio.sleep(3600)  # files written, commit never happens: killed here
            return await original(self)

        atomicity.AtomicRenameTemporaryPath.finalize = finalize
    args, kwargs = arguments()
    js.mcmc.run(*args, **kwargs, checkpoint_dir=directory, checkpoint_every=EVERY)
    jnp.zeros(()).block_until_ready()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
