"""Tour section: Hopfield recall, capacity against AGS, and the (alpha, T) retrieval diagram."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat.tour._common import half_crossing, stage


def digit_patterns(upsample: int = 2):
    """The first image of each digit 0-9 from the UCI set, binarized to ±1 and upsampled (nearest)."""
    from jaxstat import datasets

    images, labels = (np.asarray(a) for a in datasets.digits(binarize=True))
    picks = [int(np.flatnonzero(labels == d)[0]) for d in range(10)]
    imgs = images[picks].reshape(-1, 8, 8).repeat(upsample, 1).repeat(upsample, 2)
    side = 8 * upsample
    return jnp.asarray(2 * imgs.reshape(10, -1) - 1, jnp.float32), (side, side)


def recall_demo(noise: float = 0.15, seed: int = 0):
    """Store the ten digit images with three rules, recall each from a probe with ``noise`` flipped bits."""
    from jaxstat import hopfield

    xi, shape = digit_patterns()
    probes = hopfield.corrupt(jax.random.key(seed), xi, noise)
    results, success = {}, {}
    for rule in ("hebbian", "storkey", "pseudo_inverse"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the digits are correlated; pseudo_inverse may warn
            W = getattr(hopfield, rule)(xi)
        r = hopfield.retrieve(jax.random.key(seed + 1), W, probes, n_sweeps=20, patterns=xi)
        results[rule] = r.states
        success[rule] = int(jnp.sum(jnp.diagonal(r.overlaps[:, -1, :]) > 0.99))
    return xi, probes, results, success, shape


DENSE_ALPHAS = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 3, 5, 8, 12, 20])


def dense_comparison(n: int = 100, n_trials: int = 20, flip: float = 0.1, seed: int = 3):
    """Retrieved fraction against load for the classical and the dense memories at equal N."""
    from jaxstat import hopfield

    key = jax.random.key(seed)
    kw = dict(n_trials=n_trials, flip_fraction=flip)
    return {
        "classical (Hebb)": hopfield.capacity(key, n, DENSE_ALPHAS[DENSE_ALPHAS <= 1], **kw),
        "polynomial, degree 3": hopfield.dense_capacity(key, n, DENSE_ALPHAS, kind="polynomial", degree=3, **kw),
        "exponential": hopfield.dense_capacity(key, n, DENSE_ALPHAS, kind="exponential", **kw),
        "softmax, sharpness = 0.2": hopfield.dense_capacity(key, n, DENSE_ALPHAS, kind="softmax", sharpness=0.2,
                                                         **kw),
    }


def _largest_perfect_load(result) -> str:
    ok = result.retrieved_fraction[0] == 1.0
    if not ok.any():
        return "none"
    last = float(result.alpha[0][np.flatnonzero(ok)[-1]])
    return f"{last:g}" + (" (the largest tried)" if ok[-1] else "")


def hopfield_section(outdir: Path, quick: bool = False, bar=None) -> str:
    from jaxstat import hopfield, plot

    stage(bar, "Hopfield: recall of digit images")
    xi, probes, results, success, shape = recall_demo()
    fig = plot.hopfield_recall(xi, probes, results, shape,
                               suptitle="Ten digits stored in one network (N = 256); probes with 15% of bits flipped")
    plot.save(fig, outdir / "hopfield_recall.png")

    sizes = (100, 200) if quick else (250, 500, 1000)
    alphas = np.round(np.linspace(0.02, 0.3, 8 if quick else 15), 3)
    n_trials = 10 if quick else 50
    stage(bar, f"Hopfield capacity: N = {sizes}, {len(alphas)} loads x {n_trials} trials")
    t0 = time.perf_counter()
    cap = hopfield.capacity(jax.random.key(1), sizes, alphas, n_trials)
    t_cap = time.perf_counter() - t0
    grid = np.linspace(0.005, 0.3, 120)
    fig = plot.hopfield_capacity(cap, hopfield.ags_critical_load(), (grid, hopfield.ags_overlap(grid)))
    plot.save(fig, outdir / "hopfield_capacity.png")

    n_d = 100 if quick else 400
    d_alphas = np.round(np.linspace(0.01, 0.2, 5 if quick else 13), 4)
    d_temps = np.round(np.linspace(0.0, 1.2, 5 if quick else 13), 3)
    d_trials = 2 if quick else 8
    stage(bar, f"Hopfield (alpha, T) diagram: N = {n_d}, {len(d_alphas)} x {len(d_temps)} x {d_trials}")
    t0 = time.perf_counter()
    diagram = hopfield.retrieval_diagram(jax.random.key(2), n_d, d_alphas, d_temps, n_trials=d_trials,
                                         n_sweeps=20 if quick else 40)
    t_diag = time.perf_counter() - t0
    b_alpha = np.linspace(0.0, hopfield.ags_critical_load(), 6 if quick else 14)
    boundary = (b_alpha, hopfield.ags_retrieval_temperature(b_alpha, xtol=1e-3))
    fig = plot.hopfield_diagram(diagram, boundary)
    plot.save(fig, outdir / "hopfield_diagram.png")

    stage(bar, "Dense associative memories against the classical network")
    t0 = time.perf_counter()
    dense = dense_comparison(n_trials=5 if quick else 20)
    t_dense = time.perf_counter() - t0
    fig = plot.capacity_comparison(dense, hopfield.ags_critical_load(),
                                   title="Capacity at N = 100, probes with 10% of bits flipped")
    plot.save(fig, outdir / "hopfield_dense.png")

    big = len(sizes) - 1
    alpha_half = half_crossing(cap.alpha[big], cap.retrieved_fraction[big])
    lines = [
        "## Hopfield networks",
        "",
        f"**Result:** Hebb's rule retrieves half the patterns up to α = {alpha_half:.3f} at N = {sizes[big]} "
        f"(replica theory: α_c = {hopfield.ags_critical_load():.3f} at N = ∞; finite N retrieves a little beyond); "
        f"digits recalled exactly of 10: " + ", ".join(f"{rule} {k}" for rule, k in success.items()),
        "",
        "**Recall.** The first image of each digit 0–9 (UCI 8×8 digits, binarized, upsampled to 16×16) stored "
        "in one network; each probe has 15% of its bits flipped; asynchronous zero-temperature dynamics. "
        "Digit images are strongly correlated, which Hebb's rule cannot handle; the projection rule "
        "stores any P < N patterns as exact fixed points.",
        "",
        "| rule | digits recalled exactly (of 10) |",
        "|---|---|",
    ] + [f"| {rule} | {k} |" for rule, k in success.items()] + [
        "",
        "![Recall of the ten digits: the stored images, the probes with 15% of their bits flipped, and the "
        "states each storage rule's network settles into.](hopfield_recall.png)",
        "",
        f"**Capacity.** Hebb's rule, random patterns, N = {', '.join(map(str, sizes))}, {len(alphas)} loads × "
        f"{n_trials} trials in one compiled call ({t_cap:.1f} s including compilation). Start from a stored "
        "pattern; zero-temperature asynchronous dynamics to a fixed point. The breakdown sits near "
        f"α_c = {hopfield.ags_critical_load():.4f} (replica theory, N = ∞) and sharpens with N.",
        "",
        "![Fraction of stored patterns retrieved (final overlap above 0.95, left) and the mean final overlap "
        "(right) against the load α = P/N for each N, with the AGS critical load α_c = 0.138 (dashed) and "
        "the replica theory's overlap.](hopfield_capacity.png)",
        "",
        "| α | " + " | ".join(f"retrieved, N = {n}" for n in sizes) + f" | mean overlap, N = {sizes[big]} | AGS m |",
        "|---|" + "---|" * (len(sizes) + 2),
    ]
    for j, a in enumerate(cap.alpha[big]):
        fr = " | ".join(f"{cap.retrieved_fraction[k, j]:.2f} ± {cap.retrieved_stderr[k, j]:.2f}"
                        for k in range(len(sizes)))
        lines.append(f"| {a:.3f} | {fr} | {cap.mean_overlap[big, j]:.3f} ± {cap.overlap_stderr[big, j]:.3f} "
                     f"| {hopfield.ags_overlap(a):.3f} |")
    lines += [
        "",
        f"**Retrieval diagram.** N = {n_d}, {len(d_alphas)} loads × {len(d_temps)} temperatures × {d_trials} "
        f"trials, Glauber dynamics from the pattern, overlap averaged over the second half of the run "
        f"({t_diag:.1f} s). The white line is the replica-symmetric edge T_M(α) of the retrieval state.",
        "",
        "![Mean overlap with the stored pattern over the (α, T) plane (colour), with the AGS edge T_M(α) of "
        "the retrieval state (white line): the network remembers below and left of it.](hopfield_diagram.png)",
        "",
        "**Dense associative memories.** N = 100, probes with 10% of bits flipped: the classical network "
        "against Krotov and Hopfield's polynomial energy (degree 3), the exponential energy of Demircigil et "
        "al., and the continuous softmax update ξᵀ softmax(λ ξ x) of Ramsauer et al. (the attention rule; λ is "
        "the sharpness, which the paper writes β), "
        f"{t_dense:.1f} s.",
        "",
        "![Fraction of probes retrieved against the load for the classical network and the dense memories: "
        "polynomial and exponential energies and the softmax update store far more than 0.138 N "
        "patterns.](hopfield_dense.png)",
        "",
        "| memory | largest load with every probe retrieved |",
        "|---|---|",
    ] + [f"| {label} | {_largest_perfect_load(r)} |" for label, r in dense.items()] + [""]
    return "\n".join(lines)
