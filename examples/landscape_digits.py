"""Loss landscapes of an MLP on the digits: random planes vs Hessian planes, at a minimum and at a saddle.

Run locally:   python examples/landscape_digits.py   (writes landscape_*.png into ./landscape-digits/)
In Colab:      !pip install "jaxstat @ git+<this repository's URL>"  then run the cells below.

1. Train a 64-16-10 tanh MLP on all 1,797 digits (cross-entropy + L2, full-batch Adam): a minimum.
2. Train the same net with its hidden units tied in identical pairs: a symmetric critical point,
   which Lanczos shows to be a strict saddle (lambda_min < 0, residual reported).
3. At both: the Hessian directions (eigenvectors of lambda_max and lambda_min), filter-normalized
   random planes, Hutchinson / Hutch++ / random-projection trace estimates and the spectral density.
"""

from pathlib import Path

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

import jaxstat as js
from jaxstat.tour.landscape import (
    fit_adam,
    landscape_experiment,
    landscape_figures,
    pair_average,
)

# %% the pieces, by hand: a saddle from tied hidden units, and its Hessian directions
x, y = js.datasets.digits()
model = js.nets.mlp(jax.random.key(0), (64, 16, 10), "tanh")
ce, params = js.nets.loss_fn(model, x, y)            # params: the model's nnx.State


def loss(p):                                          # cross-entropy + 0.01/2 |theta|^2
    return ce(p) + 0.005 * sum(jnp.sum(a * a) for a in jax.tree.leaves(p))


saddle = pair_average(fit_adam(lambda p: loss(pair_average(p, 16)), params, 3000, 2e-2), 16)
hd = js.landscape.hessian_directions(jax.random.key(1), loss, saddle)
n = ravel_pytree(saddle)[0].size
curv = js.landscape.random_projection_curvature(jax.random.key(2), loss, saddle, 500)
tr = js.landscape.hessian_trace(jax.random.key(3), loss, saddle, 100, "hutch++")
print(f"saddle: |grad| {float(js.landscape.tree_norm(jax.grad(loss)(saddle))):.1e}, "
      f"lambda_max {hd.eigenvalues[0]:.4f} ± {hd.residuals[0]:.1e}, lambda_min {hd.eigenvalues[1]:.5f} ± {hd.residuals[1]:.1e}")
print(f"random projections: mean curvature {curv.mean:.4f} ± {curv.stderr:.4f}; "
      f"Hutch++ tr(H)/n {tr.estimate / n:.4f} ± {tr.stderr / n:.4f}")

# %% the whole experiment and figures (the same code as `jaxstat tour --sections landscape`)
if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    res = landscape_experiment()
    out = Path("landscape-digits")
    out.mkdir(exist_ok=True)
    print("wrote", landscape_figures(res, out), "into", out)
    for name in ("minimum", "saddle"):
        r = res[name]
        print(f"{name}: loss {r['loss']:.4f}, |grad| {r['grad_norm']:.1e}, lambda_max {float(r['hd'].eigenvalues[0]):.4g} "
              f"± {float(r['hd'].residuals[0]):.1e}, lambda_min {float(r['hd'].eigenvalues[1]):.4g} "
              f"± {float(r['hd'].residuals[1]):.1e}, Hutchinson {float(r['hutchinson'].estimate):.2f} "
              f"± {float(r['hutchinson'].stderr):.2f}, Hutch++ {float(r['hutchpp'].estimate):.2f} "
              f"± {float(r['hutchpp'].stderr):.2f}, n x projections {r['n'] * float(r['projection'].mean):.2f} "
              f"± {r['n'] * float(r['projection'].stderr):.2f}")
