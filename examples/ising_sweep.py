"""Temperature sweeps in one compiled call: the 2D Ising model and the SK spin glass.

Run locally:   python examples/ising_sweep.py   (writes ising_sweep.png)
In Colab:      !pip install "jaxstat @ git+<this repository's URL>"  then run the cells below.

1. The 2D ferromagnet: |m|(T) and the energy for L = 16 and 32, vmapped over
   temperatures and chains, against Onsager's exact curves.
2. The Sherrington-Kirkpatrick spin glass: the energy per spin vs T averaged
   over 32 disorder samples, vmapped over disorder *and* temperature. Above
   T = 1 the exact (replica-symmetric, N = infinity) result is e = -1/(2T);
   at T = 0 it is about -0.763 (Parisi).
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxstat as js

# %% 2D Ising: temperatures x chains in one call per lattice size
temperatures = jnp.linspace(1.5, 3.5, 21)
keys = jax.random.split(jax.random.key(0), 8)
ising = {}
for L in (16, 32):
    sampler = js.mcmc.checkerboard(js.ising.lattice((L, L)))

    def chain(beta, key, sampler=sampler, L=L):
        _, trace = js.mcmc.run(key, sampler, jnp.ones((L, L)), beta, 2000, burn_in=500)
        return jnp.mean(jnp.abs(trace["magnetization"])), jnp.mean(trace["energy"]) / L**2

    abs_m, e = jax.jit(jax.vmap(jax.vmap(chain, (None, 0)), (0, None)))(1 / temperatures, keys)
    ising[L] = (abs_m.mean(1), e.mean(1))

# %% SK spin glass: disorder x temperatures in one call
n, n_disorder = 64, 32
sk_temperatures = jnp.linspace(0.3, 2.0, 12)


def sk_energy(key, beta):
    k_model, k_run = jax.random.split(key)
    model = js.ising.sherrington_kirkpatrick(k_model, n)
    spins0 = js.ising.random_spins(k_run, (n,))
    _, trace = js.mcmc.run(k_run, js.mcmc.metropolis(model), spins0, beta, 2000, burn_in=2000)
    return jnp.mean(trace["energy"]) / n


per_t = jax.vmap(sk_energy, (None, 0))
disorder = jax.random.split(jax.random.key(1), n_disorder)
sk = jax.jit(jax.vmap(per_t, (0, None)))(disorder, 1 / sk_temperatures)   # (disorder, T)

# %% figures
if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(1.5, 3.5, 300)
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    for L, (m, e) in ising.items():
        ax[0].plot(temperatures, m, "o-", ms=3, label=f"L = {L}")
        ax[1].plot(temperatures, e, "o-", ms=3, label=f"L = {L}")
    ax[0].plot(grid, js.exact.onsager_magnetization(grid), "k-", label="Onsager")
    ax[1].plot(grid, js.exact.onsager_energy(grid), "k-", label="Onsager")
    ax[0].set(xlabel="T", ylabel="<|m|>")
    ax[1].set(xlabel="T", ylabel="energy per spin")
    ax[0].legend()
    mean, err = sk.mean(0), sk.std(0) / np.sqrt(n_disorder)
    ax[2].errorbar(sk_temperatures, mean, err, marker="o", ms=3, label=f"SK, N = {n}, {n_disorder} samples")
    hot = np.linspace(1.0, 2.0, 50)
    ax[2].plot(hot, -1 / (2 * hot), "k-", label="-1/(2T), exact for T > 1")
    ax[2].axhline(-0.763, color="k", ls="--", lw=1, label="N = ∞, T = 0 (Parisi)")
    ax[2].set(xlabel="T", ylabel="energy per spin")
    ax[2].legend()
    fig.savefig("ising_sweep.png", dpi=110)
    print("wrote ising_sweep.png")
