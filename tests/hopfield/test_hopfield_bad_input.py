"""Bad input to every public function of jaxstat.hopfield is never silent.

Called directly, each case raises a ValueError whose message names the argument.
Under jax.jit / jax.vmap, where values are traced and cannot raise, invalid values
(0/1 states, a negative beta, a sharpness <= 0, a fraction outside [0, 1]) give NaN
in every floating output, never a plausible number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat import hopfield

KEY = jax.random.key(0)
XI = np.array([[1, -1, 1, 1, -1, 1], [1, 1, -1, 1, 1, -1], [-1, 1, 1, 1, -1, -1]], np.float32)
W = np.asarray(hopfield.hebbian(XI))
S = XI[0]
S01 = (XI[0] + 1) / 2          # the neuron form's 0/1 activities, passed as spins


def sampler():
    return hopfield.retrieval_sampler(W)


CASES = [
    # storage rules
    ("hebbian 0/1", lambda: hopfield.hebbian(XI * 0.5 + 0.5), "patterns"),
    ("hebbian rank 1", lambda: hopfield.hebbian(S), "patterns"),
    ("hebbian rank 3", lambda: hopfield.hebbian(XI[None]), "patterns"),
    ("hebbian NaN", lambda: hopfield.hebbian(np.where(XI > 0, np.nan, -1.0)), "patterns"),
    ("pseudo_inverse empty", lambda: hopfield.pseudo_inverse(np.ones((0, 6))), "patterns"),
    ("pseudo_inverse no units", lambda: hopfield.pseudo_inverse(np.ones((2, 0))), "patterns"),
    ("storkey complex", lambda: hopfield.storkey(XI.astype(np.complex64)), "patterns"),
    ("storkey float16", lambda: hopfield.storkey(XI.astype(np.float16)), "patterns"),
    # retrieve
    ("retrieve W not square", lambda: hopfield.retrieve(KEY, W[:, :5], S), "W"),
    ("retrieve W diagonal", lambda: hopfield.retrieve(KEY, W + np.eye(6), S), "W"),
    ("retrieve W NaN", lambda: hopfield.retrieve(KEY, np.where(W > 0, np.nan, W), S), "W"),
    ("retrieve W rank 1", lambda: hopfield.retrieve(KEY, W[0], S), "W"),
    ("retrieve probe 0/1", lambda: hopfield.retrieve(KEY, W, S01), "probe"),
    ("retrieve probe size", lambda: hopfield.retrieve(KEY, W, S[:5]), "probe"),
    ("retrieve probe scalar", lambda: hopfield.retrieve(KEY, W, 1.0), "probe"),
    ("retrieve beta < 0", lambda: hopfield.retrieve(KEY, W, S, beta=-1.0), "beta"),
    ("retrieve beta NaN", lambda: hopfield.retrieve(KEY, W, S, beta=np.nan), "beta"),
    ("retrieve beta vector", lambda: hopfield.retrieve(KEY, W, S, beta=[1.0, 2.0]), "beta"),
    ("retrieve beta bool", lambda: hopfield.retrieve(KEY, W, S, beta=True), "beta"),
    ("retrieve n_sweeps 0", lambda: hopfield.retrieve(KEY, W, S, n_sweeps=0), "n_sweeps"),
    ("retrieve n_sweeps float", lambda: hopfield.retrieve(KEY, W, S, n_sweeps=2.5), "n_sweeps"),
    ("retrieve mode", lambda: hopfield.retrieve(KEY, W, S, mode="parallel"), "mode"),
    ("retrieve theta shape", lambda: hopfield.retrieve(KEY, W, S, theta=np.ones(3)), "theta"),
    ("retrieve theta NaN", lambda: hopfield.retrieve(KEY, W, S, theta=np.nan), "theta"),
    ("retrieve patterns N", lambda: hopfield.retrieve(KEY, W, S, patterns=XI[:, :5]), "patterns"),
    ("retrieve patterns 0/1", lambda: hopfield.retrieve(KEY, W, S, patterns=XI * 0), "patterns"),
    ("retrieve key int", lambda: hopfield.retrieve(0, W, S), "key"),
    ("retrieve key last", lambda: hopfield.retrieve(W, S, KEY), "key"),
    # the sampler
    ("sampler W not square", lambda: hopfield.retrieval_sampler(W[:5]), "W"),
    ("sampler W diagonal", lambda: hopfield.retrieval_sampler(np.eye(6)), "W"),
    ("sampler mode", lambda: hopfield.retrieval_sampler(W, mode="little"), "mode"),
    ("sampler theta shape", lambda: hopfield.retrieval_sampler(W, theta=np.ones((6, 1))), "theta"),
    ("sampler init 0/1", lambda: sampler().init(S01), "spins"),
    ("sampler init shape", lambda: sampler().init(XI), "spins"),
    ("sampler step key", lambda: sampler().step(0, sampler().init(S), 1.0), "key"),
    ("sampler step beta", lambda: sampler().step(KEY, sampler().init(S), -2.0), "beta"),
    ("sampler step state", lambda: sampler().step(KEY, S, 1.0), "state"),
    ("run sampler beta", lambda: js.mcmc.run(KEY, sampler(), S, -1.0, 3), "beta"),
    # overlap, corrupt
    ("overlap N", lambda: hopfield.overlap(XI, S[:4]), "states"),
    ("overlap 0/1", lambda: hopfield.overlap(XI, S01), "states"),
    ("overlap patterns rank", lambda: hopfield.overlap(S, S), "patterns"),
    ("corrupt fraction > 1", lambda: hopfield.corrupt(KEY, S, 1.5), "fraction"),
    ("corrupt fraction < 0", lambda: hopfield.corrupt(KEY, S, -0.1), "fraction"),
    ("corrupt fraction NaN", lambda: hopfield.corrupt(KEY, S, np.nan), "fraction"),
    ("corrupt fraction text", lambda: hopfield.corrupt(KEY, S, "half"), "fraction"),
    ("corrupt fraction vector", lambda: hopfield.corrupt(KEY, S, [0.1, 0.2]), "fraction"),
    ("corrupt mode", lambda: hopfield.corrupt(KEY, S, 0.2, mode="erase"), "mode"),
    ("corrupt fill", lambda: hopfield.corrupt(KEY, S, 0.2, mode="mask", fill=0), "fill"),
    ("corrupt states 0/1", lambda: hopfield.corrupt(KEY, S01, 0.2), "states"),
    ("corrupt states scalar", lambda: hopfield.corrupt(KEY, 1.0, 0.2), "states"),
    ("corrupt key", lambda: hopfield.corrupt(S, 0.2, KEY), "key"),
    # capacity and the diagram
    ("capacity n 0", lambda: hopfield.capacity(KEY, 0, [0.1]), "n"),
    ("capacity n float", lambda: hopfield.capacity(KEY, 50.5, [0.1]), "n"),
    ("capacity alphas < 0", lambda: hopfield.capacity(KEY, 50, [-0.1]), "alphas"),
    ("capacity alphas NaN", lambda: hopfield.capacity(KEY, 50, [np.nan]), "alphas"),
    ("capacity alphas 2-D", lambda: hopfield.capacity(KEY, 50, [[0.1]]), "alphas"),
    ("capacity n_trials", lambda: hopfield.capacity(KEY, 50, [0.1], n_trials=0), "n_trials"),
    ("capacity rule", lambda: hopfield.capacity(KEY, 50, [0.1], rule="oja"), "rule"),
    ("capacity flip", lambda: hopfield.capacity(KEY, 50, [0.1], flip_fraction=-0.5), "flip_fraction"),
    ("capacity threshold", lambda: hopfield.capacity(KEY, 50, [0.1], threshold=0.0), "threshold"),
    ("capacity max_flips", lambda: hopfield.capacity(KEY, 50, [0.1], max_flips=0), "max_flips"),
    ("capacity dtype", lambda: hopfield.capacity(KEY, 50, [0.1], dtype=jnp.float16), "dtype"),
    ("capacity key", lambda: hopfield.capacity(50, [0.1], 4), "key"),
    ("diagram temperatures < 0", lambda: hopfield.retrieval_diagram(KEY, 50, [0.1], [-1.0]), "temperatures"),
    ("diagram temperatures text", lambda: hopfield.retrieval_diagram(KEY, 50, [0.1], ["hot"]), "temperatures"),
    ("diagram n_sweeps", lambda: hopfield.retrieval_diagram(KEY, 50, [0.1], [0.5], n_sweeps=1), "n_sweeps"),
    ("diagram two sizes", lambda: hopfield.retrieval_diagram(KEY, (50, 60), [0.1], [0.5]), "n"),
    ("diagram rule", lambda: hopfield.retrieval_diagram(KEY, 50, [0.1], [0.5], rule="hebb"), "rule"),
    # theory
    ("ags_overlap alpha", lambda: hopfield.ags_overlap(-0.1), "alpha"),
    ("ags_overlap alpha NaN", lambda: hopfield.ags_overlap(np.nan), "alpha"),
    ("ags_overlap temperature", lambda: hopfield.ags_overlap(0.1, -1.0), "temperature"),
    ("ags_overlap tol", lambda: hopfield.ags_overlap(0.1, 0.5, tol=0.0), "tol"),
    ("ags_overlap max_iter", lambda: hopfield.ags_overlap(0.1, 0.5, max_iter=0), "max_iter"),
    ("ags_retrieval_temperature alpha", lambda: hopfield.ags_retrieval_temperature(-0.1), "alpha"),
    ("ags_retrieval_temperature xtol", lambda: hopfield.ags_retrieval_temperature(0.05, xtol=0.0), "xtol"),
    # mixtures and classification
    ("mixture even", lambda: hopfield.mixture(XI, (0, 1)), "indices"),
    ("mixture out of range", lambda: hopfield.mixture(XI, (0, 1, 3)), "indices"),
    ("mixture signs", lambda: hopfield.mixture(XI, (0, 1, 2), (1, 0, 1)), "signs"),
    ("classify P < 3", lambda: hopfield.classify(XI[:2], S), "patterns"),
    ("classify threshold", lambda: hopfield.classify(XI, S, threshold=1.5), "threshold"),
    ("classify states", lambda: hopfield.classify(XI, S01), "states"),
    # dense memories
    ("dense_energy kind", lambda: hopfield.dense_energy(XI, S, kind="cubic"), "kind"),
    ("dense_energy degree", lambda: hopfield.dense_energy(XI, S, degree=1), "degree"),
    ("dense_energy sharpness 0", lambda: hopfield.dense_energy(XI, S, kind="exponential", sharpness=0.0), "sharpness"),
    ("dense_energy sharpness inf", lambda: hopfield.dense_energy(XI, S, kind="exponential", sharpness=np.inf),
     "sharpness"),
    ("dense_energy states", lambda: hopfield.dense_energy(XI, S01), "states"),
    ("dense_retrieve n_sweeps", lambda: hopfield.dense_retrieve(KEY, XI, S, n_sweeps=0), "n_sweeps"),
    ("dense_retrieve probe", lambda: hopfield.dense_retrieve(KEY, XI, S01), "probe"),
    ("dense_retrieve key", lambda: hopfield.dense_retrieve(XI, S, KEY), "key"),
    ("dense_capacity kind", lambda: hopfield.dense_capacity(KEY, 20, [0.5], kind="hebbian"), "kind"),
    ("dense_capacity sharpness", lambda: hopfield.dense_capacity(KEY, 20, [0.5], sharpness=-1.0), "sharpness"),
    ("dense_capacity threshold", lambda: hopfield.dense_capacity(KEY, 20, [0.5], threshold=2.0), "threshold"),
    ("softmax_update state N", lambda: hopfield.softmax_update(XI, S[:4]), "state"),
    ("softmax_update state NaN", lambda: hopfield.softmax_update(XI, np.where(S > 0, np.nan, S)), "state"),
    ("softmax_update patterns NaN", lambda: hopfield.softmax_update(XI * np.nan, S), "patterns"),
    ("softmax_update sharpness", lambda: hopfield.softmax_update(XI, S, sharpness=0.0), "sharpness"),
    ("softmax_update sharpness vector", lambda: hopfield.softmax_update(XI, S, sharpness=[1.0, 2.0]), "sharpness"),
    ("softmax_energy sharpness bool", lambda: hopfield.softmax_energy(XI, S, sharpness=True), "sharpness"),
    ("softmax_retrieve n_steps", lambda: hopfield.softmax_retrieve(XI, S, n_steps=0), "n_steps"),
]


@pytest.mark.parametrize("name, call, argument", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_value_error_naming_the_argument(name, call, argument):
    with pytest.raises(ValueError, match=rf"\b{argument}\b"):
        call()


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


# --------------------------------------------------------------------------- #
# traced invalid values: NaN in every floating output
# --------------------------------------------------------------------------- #
def all_nan(*arrays):
    return all(bool(jnp.all(jnp.isnan(a))) for a in arrays)


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_sampler_and_retrieve_under_jit_and_vmap_give_nan_for_invalid_values(mode):
    s = jnp.asarray(S)

    def run(W, spins, beta):
        state, trace = js.mcmc.run(KEY, hopfield.retrieval_sampler(W, mode=mode), spins, beta, 3)
        return state.spins, state.energy, trace["energy"], trace["magnetization"], trace["acceptance_rate"]

    def ret(W, spins, beta):
        r = hopfield.retrieve(KEY, W, spins, beta=beta, n_sweeps=3, mode=mode, patterns=XI)
        return r.states, r.energies, r.overlaps

    # every case is one chain of a single jit(vmap) call (one compilation per function): an
    # invalid chain is NaN in every output, the valid chains beside it (finite beta and
    # beta = inf) are finite
    bad = ["0/1 states", "negative beta", "NaN beta", "W with a diagonal"]
    W_cases = jnp.stack([W, W, W, W + jnp.eye(6), W, W])
    s_cases = jnp.stack([jnp.asarray(S01), s, s, s, s, s])
    beta_cases = jnp.array([1.0, -1.0, jnp.nan, 1.0, 0.5, jnp.inf])
    for f in (run, ret):
        out = jax.jit(jax.vmap(f))(W_cases, s_cases, beta_cases)
        for i, why in enumerate(bad):
            assert all_nan(*(a[i] for a in out)), (f.__name__, why)
        for i in (4, 5):
            assert all(bool(jnp.all(jnp.isfinite(a[i]))) for a in out), (f.__name__, float(beta_cases[i]))
    r = jax.jit(lambda sp: hopfield.retrieve(KEY, W, sp, n_sweeps=3, mode=mode))(jnp.asarray(S01))
    assert not bool(r.converged) and not bool(r.cycle2)


def test_other_functions_under_jit_give_nan_for_invalid_values():
    s01 = jnp.asarray(S01)
    assert all_nan(jax.jit(hopfield.overlap)(XI, s01))
    assert all_nan(jax.jit(hopfield.hebbian)(jnp.asarray(XI) * 0 + s01))
    assert all_nan(jax.jit(hopfield.dense_energy)(XI, s01))
    assert all_nan(jax.jit(lambda sh: hopfield.dense_energy(XI, S, kind="exponential", sharpness=sh))(-1.0))
    for kind in ("polynomial", "exponential"):
        r = jax.jit(lambda p, kind=kind: hopfield.dense_retrieve(KEY, XI, p, n_sweeps=2, kind=kind))(s01)
        assert all_nan(r.states, r.energies, r.overlaps) and not bool(r.converged)
    r = jax.jit(lambda sh: hopfield.dense_retrieve(KEY, XI, S, n_sweeps=2, kind="exponential", sharpness=sh))(0.0)
    assert all_nan(r.states, r.energies, r.overlaps)
    for f in (hopfield.softmax_update, hopfield.softmax_energy):
        assert all_nan(jax.jit(lambda sh, f=f: f(XI, S, sharpness=sh))(-2.0))
    r = jax.jit(lambda sh: hopfield.softmax_retrieve(XI, S, sharpness=sh))(0.0)
    assert all_nan(r.states, r.overlaps, r.energies)
    assert all_nan(jax.jit(lambda f: hopfield.corrupt(KEY, S, f))(1.5))
    assert all_nan(jax.jit(lambda f: hopfield.corrupt(KEY, S, f))(-0.5))
    c = jax.jit(hopfield.classify)(XI, s01)
    assert all_nan(c.overlap)
