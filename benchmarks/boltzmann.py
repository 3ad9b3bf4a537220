"""RBM training on the binarized 8x8 digits: jaxstat vs scikit-learn's BernoulliRBM.

Run:  pip install -e ".[bench]" && python benchmarks/boltzmann.py [--repeats 5] [--quick]

Both train a Bernoulli RBM by persistent contrastive divergence (PCD-1) on
the 1,797 binarized UCI digits (64 visible units): batch 20, learning rate
0.1, plain SGD, 20 chains, weights initialised N(0, 0.01^2) and biases at
zero, float32 data on both sides (BernoulliRBM keeps the data's dtype and is
about 2x faster in float32 than in float64).

1. **Throughput** (64 hidden units, 50 epochs): training samples processed
   per second, the median of ``--repeats`` timed runs. jaxstat's first call
   (compilation + one epoch) is timed separately and excluded. jaxstat uses
   89 full minibatches per epoch (1,780 samples; the 17 left over change
   with each shuffle), BernoulliRBM 90 slices of 19-20 samples (1,797);
   each side is credited with the samples it processed.
2. **Quality at 64 hidden units**: the final pseudo-log-likelihood over the
   training set, in BernoulliRBM's ``score_samples`` convention (one random
   bit per sample, times 64) for both, and exactly (all 64 bits) for both,
   averaged over the timed runs' models (one seed each).
3. **Exact log-likelihood at 16 hidden units**: both trained for the same
   epochs from several seeds; the average log-likelihood of the training
   digits with log Z by exact enumeration of the 2^16 hidden states
   (``jaxstat.boltzmann.exact_log_z``), sklearn's model converted to a
   jaxstat ``RBM`` (``W = components_.T``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxstat as js
from jaxstat.boltzmann import (
    RBM,
    exact_log_z,
    log_likelihood,
    pseudo_log_likelihood,
    rbm,
)
from jaxstat.boltzmann.train import fit
from _common import record

LEARNING_RATE = 0.1
BATCH = 20
# One optimizer for every run (a new optax.sgd(...) per run would hit the same compiled epoch
# too: the compile cache compares optimizers by structure).
OPTIMIZER = optax.sgd(LEARNING_RATE)


def sklearn_rbm(x, n_hidden, n_epochs, seed):
    from sklearn.neural_network import BernoulliRBM

    model = BernoulliRBM(
        n_components=n_hidden, batch_size=BATCH, n_iter=n_epochs, learning_rate=LEARNING_RATE, random_state=seed
    )
    t = time.perf_counter()
    model.fit(x)
    return model, time.perf_counter() - t


def as_params(model) -> RBM:
    """A scikit-learn BernoulliRBM as jaxstat parameters (exactly the same energy)."""
    return RBM(
        W=jnp.asarray(model.components_.T, jnp.float32),
        a=jnp.asarray(model.intercept_visible_, jnp.float32),
        b=jnp.asarray(model.intercept_hidden_, jnp.float32),
    )


def jaxstat_rbm(x, n_hidden, n_epochs, seed):
    p0 = rbm(jax.random.key(seed), x.shape[1], n_hidden, scale=0.01)
    t = time.perf_counter()
    result = fit(jax.random.key(seed + 1000), p0, x, n_epochs=n_epochs, batch_size=BATCH,
                 optimizer=OPTIMIZER, persistent=True)
    jax.block_until_ready(result.params)
    return result.params, time.perf_counter() - t


def score_samples_pll(params, x, n_keys=10):
    """BernoulliRBM.score_samples's estimate (one random bit per sample, times
    n_visible), averaged over ``n_keys`` draws of the bits: one draw's mean
    over the digits still varies by about +-1."""
    return float(np.mean([pseudo_log_likelihood(params, x, key=jax.random.key(i)) for i in range(n_keys)]))


def bench_throughput(x, n_epochs, repeats):
    xj = jnp.asarray(x)
    per_epoch_j = (x.shape[0] // BATCH) * BATCH
    t = time.perf_counter()
    jaxstat_rbm(xj, 64, 1, seed=0)
    first = time.perf_counter() - t
    rates_j, rates_s, models = [], [], []
    for r in range(repeats):
        # interleaved, so load from other processes hits both alike
        params, tj = jaxstat_rbm(xj, 64, n_epochs, seed=r)
        model, ts = sklearn_rbm(x, 64, n_epochs, seed=r)
        rates_j.append(n_epochs * per_epoch_j / tj)
        rates_s.append(n_epochs * x.shape[0] / ts)
        models.append((params, model))
    # over every run's pair of models (one seed each), mean and standard error
    rows = {
        "jaxstat (score_samples convention, 10 draws)": [score_samples_pll(p, xj) for p, _ in models],
        # its bits come from random_state: the same draw on every call
        "sklearn score_samples": [float(m.score_samples(x).mean()) for _, m in models],
        "jaxstat (exact PLL)": [float(pseudo_log_likelihood(p, xj)) for p, _ in models],
        "sklearn (exact PLL)": [float(pseudo_log_likelihood(as_params(m), xj)) for _, m in models],
    }
    pll = {name: (np.mean(v), np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan"))
           for name, v in rows.items()}
    return first, rates_j, rates_s, pll


def bench_exact_ll(x, n_epochs, seeds):
    xj = jnp.asarray(x)
    out = {"jaxstat": [], "sklearn": []}
    for seed in seeds:
        params, _ = jaxstat_rbm(xj, 16, n_epochs, seed)
        model, _ = sklearn_rbm(x, 16, n_epochs, seed)
        out["jaxstat"].append(float(log_likelihood(params, xj, log_z=exact_log_z(params))))
        sk = as_params(model)
        out["sklearn"].append(float(log_likelihood(sk, xj, log_z=exact_log_z(sk))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=10, help="seeds for the 16-hidden exact log-likelihood")
    ap.add_argument("--quick", action="store_true", help="5 epochs, 2 repeats, 1 seed (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.epochs, args.seeds = 2, 5, 1
    import sklearn

    x = np.asarray(js.datasets.digits(binarize=True).images, np.float32)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"jax {jax.__version__} ({jax.default_backend()}), scikit-learn {sklearn.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"data: {x.shape[0]} binarized digits x {x.shape[1]} pixels; PCD-1, batch {BATCH}, lr {LEARNING_RATE}")

    first, rates_j, rates_s, pll = bench_throughput(x, args.epochs, args.repeats)
    mj, ms = statistics.median(rates_j), statistics.median(rates_s)
    print(f"\n64 hidden, {args.epochs} epochs, {args.repeats} runs (interleaved):")
    print(f"  jaxstat first call (compile + 1 epoch): {first:.2f} s")
    print(f"  jaxstat  {mj:>10,.0f} samples/s  (range {min(rates_j):,.0f}-{max(rates_j):,.0f})")
    print(f"  sklearn  {ms:>10,.0f} samples/s  (range {min(rates_s):,.0f}-{max(rates_s):,.0f})")
    print(f"  ratio    {mj / ms:.2f}x  (target >= 3x)")
    record(f"RBM training, 64 × 64, PCD-1, batch 20, {args.epochs} epochs on the digits", mj, "samples/s",
           peer="scikit-learn BernoulliRBM", peer_value=ms, first_call_s=first, target=3, readme=True,
           note="first call: compilation + 1 epoch")
    print(f"  final pseudo-log-likelihood per digit (mean +- s.e. over the {args.repeats} runs' models):")
    for name, (value, se) in pll.items():
        print(f"    {name:<44} {value:8.3f} +- {se:.3f}")

    seeds = list(range(args.seeds))
    ll = bench_exact_ll(x, args.epochs, seeds)
    print(f"\n16 hidden, {args.epochs} epochs, exact average log-likelihood of the training digits (seeds {seeds}):")
    for name, values in ll.items():
        se = np.std(values, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
        print(f"  {name:<8} mean {np.mean(values):8.3f} +- {se:.3f}   runs " + ", ".join(f"{v:.2f}" for v in values))
    diff = np.subtract(ll["jaxstat"], ll["sklearn"])
    if len(diff) > 1:
        print(f"  paired difference jaxstat - sklearn: {diff.mean():+.3f} +- {diff.std(ddof=1) / np.sqrt(len(diff)):.3f}")
    print(f"  load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
