"""Random bits for lattice sweeps: jaxstat's fused Threefry against ``jax.random``'s
implementations (threefry2x32, rbg, unsafe_rbg), measured where they are used.

Run:  python benchmarks/random_bits.py [--repeats 7] [--quick]

1. Raw: 2^20 uint32 words turned into float32 uniforms and summed, inside a
   ``lax.scan`` of 20 draws (so dispatch does not count): ns per word.
2. In a sweep: one checkerboard Metropolis sweep of a 256 x 256 Ising
   lattice at T_c, with the uniforms from each generator (the sweep's own
   code otherwise): µs per sweep.

Warm medians of ``--repeats`` calls; each generator's first calls (raw and
sweep, compilation included) are shown beside them.

jaxstat keeps the generator that measures fastest among those whose streams
are exact and reproducible: threefry2x32 written as fusible integer ops
(``jaxstat._cpu.random_bits``) is bit-identical to ``jax.random``'s default
and keyed per (seed, sweep, site), so results do not depend on the number of
devices. ``rbg`` draws from XLA's RngBitGenerator (on CPU a Philox stream)
and ``unsafe_rbg`` additionally makes ``split``/``fold_in`` cheap but of
unspecified quality and not invariant under sharding (JAX's documentation
of ``jax_default_prng_impl``); they are measured, not adopted, unless faster.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from _common import first_call, machine, median_time, record
from jaxstat._cpu import random_bits

N_WORDS = 2**20
N_DRAWS = 20
L = 256
BETA_C = float(np.log(1 + np.sqrt(2)) / 2)


def _uniform(bits):
    return ((bits >> 8).astype(jnp.float32) + 0.5) * jnp.float32(2.0**-24)


def _jax_bits(impl):
    def bits(key, shape):
        k = jax.random.key_data(key).ravel()
        return jax.random.bits(jax.random.wrap_key_data(_key_data(impl, k), impl=impl), shape, jnp.uint32)
    return bits


def _key_data(impl, words):
    # a key of implementation `impl` derived from the caller's key words (2 for threefry, 4 for rbg)
    n = 2 if impl == "threefry2x32" else 4
    return jnp.resize(words, (n,)).astype(jnp.uint32) ^ jnp.arange(n, dtype=jnp.uint32)


GENERATORS = {
    "jaxstat fused threefry": random_bits,
    "jax.random threefry2x32": _jax_bits("threefry2x32"),
    "jax.random rbg": _jax_bits("rbg"),
    "jax.random unsafe_rbg": _jax_bits("unsafe_rbg"),
}


def raw(bits):
    @jax.jit
    def f(key):
        def body(c, k):
            return c + jnp.sum(_uniform(bits(k, (N_WORDS,)))), None
        return jax.lax.scan(body, jnp.float32(0), jax.random.split(key, N_DRAWS))[0]
    return f


def sweep(bits):
    """Checkerboard Metropolis at T_c, uniforms from `bits` (one word per site per sweep)."""
    colour = (np.add.outer(np.arange(L), np.arange(L)) % 2).astype(bool)

    def half(s, u, mask):
        h = jnp.roll(s, 1, 0) + jnp.roll(s, -1, 0) + jnp.roll(s, 1, 1) + jnp.roll(s, -1, 1)
        flip = mask & (u < jnp.exp(-2.0 * BETA_C * s * h))
        return jnp.where(flip, -s, s)

    @jax.jit
    def f(key, s):
        def body(s, k):
            u = _uniform(bits(k, (L, L)))
            s = half(s, u, colour)
            return half(s, u, ~colour), None
        return jax.lax.scan(body, s, jax.random.split(key, N_DRAWS))[0]
    return f


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats (a smoke run)")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    print(machine())
    key = jax.random.key(0)
    s0 = jnp.ones((L, L))
    print(f"{'generator':26s} {'raw ns/word':>12s} {'sweep L=256 µs':>15s} {'first calls s (raw, sweep)':>27s}")
    figures = {}
    for name, bits in GENERATORS.items():
        f, g = raw(bits), sweep(bits)
        first = first_call(lambda: f(key))[0], first_call(lambda: g(key, s0))[0]
        t_raw = median_time(lambda: f(key), repeats)[0] / (N_DRAWS * N_WORDS) * 1e9
        t_sweep = median_time(lambda: g(key, s0), repeats)[0] / N_DRAWS * 1e6
        figures[name] = t_raw, t_sweep, first
        print(f"{name:26s} {t_raw:12.2f} {t_sweep:15.1f} {first[0]:13.2f}, {first[1]:.2f}")
    ours = figures.pop("jaxstat fused threefry")
    for peer, (t_raw, _, _) in figures.items():
        record("random words to float32 uniforms", ours[0], "ns/word", better="lower", peer=peer, peer_value=t_raw,
               first_call_s=ours[2][0])
    for peer, (_, t_sweep, _) in figures.items():
        record(f"checkerboard Metropolis sweep with them, L = {L}", ours[1], "µs/sweep", better="lower", peer=peer,
               peer_value=t_sweep, first_call_s=ours[2][1])


if __name__ == "__main__":
    main()
