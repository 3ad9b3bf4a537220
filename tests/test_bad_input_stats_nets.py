"""Bad input to every public function of jaxstat.stats, jaxstat.nets and jaxstat.datasets is never silent.

Called directly, each case raises a ValueError that names the argument (the
``match``). Under ``jax.jit``/``jax.vmap``, where values are tracers and cannot
be checked, an invalid value gives NaN in every floating output it reaches,
never a plausible number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxstat as js

S, N, D = js.stats, js.nets, js.datasets
KEY = jax.random.key(0)
TRACE = jax.random.normal(jax.random.key(1), (256,))
M = jnp.array([0.5, -0.25, 0.75, -1.0])           # per-spin magnetizations
MODEL = N.mlp(jax.random.key(2), (3, 4))
X = jax.random.normal(jax.random.key(3), (8, 3))
Y = jnp.arange(8) % 4
LOGITS = jnp.eye(4)[jnp.array([0, 1, 2, 3, 0])] * 2.0
LABELS = jnp.array([0, 1, 2, 3, 1])

CASES = {
    # stats: streaming statistics
    "summarize min_blocks": (lambda: S.summarize(S.Streaming(n_levels=4).init(jnp.zeros(())), min_blocks=1),
                             "min_blocks must be an integer >= 2"),
    "merge different specs": (lambda: S.merge(S.Streaming(n_levels=4).init(jnp.zeros(())),
                                              S.Streaming(n_levels=5).init(jnp.zeros(()))), "same Streaming spec"),
    # stats: error analysis
    "effective_sample_size one sample": (lambda: S.effective_sample_size(jnp.ones(1)), "x needs at least 2"),
    "effective_sample_size NaN": (lambda: S.effective_sample_size(TRACE.at[3].set(jnp.nan)), "x must be finite"),
    "effective_sample_size scalar": (lambda: S.effective_sample_size(1.0), "x must have a leading"),
    "effective_sample_size complex": (lambda: S.effective_sample_size(TRACE * 1j), "x must be real"),
    "effective_sample_size text": (lambda: S.effective_sample_size("abc"), "x must be"),
    "effective_sample_size float16": (lambda: S.effective_sample_size(TRACE.astype(jnp.float16)), "x.dtype"),
    "effective_sample_size c negative": (lambda: S.effective_sample_size(TRACE, c=-1.0), "c .*must be a finite"),
    "effective_sample_size c NaN": (lambda: S.effective_sample_size(TRACE, c=float("nan")), "c .*must be a finite"),
    "effective_sample_size c bool": (lambda: S.effective_sample_size(TRACE, c=True), "c .*must be a finite"),
    "integrated_autocorrelation_time chain_axis 0": (
        lambda: S.integrated_autocorrelation_time(jnp.ones((8, 2)), chain_axis=0), "chain_axis"),
    "integrated_autocorrelation_time chain_axis 3": (
        lambda: S.integrated_autocorrelation_time(TRACE.reshape(64, 4), chain_axis=3), "chain_axis"),
    "autocorrelation max_lag n": (lambda: S.autocorrelation(TRACE, max_lag=256), "max_lag must be < n_samples"),
    "autocorrelation max_lag negative": (lambda: S.autocorrelation(TRACE, max_lag=-1), "max_lag"),
    "binning_error n_bins 1": (lambda: S.binning_error(TRACE, n_bins=1), "n_bins"),
    "binning_error too short": (lambda: S.binning_error(TRACE[:10]), "x needs at least n_bins"),
    "blocking_levels min_blocks 1": (lambda: S.blocking_levels(TRACE, min_blocks=1), "min_blocks"),
    "blocking_levels too short": (lambda: S.blocking_levels(TRACE[:10]), "x needs at least min_blocks"),
    "blocking_error rule": (lambda: S.blocking_error(TRACE, rule="min"), "rule"),
    "mean_and_error rule": (lambda: S.mean_and_error(TRACE, rule="mean"), "rule"),
    "mean_and_error NaN": (lambda: S.mean_and_error(TRACE.at[0].set(jnp.inf)), "x must be finite"),
    # stats: observables
    "susceptibility total magnetization": (lambda: S.susceptibility(16 * M, 0.5, 16), "m must be the magnetization per"),
    "susceptibility n_spins 0": (lambda: S.susceptibility(M, 0.5, 0), "n_spins"),
    "susceptibility negative beta": (lambda: S.susceptibility(M, -0.5, 4), "beta"),
    "susceptibility beta shape": (lambda: S.susceptibility(jnp.ones((4, 3)) / 2, jnp.ones(2), 4), "beta must be a scalar or"),
    "susceptibility NaN beta array": (lambda: S.susceptibility(jnp.ones((4, 2)) / 2, jnp.array([0.5, jnp.nan]), 4),
                                      "beta"),
    "specific_heat NaN beta": (lambda: S.specific_heat(M, float("nan"), 4), "beta"),
    "specific_heat scalar e": (lambda: S.specific_heat(1.0, 0.5, 4), "e must have a leading"),
    "specific_heat n_spins float": (lambda: S.specific_heat(M, 0.5, 1.5), "n_spins"),
    "binder_cumulant scalar": (lambda: S.binder_cumulant(0.5), "m must have a leading"),
    "binder_cumulant NaN": (lambda: S.binder_cumulant(M.at[0].set(jnp.nan)), "m must be finite"),
    "stepping_stone betas shape": (lambda: S.stepping_stone(jnp.ones(3), jnp.ones((64, 2))), "betas must have shape"),
    "stepping_stone one rung": (lambda: S.stepping_stone(jnp.ones(1), jnp.ones((64, 1))), "energies must have shape"),
    "stepping_stone NaN betas": (lambda: S.stepping_stone(jnp.array([0.0, jnp.nan]), jnp.ones((64, 2))), "betas"),
    "stepping_stone negative betas": (lambda: S.stepping_stone(jnp.array([-1.0, 0.5]), jnp.ones((64, 2))), "betas"),
    "stepping_stone min_blocks": (lambda: S.stepping_stone(jnp.array([0.0, 0.5]), jnp.ones((64, 2)), 1), "min_blocks"),
    "stepping_stone too short": (lambda: S.stepping_stone(jnp.array([0.0, 0.5]), jnp.ones((8, 2))), "energies needs"),
    # nets
    "accuracy labels shape": (lambda: N.accuracy(LOGITS, LABELS[:3]), "labels must have the shape"),
    "accuracy float labels": (lambda: N.accuracy(LOGITS, LABELS.astype(float)), "labels must be integer"),
    "accuracy labels out of range": (lambda: N.accuracy(LOGITS, LABELS.at[0].set(4)), r"labels must lie in \[0, 4\)"),
    "accuracy +-1 labels": (lambda: N.accuracy(LOGITS, LABELS.at[0].set(-1)), r"\(y \+ 1\) // 2"),
    "accuracy scalar logits": (lambda: N.accuracy(1.0, 0), "logits must have a trailing class axis"),
    "cross_entropy labels out of range": (lambda: N.cross_entropy(LOGITS, LABELS + 1), "labels must lie"),
    "mlp widths": (lambda: N.mlp(KEY, (3,)), "widths"),
    "mlp activation": (lambda: N.mlp(KEY, (3, 2), activation=3), "activation"),
    "mlp key": (lambda: N.mlp(3, (3, 2)), "key"),
    "train model": (lambda: N.train("model", X, Y), "model must be a Flax NNX Module"),
    "train NaN x": (lambda: N.train(MODEL, X.at[0, 0].set(jnp.nan), Y), "x must be finite"),
    "train float y": (lambda: N.train(MODEL, X, Y.astype(float)), "y must be integer labels"),
    "train +-1 y": (lambda: N.train(MODEL, X, 2 * (Y % 2) - 1), r"\(y \+ 1\) // 2"),
    "train width": (lambda: N.train(MODEL, jnp.ones((8, 5)), Y), "x has 5 features"),
    "train empty": (lambda: N.train(MODEL, jnp.ones((0, 3)), jnp.zeros(0, int)), "x must hold at least one"),
    "train batch_size 0": (lambda: N.train(MODEL, X, Y, batch_size=0), "batch_size"),
    "train batch_size > n": (lambda: N.train(MODEL, X, Y, batch_size=9), "batch_size must be at most"),
    "train int key": (lambda: N.train(MODEL, X, Y, batch_size=4, key=0), "key must be a JAX PRNG key"),
    "train optimizer": (lambda: N.train(MODEL, X, Y, optimizer="adam"), "optimizer"),
    "train n_epochs": (lambda: N.train(MODEL, X, Y, n_epochs=0), "n_epochs"),
    "train snapshot_every": (lambda: N.train(MODEL, X, Y, snapshot_every=0), "snapshot_every"),
    "train opt_state of another optimizer": (
        lambda: N.train(MODEL, X, Y, optax.sgd(0.1), opt_state=optax.adam(1e-2).init(N.loss_fn(MODEL, X, Y)[1])),
        "opt_state"),
    "loss_fn labels out of range": (lambda: N.loss_fn(MODEL, X, Y + 1), r"y must be class labels in \[0, 4\)"),
    "loss_fn NaN x": (lambda: N.loss_fn(MODEL, X.at[1, 1].set(jnp.nan), Y), "x must be finite"),
    "batched_loss_fn batch_size": (lambda: N.batched_loss_fn(MODEL, X, Y, 0), "batch_size"),
    "batched_loss_fn 1-D x": (lambda: N.batched_loss_fn(MODEL, X[0], Y[:1], 2), "x must be a 2-D"),
    # datasets
    "fruit n 0": (lambda: D.fruit(KEY, 0), "n must be"),
    "fruit int key": (lambda: D.fruit(0, 10), "key"),
    "fruit overlap 2": (lambda: D.fruit(KEY, 10, overlap=2.0), "overlap"),
    "fruit overlap NaN": (lambda: D.fruit(KEY, 10, overlap=float("nan")), "overlap"),
    "fruit overlap with n < 4": (lambda: D.fruit(KEY, 3, overlap=0.5), "n must be >= 4"),
    "fruit float16": (lambda: D.fruit(KEY, 10, dtype=jnp.float16), "dtype"),
    "digits binarize": (lambda: D.digits(binarize="yes"), "binarize"),
    "digits integer dtype": (lambda: D.digits(dtype=jnp.int32), "dtype"),
    "mnist split": (lambda: D.mnist("/tmp", split="val"), "split must be 'train' or 'test'"),
    "mnist path": (lambda: D.mnist(3), "path must be a directory"),
    "mnist binarize": (lambda: D.mnist("/tmp", binarize=1.5), "binarize"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_a_value_error_naming_the_argument(name):
    call, match = CASES[name]
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("module", [S, N, D], ids=["stats", "nets", "datasets"])
def test_every_public_function_has_a_bad_input_case(module):
    covered = {name.split()[0] for name in CASES}
    functions = {n for n in module.__all__ if n[0].islower() and callable(getattr(module, n))}
    assert functions <= covered, sorted(functions - covered)


def test_mnist_missing_files_name_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        D.mnist(tmp_path)


# --------------------------------------------------------------------------- #
# inside jit and vmap: NaN, never a plausible number
# --------------------------------------------------------------------------- #
def test_effective_sample_size_under_jit():
    ess = jax.jit(S.effective_sample_size)
    assert np.isnan(float(ess(TRACE.at[3].set(jnp.nan))))
    assert np.isnan(float(jax.jit(lambda x, c: S.effective_sample_size(x, c))(TRACE, -1.0)))   # traced c <= 0
    assert np.isnan(float(jax.jit(lambda x, c: S.effective_sample_size(x, c))(TRACE, jnp.nan)))
    assert float(ess(TRACE)) == pytest.approx(float(S.effective_sample_size(TRACE)), rel=1e-6)
    # a frozen (constant) trace has no autocorrelation: NaN, not n or 1
    assert np.isnan(float(ess(jnp.ones(100))))


def test_integrated_autocorrelation_time_vmapped_over_c():
    taus = jax.vmap(lambda c: S.integrated_autocorrelation_time(TRACE, c))(jnp.array([5.0, 0.0, -2.0]))
    assert np.isfinite(float(taus[0])) and np.isnan(taus[1:]).all()


def test_susceptibility_under_vmap_and_jit():
    ms = jnp.stack([M, -M, M / 2], axis=1)                       # (4 samples, 3 chains)
    chi = jax.vmap(lambda m, b: S.susceptibility(m, b, 16), in_axes=(1, 0))(ms, jnp.array([0.5, -0.5, jnp.nan]))
    assert np.isfinite(float(chi[0])) and np.isnan(chi[1:]).all()
    # the total magnetization instead of the per-spin one: N^2 off, so NaN rather than a number
    assert np.isnan(float(jax.jit(lambda m: S.susceptibility(m, 0.5, 16))(16 * M)))
    assert float(jax.jit(lambda m: S.susceptibility(m, 0.5, 16))(M)) == pytest.approx(
        float(S.susceptibility(M, 0.5, 16)))


def test_specific_heat_with_a_traced_negative_beta_is_nan():
    c = jax.vmap(lambda b: S.specific_heat(M, b, 4))(jnp.array([0.5, -0.5]))
    # the value at beta = 0.5 is beta^2 N Var(e); at -0.5 it would square to the same: NaN instead
    assert float(c[0]) == pytest.approx(0.25 * 4 * float(jnp.var(M)), rel=1e-6)
    assert np.isnan(float(c[1]))


@pytest.mark.parametrize("fn", [S.binning_error, S.blocking_error, S.binder_cumulant, S.autocorrelation,
                                lambda x: S.mean_and_error(x)], ids=["binning", "blocking", "binder", "acf", "mean"])
def test_error_analysis_of_a_nan_trace_under_jit_is_nan(fn):
    out = jax.jit(fn)(TRACE.at[7].set(jnp.nan))
    assert all(bool(jnp.all(jnp.isnan(x))) for x in jax.tree.leaves(out))


def test_accuracy_and_cross_entropy_under_jit_with_out_of_range_labels():
    bad = LABELS.at[0].set(7)
    assert np.isnan(float(jax.jit(N.accuracy)(LOGITS, bad)))
    assert float(jax.jit(N.accuracy)(LOGITS, LABELS)) == pytest.approx(0.8)  # 4 of 5 argmaxes match
    ce = jax.jit(N.cross_entropy)(LOGITS, LABELS.at[2].set(-1))
    assert np.isnan(float(ce[2])) and np.isnan(float(jnp.mean(ce)))
    np.testing.assert_allclose(np.delete(np.asarray(ce), 2), np.delete(np.asarray(N.cross_entropy(LOGITS, LABELS)), 2),
                               rtol=1e-6)


def test_loss_closure_under_jit_with_nan_params_is_nan():
    f, params = N.loss_fn(MODEL, X, Y)
    bad = jax.tree.map(lambda p: p.at[(0,) * p.ndim].set(jnp.nan), params)
    assert np.isnan(float(jax.jit(f)(bad)))
    assert float(jax.jit(f)(params)) == pytest.approx(float(f(params)), rel=1e-6)
