"""Tour section: the perceptron on the fruit example, its capacity against Cover, teacher-student
generalization, and one perceptron per class on handwritten digits."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat.tour._common import half_crossing, stage


def fruit_demo(n: int = 120, seed: int = 0):
    """Train on separable fruit and (pocket) on overlapping fruit; returns both data sets and results."""
    from jaxstat import datasets, perceptron

    out = {}
    for name, overlap, pocket in (("separable", 0.0, False), ("overlapping", 0.1, True)):
        x, y = datasets.fruit(jax.random.key(seed), n, overlap=overlap)
        r = perceptron.train(x, y, max_epochs=1000, pocket=pocket)
        out[name] = (x, y, r, int(perceptron.training_errors(r.w, r.b, x, y)),
                     bool(perceptron.linearly_separable(x, y)))
    return out


def cover_curves(sizes, alpha_max: float, bias: bool = False):
    """Cover's formula at every integer P up to alpha_max N, per N."""
    from jaxstat import perceptron

    curves = {}
    for n in sizes:
        ps = np.arange(1, int(alpha_max * n) + 1)
        curves[int(n)] = (ps / n, np.array([perceptron.cover_probability(int(p), int(n) + bias) for p in ps]))
    return curves


def digits_multiclass(train_fraction: float = 0.78, max_epochs: int = 50, seed: int = 0):
    """One perceptron per digit class on the 8x8 digits; returns weights and train/test accuracies."""
    from jaxstat import datasets, perceptron

    x, labels = datasets.digits()
    order = np.asarray(jax.random.permutation(jax.random.key(seed), x.shape[0]))
    cut = int(train_fraction * x.shape[0])
    tr, te = order[:cut], order[cut:]
    r = perceptron.train_multiclass(x[tr], labels[tr], n_classes=10, max_epochs=max_epochs, pocket=True)
    acc = {name: float(jnp.mean(perceptron.predict_multiclass(r.weights, r.biases, x[idx]) == labels[idx]))
           for name, idx in (("train", tr), ("test", te))}
    return r, acc, (len(tr), len(te))


def _line(w, b) -> str:
    w1, w2, b = float(w[0]), float(w[1]), float(b)
    return f"{w1:.3g}·x1 {'-' if w2 < 0 else '+'} {abs(w2):.3g}·x2 {'-' if b < 0 else '+'} {abs(b):.3g} = 0"


def perceptron_section(outdir: Path, quick: bool = False, bar=None) -> str:
    from jaxstat import perceptron, plot

    stage(bar, "Perceptron: fruit sorting")
    fruit = fruit_demo()
    plt = plot.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, (name, (x, y, r, errors, separable)) in zip(axes, fruit.items()):
        plot.fruit_boundary(x, y, r.w, r.b, ax=ax,
                            title=f"{name}: {errors} training errors after {int(r.n_epochs)} epochs"
                            + (" (pocket)" if name == "overlapping" else ""))
    plot.save(fig, outdir / "perceptron_fruit.png")

    sizes = (10, 20) if quick else (20, 40, 80)
    alphas = np.round(np.linspace(0.5, 4.0, 8 if quick else 15), 3)
    n_trials = 20 if quick else 60
    stage(bar, f"Perceptron capacity: N = {sizes}, {len(alphas)} loads x {n_trials} trials")
    t0 = time.perf_counter()
    sep = perceptron.separability_sweep(jax.random.key(1), sizes, alphas, n_trials)
    t_sep = time.perf_counter() - t0
    plot.save(plot.separability_curve(sep, cover_curves(sizes, alphas[-1])), outdir / "perceptron_capacity.png")

    n_ts, ts_alphas = (50, np.array([0.5, 1, 2, 4])) if quick else (100, np.array([0.25, 0.5, 1, 2, 3, 4, 6, 8]))
    ts_trials = 5 if quick else 20
    stage(bar, f"Teacher-student: N = {n_ts}, {len(ts_alphas)} loads x {ts_trials} trials")
    t0 = time.perf_counter()
    ts = perceptron.teacher_student(jax.random.key(2), n_ts, ts_alphas, ts_trials)
    t_ts = time.perf_counter() - t0
    grid = np.linspace(0.05, ts_alphas[-1], 80)
    plot.save(plot.generalization_curve(ts, grid, perceptron.gibbs_generalization_error(grid),
                                        perceptron.bayes_generalization_error(grid)),
              outdir / "perceptron_generalization.png")

    stage(bar, "One perceptron per class on the 8x8 digits")
    t0 = time.perf_counter()
    mc, acc, (n_train, n_test) = digits_multiclass(max_epochs=20 if quick else 50)
    t_mc = time.perf_counter() - t0
    plot.save(plot.weight_images(mc.weights, (8, 8), titles=range(10),
                                 suptitle="Weights of the ten one-vs-rest perceptrons (red +, blue -)"),
              outdir / "perceptron_digits.png")

    sx, sy, sr, s_err, _ = fruit["separable"]
    ox, oy, orr, o_err, o_sep = fruit["overlapping"]
    big = len(sizes) - 1
    alpha_half = half_crossing(alphas, sep.fraction[big])
    lines = [
        "## Perceptron",
        "",
        f"**Result:** half the random labellings are separable up to α = {alpha_half:.2f} at N = {sizes[big]} "
        f"(Cover: α_c = 2 at N = ∞); one perceptron per digit class: test accuracy {acc['test']:.3f}",
        "",
        f"**Fruit sorting** (the course notes' example). {sx.shape[0]} apples and oranges by weight and "
        f"sweetness: Rosenblatt's rule separates them in {int(sr.n_epochs)} epochs with the line "
        f"{_line(sr.w, sr.b)}. With 10% of the fruit "
        f"drawn inside the other class, the data are {'still' if o_sep else 'not'} linearly separable "
        f"(decided by a linear program); the pocket algorithm keeps the best line seen, with {o_err} "
        f"training errors of {ox.shape[0]}.",
        "",
        "![Apples and oranges by weight and sweetness with the perceptron's decision line: separable data (left) "
        "and overlapping data with the pocket algorithm's best line (right).](perceptron_fruit.png)",
        "",
        f"**Capacity.** Random ±1 patterns with random labels, N = {', '.join(map(str, sizes))}, "
        f"{len(alphas)} loads × {n_trials} trials in one compiled call; separability decided exactly "
        f"(perceptron certificate, else a linear program: {int(sep.n_certified.sum())} certified, "
        f"{int(sep.n_lp.sum())} by LP; {t_sep:.1f} s). The transition at α = 2 sharpens with N. "
        "Cover's formula assumes points in general position; ±1 patterns are not quite (at N = 10 a few "
        "percent of small sets are linearly dependent), which shows as a shortfall at the smallest N.",
        "",
        "![Fraction of random labellings that are linearly separable against α = P/N for each N, with "
        "Cover's exact counting formula (lines): the transition at α = 2 sharpens with N.](perceptron_capacity.png)",
        "",
        "| α | " + " | ".join(f"N = {n}: measured | Cover" for n in sizes) + " |",
        "|---|" + "---|---|" * len(sizes),
    ]
    for j, a in enumerate(alphas):
        cells = " | ".join(f"{sep.fraction[k, j]:.2f} ± {sep.stderr[k, j]:.2f} | {sep.cover[k, j]:.3f}"
                           for k in range(len(sizes)))
        lines.append(f"| {a:.2f} | {cells} |")
    lines += [
        "",
        f"**Teacher–student.** A student perceptron trained to zero error on P = αN examples labelled by a "
        f"random teacher, N = {n_ts}, {ts_trials} trials per α ({t_ts:.1f} s). The perceptron rule started "
        "from w = 0 lands between the Gibbs (random point of version space) and Bayes-optimal curves of the "
        "replica theory.",
        "",
        "![Generalization error of the student against α = P/N (points with standard errors), between the "
        "Gibbs and Bayes-optimal curves of the replica theory.](perceptron_generalization.png)",
        "",
        "| α | ε (perceptron) | ε Gibbs | ε Bayes |",
        "|---|---|---|---|",
    ] + [f"| {a:g} | {m:.3f} ± {e:.3f} | {g:.3f} | {bb:.3f} |"
         for a, m, e, g, bb in zip(ts.alpha, ts.eps_mean, ts.eps_stderr, ts.gibbs, ts.bayes)] + [
        "",
        f"**Multiclass.** One perceptron per digit class (pocket, {20 if quick else 50} epochs, vmapped over "
        f"classes) on the UCI 8×8 digits, {n_train} training and {n_test} test images; a digit goes to the "
        f"class whose perceptron is most confident. Accuracy: train {acc['train']:.3f}, "
        f"test {acc['test']:.3f} ({t_mc:.1f} s).",
        "",
        "![The weights of the ten one-vs-rest perceptrons as 8x8 images (red positive, blue negative): each "
        "looks for the strokes of its digit.](perceptron_digits.png)",
        "",
    ]
    return "\n".join(lines)
