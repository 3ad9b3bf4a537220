"""Tour section: an RBM on the handwritten digits, with AIS and exact log-likelihoods per epoch."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat.tour._common import stage


def train_with_likelihood(key, data, test, n_hidden, epochs, *, exact=False, n_runs=100, n_betas=500,
                          optimizer=None, k=5):
    """PCD-k on ``data``, one epoch per ``fit`` call (chains and optimizer state carried over);
    after the epochs listed in ``epochs`` the average test log-likelihood by AIS, and exactly when
    ``exact``. Returns the final FitResult and rows ``(epoch, ais, ais_stderr, exact_or_nan)``."""
    from jaxstat import boltzmann

    k_init, k_fit, k_ais = jax.random.split(key, 3)
    params = boltzmann.rbm(k_init, data.shape[1], n_hidden, scale=0.01,
                           visible_bias=boltzmann.base_rate_bias(data))
    result, rows, chains, opt_state = None, [], None, None
    for epoch in range(1, max(epochs) + 1):
        result = boltzmann.fit(jax.random.fold_in(k_fit, epoch), params, data, n_epochs=1, batch_size=20,
                               optimizer=optimizer, chains=chains, opt_state=opt_state, k=k)
        params, chains, opt_state = result.params, result.chains, result.opt_state
        if epoch in epochs:
            mean_f = -float(jnp.mean(boltzmann.free_energy(params, test)))   # mean log p*(v)
            ais = boltzmann.ais_log_z(jax.random.fold_in(k_ais, epoch), params, n_runs=n_runs, n_betas=n_betas)
            exact_ll = mean_f - float(boltzmann.exact_log_z(params)) if exact else float("nan")
            rows.append((epoch, mean_f - float(ais.log_z), float(ais.stderr), exact_ll))
    return result, rows


def boltzmann_section(outdir: Path, quick: bool = False, bar=None) -> str:
    import optax

    from jaxstat import boltzmann, datasets, plot

    images, _ = datasets.digits(binarize=True)
    order = np.asarray(jax.random.permutation(jax.random.key(0), images.shape[0]))
    data, test = images[order[:1500]], images[order[1500:]]
    n_epochs = 3 if quick else 30
    epochs = sorted({1, 2, 3} | set(range(5, n_epochs + 1, 5)) if not quick else {1, 2, 3})
    # A decaying step, and k = 5 Gibbs sweeps per update: with one sweep the 20
    # fantasy particles lag a model that moves fast and the test likelihood
    # swings by several nats (docs/boltzmann.md has the investigation).
    optimizer = optax.sgd(optax.linear_schedule(0.05, 0.005, n_epochs * (data.shape[0] // 20)), momentum=0.5)
    ais_settings = dict(n_runs=50 if quick else 100, n_betas=200 if quick else 1000)

    stage(bar, f"RBM 64 x 64 on the digits: PCD-5, {n_epochs} epochs, AIS log-likelihood")
    t0 = time.perf_counter()
    big, big_rows = train_with_likelihood(jax.random.key(1), data, test, 64, epochs, optimizer=optimizer,
                                          **ais_settings)
    t_big = time.perf_counter() - t0
    stage(bar, f"RBM 64 x 64 with PCD-1 for comparison, {n_epochs} epochs")
    _, pcd1_rows = train_with_likelihood(jax.random.key(1), data, test, 64, epochs, optimizer=optimizer, k=1,
                                         **ais_settings)
    stage(bar, f"RBM 64 x 16: exact log Z beside AIS, {n_epochs} epochs")
    t0 = time.perf_counter()
    small, small_rows = train_with_likelihood(jax.random.key(2), data, test, 16, epochs, exact=True,
                                              optimizer=optimizer, **ais_settings)
    t_small = time.perf_counter() - t0

    # samples: the persistent chains, run on for a while under the final model
    samples, _ = boltzmann.gibbs_chain(jax.random.key(3), big.params, big.chains[:20], 200)
    means = boltzmann.visible_probs(big.params, boltzmann.hidden_probs(big.params, samples))
    W = np.asarray(big.params.W).T   # one 8x8 filter per hidden unit
    fig = plot.weight_images(W[:16], (8, 8), suptitle="RBM filters (16 of 64 hidden units; red +, blue -)")
    plot.save(fig, outdir / "rbm_filters.png")
    fig = plot.image_grid(means, (8, 8), suptitle="20 persistent chains after 200 more Gibbs sweeps: p(v = 1 | h)")
    plot.save(fig, outdir / "rbm_samples.png")
    fig = plot.rbm_likelihood({"64 hidden, PCD-5 (AIS)": big_rows, "64 hidden, PCD-1 (AIS)": pcd1_rows,
                               "16 hidden, PCD-5 (AIS)": small_rows},
                              exact={"16 hidden, PCD-5 (exact log Z)": small_rows})
    plot.save(fig, outdir / "rbm_likelihood.png")

    lines = [
        "## Restricted Boltzmann machines",
        "",
        f"Bernoulli RBMs on the binarized UCI digits (1,500 training, {test.shape[0]} test images, 64 visible "
        f"units), trained by persistent contrastive divergence (PCD-5: five Gibbs sweeps per update; batch 20, "
        f"SGD with momentum and a decaying learning rate via optax, each epoch one compiled scan). With one "
        f"sweep per update (PCD-1, shown for comparison) the fantasy particles lag the fast-moving model and "
        f"the curve dips by several nats; AIS is not to blame (see docs/boltzmann.md). "
        f"Test log-likelihood per image: the 64-hidden model by "
        f"annealed importance sampling; the 16-hidden model both by AIS and exactly (log Z by enumerating "
        f"its 2^16 hidden states). 64 hidden: {t_big:.1f} s; 16 hidden: {t_small:.1f} s, training and "
        "evaluation included.",
        "",
        f"**Result:** 16 hidden units, last epoch: test log-likelihood {small_rows[-1][1]:.2f} ± "
        f"{small_rows[-1][2]:.3f} by AIS against {small_rows[-1][3]:.2f} exactly; 64 hidden (PCD-5): "
        f"{big_rows[-1][1]:.2f} ± {big_rows[-1][2]:.3f} nats per image",
        "",
        "![Test log-likelihood per image against the training epoch: the 64-hidden RBM by AIS (PCD-5 and PCD-1) "
        "and the 16-hidden RBM by AIS and exactly; AIS agrees with the exact value within its error "
        "bar.](rbm_likelihood.png)",
        "![The learned filters: each hidden unit's 64 incoming weights as an 8x8 image.](rbm_filters.png)",
        "![Twenty persistent chains of the trained 64-hidden RBM after 200 more block Gibbs sweeps, each pixel "
        "drawn as p(v = 1 | h).](rbm_samples.png)",
        "",
        "| epoch | 64 hidden, PCD-5: AIS | 64 hidden, PCD-1: AIS | 16 hidden: AIS | 16 hidden: exact |",
        "|---|---|---|---|---|",
    ]
    for (e, a, s, _), (_, a1, s1, _), (_, a16, s16, x16) in zip(big_rows, pcd1_rows, small_rows):
        lines.append(f"| {e} | {a:.2f} ± {s:.2f} | {a1:.2f} ± {s1:.2f} | {a16:.2f} ± {s16:.2f} | {x16:.2f} |")
    lines.append("")
    return "\n".join(lines)
