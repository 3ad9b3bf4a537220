"""Tests of jaxstat.stats.streaming against full traces and float64 references.

Records are fed one by one through ``lax.scan(spec.update)``; every
statistic is then compared with the same statistic of the full trace:
NumPy in float64 (the exact answer for the float32 data) and the library's
own full-trace ``blocking_levels`` / ``blocking_error``. The stream and the
full trace see the same blocks, so they agree to rounding: the tolerances
are float32 rounding (a few 1e-7, stated as 1e-5 relative), not statistics.
The data are AR(1) series from a fixed seed.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxstat import stats
from jaxstat.stats import streaming

N = 2**14
RTOL = 1e-5  # float32 rounding of block means and moments, with a wide margin


def _ar1(rng, phis, n):
    """Stationary AR(1) series with unit variance, one column per phi."""
    phis = np.asarray(phis, np.float64)
    x = np.empty((n, phis.size))
    x[0] = rng.standard_normal(phis.size)
    u = rng.standard_normal((n, phis.size)) * np.sqrt(1 - phis**2)
    for t in range(1, n):
        x[t] = phis * x[t - 1] + u[t]
    return x


def _ref_levels(x, min_blocks=32):
    """Float64 blocking curve along axis 0 (the same blocks as blocking_levels)."""
    x, out = np.asarray(x, np.float64), []
    while x.shape[0] >= min_blocks:
        out.append(x.std(axis=0, ddof=1) / math.sqrt(x.shape[0]))
        half = x.shape[0] // 2
        x = x[: 2 * half].reshape((half, 2) + x.shape[1:]).mean(axis=1)
    return np.stack(out)


def _ref_plateau(se, n):
    """blocking_error's plateau rule, in float64 NumPy, for one column of levels."""
    ok = 3 * math.log(2) * np.arange(len(se)) > math.log(2 * n) + 4 * np.log(se / se[0])
    return int(np.argmax(ok)) if ok.any() else len(se) - 1


@functools.partial(jax.jit, static_argnums=0)
def _stream(spec, records):
    """Feed records (leading axis: time) one by one into a new accumulator."""
    return _stream_from(spec, spec.init(jax.tree.map(lambda r: r[0], records)), records)


@functools.partial(jax.jit, static_argnums=0)
def _stream_from(spec, acc, records):
    return jax.lax.scan(lambda a, r: (spec.update(a, r), None), acc, records)[0]


_update = jax.jit(lambda spec, acc, record: spec.update(acc, record), static_argnums=0)


@pytest.fixture(scope="module")
def ar():
    """A dict record with a scalar, a (3,) vector and an integer leaf, and its stream."""
    rng = np.random.default_rng(11)
    x = _ar1(rng, [0.9, 0.0, 0.5, 0.8], N)
    records = {
        "energy": (3.0 + x[:, 0]).astype(np.float32),
        "magnetization": x[:, 1:].astype(np.float32),
        "accepted": rng.integers(0, 5, N).astype(np.int32),
    }
    spec = stats.Streaming(histograms={"magnetization": (-2.0, 2.0, 16)})
    acc = _stream(spec, {k: jnp.asarray(v) for k, v in records.items()})
    return records, acc, stats.summarize(acc)


def test_stream_matches_full_trace(ar):
    records, acc, s = ar
    np.testing.assert_array_equal(s.n_blocks[:15], [N >> k for k in range(15)])
    assert float(s.n_samples) == N
    for key, x in records.items():
        x64 = x.astype(np.float64).reshape(N, -1)
        mean = np.asarray(s.mean[key]).reshape(-1)
        assert s.mean[key].dtype == jnp.float32 and s.mean[key].shape == x.shape[1:]
        np.testing.assert_allclose(mean, x64.mean(0), rtol=0, atol=1e-6 * np.abs(x64).max())
        np.testing.assert_allclose(np.asarray(s.variance[key]).reshape(-1), x64.var(0, ddof=1), rtol=RTOL)
        ref = _ref_levels(x64)  # (levels, elements)
        m = ref.shape[0]
        got = np.asarray(s.level_errors[key]).reshape(acc.count_lo.shape[0], -1)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got[:m], ref, rtol=RTOL)
        assert np.isnan(got[m:]).all()  # levels with fewer than min_blocks blocks
        _, full = stats.blocking_levels(jnp.asarray(x, jnp.float32))
        np.testing.assert_allclose(got[:m], np.asarray(full).reshape(m, -1), rtol=RTOL)
        # the chosen level and error are blocking_error's
        levels = [_ref_plateau(ref[:, i], N) for i in range(ref.shape[1])]
        np.testing.assert_array_equal(np.asarray(s.level[key]).reshape(-1), levels)
        err = np.asarray(s.error[key]).reshape(-1)
        np.testing.assert_allclose(err, ref[levels, range(ref.shape[1])], rtol=RTOL)
        full_err = stats.blocking_error(jnp.asarray(x, jnp.float32))
        np.testing.assert_allclose(err, np.asarray(full_err).reshape(-1), rtol=RTOL)
        np.testing.assert_allclose(np.asarray(s.tau_int[key]).reshape(-1), 0.5 * (err / ref[0]) ** 2, rtol=3 * RTOL)
    # the correlated series has a plateau above level 0 and tau_int near (1 + phi) / (2 (1 - phi)) = 9.5
    assert int(s.level["energy"]) > 0 and 5 < float(s.tau_int["energy"]) < 15


def test_rule_max_matches_full_trace(ar):
    records, acc, _ = ar
    s = stats.summarize(acc, min_blocks=64, rule="max")
    x = jnp.asarray(records["magnetization"])
    np.testing.assert_allclose(s.error["magnetization"], stats.blocking_error(x, 64, rule="max"), rtol=RTOL)
    _, full = stats.blocking_levels(x, 64)
    np.testing.assert_allclose(s.level_errors["magnetization"][: full.shape[0]], full, rtol=RTOL)


def test_histogram_counts_match_numpy(ar):
    records, _, s = ar
    h = s.histograms["magnetization"]
    edges = np.asarray(h.edges)
    np.testing.assert_array_equal(edges, np.linspace(-2.0, 2.0, 17).astype(np.float32))
    assert h.counts.shape == (3, 16) and h.underflow.shape == (3,)
    x = records["magnetization"]
    for i in range(3):
        np.testing.assert_array_equal(h.counts[i], np.histogram(x[:, i], bins=edges)[0])
        assert h.underflow[i] == np.sum(x[:, i] < -2) and h.overflow[i] == np.sum(x[:, i] > 2)
        assert h.underflow[i] + h.overflow[i] > 0  # the check is not vacuous
    assert np.all(np.asarray(h.nan) == 0)


def test_histogram_edges_nan_and_inf():
    # 7 bins: no edge at 0, whose float32 neighbours are denormals (flushed to zero by XLA)
    spec = stats.Streaming(n_levels=2, histograms={"m": (-1.0, 1.0, 7)})
    edges = np.linspace(-1.0, 1.0, 8).astype(np.float32)
    # the float32 neighbours of each edge: a bin estimate from the width alone misplaces some
    below, above = np.nextafter(edges, np.float32(-2)), np.nextafter(edges, np.float32(2))
    x = np.concatenate([edges, below, above, np.float32([-1.5, 1.5, np.nan, np.inf, -np.inf, np.nan, 0.3])])
    h = stats.summarize(_stream(spec, {"m": jnp.asarray(x)})).histograms["m"]
    finite = x[np.isfinite(x)]
    np.testing.assert_array_equal(h.counts, np.histogram(finite, bins=edges)[0])  # hi falls in the last bin
    assert (int(h.underflow), int(h.overflow), int(h.nan)) == (3, 3, 2)
    assert int(h.counts.sum() + h.underflow + h.overflow + h.nan) == x.size


def test_vmap_over_chains():
    xs = _ar1(np.random.default_rng(5), [0.0, 0.6, 0.95], 2**12).T.astype(np.float32)  # (chains, n)
    spec = stats.Streaming(n_levels=12)
    accs = jax.vmap(lambda x: _stream(spec, x))(jnp.asarray(xs))
    assert accs.count_lo.shape == (3, 12)
    s = jax.vmap(stats.summarize)(accs)
    for c in range(3):
        _, full = stats.blocking_levels(jnp.asarray(xs[c]))
        np.testing.assert_allclose(s.level_errors[c, : full.shape[0]], full, rtol=RTOL)
        np.testing.assert_allclose(s.error[c], stats.blocking_error(jnp.asarray(xs[c])), rtol=RTOL)
        np.testing.assert_allclose(s.mean[c], xs[c].astype(np.float64).mean(), atol=1e-6)
    with pytest.raises(ValueError, match="vmap"):
        stats.summarize(accs)


def test_welford_with_a_large_mean_in_float32():
    # mean 1e4, std 1: a float32 sum of squares loses everything, the stream keeps 7 digits.
    x = (1e4 + np.random.default_rng(2).standard_normal(100_000)).astype(np.float32)
    s = stats.summarize(_stream(stats.Streaming(n_levels=16), jnp.asarray(x)))
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(float(s.variance), x64.var(ddof=1), rtol=1e-6)
    ref = _ref_levels(x64)
    np.testing.assert_allclose(s.level_errors[: ref.shape[0]], ref, rtol=RTOL)
    assert abs(float(s.mean) - x64.mean()) <= 5e-4  # half a float32 ulp at 1e4
    s1, s2 = np.cumsum(x, dtype=np.float32)[-1], np.cumsum(x * x, dtype=np.float32)[-1]
    naive = (s2 - s1 * s1 / x.size) / (x.size - 1)
    assert abs(naive / x64.var(ddof=1) - 1) > 0.5  # what the test guards against


def _fabricated(spec, n, mean, var):
    """An accumulator that has seen n records (n a power of two) of the given mean and variance:
    every level complete, the state a run of 2^30 records would reach (too long to run)."""
    acc = spec.init(jnp.zeros(()))
    L = spec.n_levels
    counts = np.array([n >> k for k in range(L)], np.uint64)
    lev = acc.levels["float32"]
    level_mean = jnp.full(lev.mean.shape, mean, jnp.float32)
    m2 = jnp.asarray(counts * var, jnp.float32)[None, :]
    lev = lev._replace(mean=level_mean, m2=m2)
    return acc._replace(count_lo=jnp.asarray(counts & 0xFFFFFFFF, jnp.uint32),
                        count_hi=jnp.asarray(counts >> 32, jnp.uint32), levels={"float32": lev})


def test_moments_keep_moving_past_float32_resolution():
    # After 2^30 records, 1/n and the per-record M2 increments are far below a float32 ulp
    # of the moments: a plain float32 Welford update no longer changes them at all.
    n0, spec = 2**30, stats.Streaming(n_levels=32)
    acc = _fabricated(spec, n0, 0.5, 1.0)
    x = np.tile(np.float32([3.5, -1.5]), 2048)  # batch mean 1, M2 = 4096 * 6.25
    s = stats.summarize(_stream_from(spec, acc, x))
    n = n0 + x.size
    mean = 0.5 + (1.0 - 0.5) * x.size / n
    m2 = n0 * 1.0 + x.size * 6.25 + 0.25 * n0 * x.size / n  # Chan et al., exact in float64
    assert float(s.n_samples) == n
    np.testing.assert_allclose(float(s.mean), mean, rtol=0, atol=1e-7)  # the shift is 1.9e-6
    np.testing.assert_allclose(float(s.variance), m2 / (n - 1), rtol=1e-6)  # the change is 2.5e-5
    # the plain update, in float32, is stuck: that is what this test detects
    m, M2 = np.float32(0.5), np.float32(n0)
    for i, v in enumerate(x, n0 + 1):
        d = v - m
        m = np.float32(m + d / np.float32(i))
        M2 = np.float32(M2 + d * (v - m))
    assert m == np.float32(0.5) and M2 == np.float32(n0)


def test_counts_are_64_bit():
    spec = stats.Streaming(n_levels=34)
    acc = spec.init(jnp.zeros(()))
    n0 = 2**32 - 2
    acc = acc._replace(count_lo=jnp.asarray([n0 >> k for k in range(34)], jnp.uint32))

    def counts(acc):
        return [int(hi) * 2**32 + int(lo) for lo, hi in zip(acc.count_lo, acc.count_hi)]

    acc = _stream_from(spec, acc, jnp.ones(2, jnp.float32))  # record 2^32 completes level 32
    assert counts(acc) == [2**32 >> k for k in range(34)]
    acc = _update(spec, acc, jnp.float32(1.0))
    assert counts(acc) == [(2**32 + 1) >> k for k in range(34)]
    assert float(stats.summarize(acc).n_samples) == float(np.float32(2**32 + 1))


def test_merge_pools_chains():
    x = _ar1(np.random.default_rng(9), [0.7, 0.7], 4096).astype(np.float32)
    a, b = x[:, 0], x[:3001, 1]
    spec = stats.Streaming(n_levels=12, histograms={"m": (-1.0, 1.0, 4)})
    acc_a, acc_b = _stream(spec, {"m": jnp.asarray(a)}), _stream(spec, {"m": jnp.asarray(b)})
    merged = stats.merge(acc_a, acc_b)
    s = stats.summarize(merged)
    both = np.concatenate([a, b]).astype(np.float64)
    assert float(s.n_samples) == both.size
    np.testing.assert_allclose(float(s.mean["m"]), both.mean(), atol=1e-6)
    np.testing.assert_allclose(float(s.variance["m"]), both.var(ddof=1), rtol=RTOL)
    # level k pools the blocks of both chains (never a block across them)
    for k in range(7):
        blocks = [c.astype(np.float64)[: (c.size >> k) << k].reshape(-1, 2**k).mean(1) for c in (a, b)]
        pooled = np.concatenate(blocks)
        np.testing.assert_allclose(s.level_errors["m"][k], pooled.std(ddof=1) / math.sqrt(pooled.size), rtol=RTOL)
    h = s.histograms["m"]
    np.testing.assert_array_equal(h.counts, np.histogram(both, bins=np.asarray(h.edges))[0])
    assert int(h.underflow) == np.sum(both < -1) and int(h.overflow) == np.sum(both > 1)
    # an empty stream changes nothing
    empty = spec.init({"m": jnp.zeros(())})
    for pooled in (stats.merge(empty, acc_a), stats.merge(acc_a, empty)):
        for got, want in zip(jax.tree.leaves(stats.summarize(pooled)), jax.tree.leaves(stats.summarize(acc_a))):
            np.testing.assert_array_equal(got, want)
    # feeding a merged accumulator poisons the levels whose blocks it completes (7098 = 2 * 3549)
    s = stats.summarize(_update(spec, merged, {"m": jnp.float32(0.0)}))
    assert np.isfinite(s.level_errors["m"][0]) and np.isnan(s.level_errors["m"][1])


def test_dtypes_preserved_under_x64():
    with jax.enable_x64(True):
        rng = np.random.default_rng(3)
        x = _ar1(rng, [0.5], 2048)[:, 0]
        records = {"a": jnp.asarray(x), "b": jnp.asarray(x, jnp.float32), "c": jnp.arange(2048, dtype=jnp.int32)}
        acc = _stream(stats.Streaming(n_levels=8), records)
        assert sorted(acc.levels) == ["float32", "float64"]
        s = stats.summarize(acc)
        assert s.mean["a"].dtype == jnp.float64 and s.error["a"].dtype == jnp.float64
        assert s.mean["b"].dtype == jnp.float32 and s.level_errors["b"].dtype == jnp.float32
        assert s.mean["c"].dtype == jnp.float64  # integers are averaged in the default float
        ref = _ref_levels(x)
        np.testing.assert_allclose(s.level_errors["a"][: ref.shape[0]], ref, rtol=1e-12)
        np.testing.assert_allclose(float(s.mean["a"]), x.mean(), rtol=0, atol=1e-14)
        assert float(s.mean["c"]) == 1023.5


def test_short_stream_has_no_error_bar():
    acc = _stream(stats.Streaming(n_levels=4), jnp.arange(10.0))
    s = stats.summarize(acc)  # 10 records < min_blocks = 32: no level qualifies
    assert float(s.mean) == 4.5 and int(s.level) == -1
    assert np.isnan(float(s.error)) and np.isnan(float(s.tau_int))
    s = stats.summarize(acc, min_blocks=2)
    np.testing.assert_allclose(s.level_errors[0], np.std(np.arange(10.0), ddof=1) / math.sqrt(10), rtol=1e-6)


def test_spec_is_static_and_init_reads_shapes_only():
    a = stats.Streaming(histograms={"m": (-1, 1, 4)})
    b = stats.Streaming(32, (("m", (-1.0, 1.0, 4)),))
    assert a == b and hash(a) == hash(b) and stats.Streaming() != a
    record = {"m": jnp.zeros(3), "e": jnp.zeros((), jnp.int32)}
    from_shapes = a.init(jax.eval_shape(lambda: record))
    for got, want in zip(jax.tree.leaves(from_shapes), jax.tree.leaves(a.init(record))):
        assert got.shape == want.shape and got.dtype == want.dtype
    f = jax.jit(lambda spec, acc, r: spec.update(acc, r), static_argnums=0)
    acc = f(a, from_shapes, record)
    f(b, acc, record)
    assert f._cache_size() == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_levels=0), "n_levels must be an integer >= 1; got 0"),
        (dict(n_levels=True), r"n_levels must be an integer in \[1, 64\]; got True"),
        (dict(n_levels=65), "64-bit counts"),
        (dict(n_levels=2.5), "n_levels must be an integer"),
        (dict(histograms={"m": (1.0, 1.0, 4)}), r"histograms\['m'\] needs finite lo < hi; got lo=1.0, hi=1.0"),
        (dict(histograms={"m": (0.0, np.inf, 4)}), "needs finite lo < hi"),
        (dict(histograms={"m": (0.0, 1.0, 0)}), r"histograms\['m'\] n_bins must be an integer >= 1; got 0"),
        (dict(histograms={"m": (0.0, 1.0)}), r"must be a tuple \(lo, hi, n_bins\)"),
        (dict(histograms={1: (0.0, 1.0, 2)}), "keys must be strings"),
    ],
)
def test_bad_spec(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stats.Streaming(**kwargs)


def test_bad_records_and_accumulators():
    spec = stats.Streaming(n_levels=4, histograms={"magnetisation": (-1.0, 1.0, 4)})
    record = {"energy": jnp.zeros(()), "magnetization": jnp.zeros(())}
    with pytest.raises(ValueError, match=r"'magnetisation', which is not in the record; its keys: \['energy', 'magn"):
        spec.init(record)
    with pytest.raises(ValueError, match="not in the record; its keys: a ArrayImpl, not a dict"):
        spec.init(jnp.zeros(()))
    spec = stats.Streaming(n_levels=4)
    acc = spec.init(record)
    with pytest.raises(ValueError, match="record must have the structure of the record given to init"):
        spec.update(acc, {"energy": jnp.zeros(())})
    with pytest.raises(ValueError, match=r"must keep the shapes given to init, \(\); got \(2,\)"):
        jax.jit(spec.update)(acc, {"energy": jnp.zeros(()), "magnetization": jnp.zeros(2)})
    with pytest.raises(ValueError, match="must be real; got complex"):
        spec.init(jnp.zeros((), jnp.complex64))
    with pytest.raises(ValueError, match="min_blocks must be an integer >= 2; got 1"):
        stats.summarize(acc, min_blocks=1)
    with pytest.raises(ValueError, match="rule must be 'plateau' or 'max'; got 'median'"):
        stats.summarize(acc, rule="median")
    with pytest.raises(ValueError, match="acc must be an accumulator from Streaming.init/update; got dict"):
        stats.summarize({"energy": 1.0})
    with pytest.raises(ValueError, match="same Streaming spec"):
        stats.merge(acc, stats.Streaming(n_levels=5).init(record))
    assert streaming.Accumulator is type(acc)
