"""Checkpointed runs (jaxstat.mcmc.run with checkpoint_dir): bit-identical resumes, kills, refusals."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxstat as js
from jaxstat.mcmc import _loop

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))
import _checkpoint_worker as worker  # noqa: E402

SAMPLER = js.mcmc.checkerboard(js.ising.lattice((8, 8)))
SPINS = js.ising.random_spins(jax.random.key(1), (8, 8))
KEY = jax.random.key(5)


def assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert jax.tree.structure(a) == jax.tree.structure(b)


@pytest.fixture(scope="module")
def reference():
    return js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 40, burn_in=9, thin=3)


@pytest.mark.parametrize("every", [1, 4, 7, 100])
def test_checkpointed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, reference, every):
    # every < thin, every not dividing the phases, and one segment per phase
    out = js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 40, burn_in=9, thin=3,
                      checkpoint_dir=tmp_path, checkpoint_every=every)
    assert_same(out, reference)
    # Called again, the complete checkpoint is returned as it is.
    assert_same(js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 40, burn_in=9, thin=3,
                            checkpoint_dir=tmp_path, checkpoint_every=every), reference)


def test_ctrl_c_stops_at_a_checkpoint_and_the_rerun_resumes_exactly(tmp_path, reference, monkeypatch, capsys):
    real, calls = _loop.recorded_segment, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_loop, "recorded_segment", interrupted)
    with pytest.raises(KeyboardInterrupt):
        js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 40, burn_in=9, thin=3, checkpoint_dir=tmp_path, checkpoint_every=6)
    message = capsys.readouterr().err
    # burn-in 9 in segments of 6 and 6 (= two records of 3) sweeps per record segment: 9 + 2 x 6 done
    assert "sweep 21 of 49" in message and str(tmp_path) in message
    monkeypatch.setattr(_loop, "recorded_segment", real)
    resumed = js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 40, burn_in=9, thin=3, checkpoint_dir=tmp_path,
                          checkpoint_every=6)
    assert_same(resumed, reference)


def test_streamed_statistics_resume_exactly(tmp_path):
    stream = js.stats.Streaming(n_levels=4)
    ref = js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 40, thin=2, stream=stream)
    out = js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 40, thin=2, stream=stream, checkpoint_dir=tmp_path,
                      checkpoint_every=6)
    assert_same(out, ref)


def test_parallel_tempering_run_checkpoints(tmp_path):
    pt = js.mcmc.parallel_tempering(SAMPLER, jnp.array([0.2, 0.3, 0.45]))
    ref = js.mcmc.run(KEY, pt, SPINS, None, 12)
    assert_same(js.mcmc.run(KEY, pt, SPINS, None, 12, checkpoint_dir=tmp_path, checkpoint_every=5), ref)


@pytest.mark.parametrize(
    "change",
    [
        dict(sampler=js.mcmc.checkerboard(js.ising.lattice((8, 8), J=1.5))),  # same shapes, other couplings
        dict(sampler=js.mcmc.checkerboard(js.ising.lattice((8, 8)), rule="glauber")),
        dict(n_sweeps=41),
        dict(thin=1),
        dict(beta=0.41),
        dict(key=jax.random.key(6)),
        dict(spins=-SPINS),
    ],
    ids=["couplings", "rule", "n_sweeps", "thin", "beta", "key", "spins"],
)
def test_a_checkpoint_of_another_run_is_refused(tmp_path, change):
    args = dict(key=KEY, sampler=SAMPLER, spins=SPINS, beta=0.4, n_sweeps=40, thin=2)
    js.mcmc.run(**args, checkpoint_dir=tmp_path, checkpoint_every=10)
    with pytest.raises(ValueError, match="holds checkpoints of a different run"):
        js.mcmc.run(**{**args, **change}, checkpoint_dir=tmp_path, checkpoint_every=10)


def test_another_lattice_shape_is_refused(tmp_path):
    js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 10, checkpoint_dir=tmp_path)
    other = js.mcmc.checkerboard(js.ising.lattice((8, 10)))
    with pytest.raises(ValueError, match=r"different run \(.*sampler_arrays"):
        js.mcmc.run(KEY, other, jnp.ones((8, 10)), 0.4, 10, checkpoint_dir=tmp_path)


def test_bad_checkpoint_arguments(tmp_path):
    run = lambda **kw: js.mcmc.run(KEY, SAMPLER, SPINS, 0.4, 10, **kw)  # noqa: E731
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="checkpoint_dir must be a writable directory"):
        run(checkpoint_dir=blocker / "run")
    with pytest.raises(ValueError, match="checkpoint_dir must be a path"):
        run(checkpoint_dir=3)
    with pytest.raises(ValueError, match="checkpoint_every must be an integer >= 1; got 0"):
        run(checkpoint_dir=tmp_path, checkpoint_every=0)
    with pytest.raises(ValueError, match="checkpoint_every needs checkpoint_dir"):
        run(checkpoint_every=5)
    with pytest.raises(ValueError, match="checkpoint_dir needs concrete inputs"):
        jax.vmap(lambda b: js.mcmc.run(KEY, SAMPLER, SPINS, b, 10, checkpoint_dir=tmp_path)[1])(jnp.ones(2))


def steps_saved(directory):
    return sorted(int(p.name) for p in pathlib.Path(directory).iterdir() if p.name.isdigit())


def start_worker(directory, mode):
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    return subprocess.Popen([sys.executable, str(HERE / "_checkpoint_worker.py"), str(directory), mode], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(condition, process, timeout=120.0):
    end = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"worker ended early ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
        if time.monotonic() > end:
            process.kill()
            raise AssertionError("worker made no checkpoint in time")
        time.sleep(0.005)


@pytest.fixture(scope="module")
def worker_reference():
    args, kwargs = worker.arguments()
    return js.mcmc.run(*args, **kwargs)


def test_sigkill_between_checkpoints_then_resume_is_bit_identical(tmp_path, worker_reference):
    directory = tmp_path / "run"
    process = start_worker(directory, "run")
    wait_for(lambda: directory.exists() and steps_saved(directory), process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    total = worker.BURN_IN + worker.N_SWEEPS
    saved = steps_saved(directory)
    assert saved and saved[-1] < total, f"the kill must land mid-run; saved {saved}"
    args, kwargs = worker.arguments()
    resumed = js.mcmc.run(*args, **kwargs, checkpoint_dir=directory, checkpoint_every=worker.EVERY)
    assert_same(resumed, worker_reference)


def test_a_writer_killed_half_way_leaves_no_valid_checkpoint(tmp_path, worker_reference):
    directory = tmp_path / "run"
    marker = tmp_path / "writer-hung"
    process = start_worker(directory, "hang")
    wait_for(marker.exists, process)  # the second checkpoint's files are written, its commit hangs
    process.send_signal(signal.SIGKILL)
    process.wait()
    entries = sorted(p.name for p in directory.iterdir())
    assert steps_saved(directory) == [worker.EVERY], entries  # only the first, committed checkpoint
    assert any("tmp" in name for name in entries), entries  # the half-written one is still there, as a tmp dir
    args, kwargs = worker.arguments()
    resumed = js.mcmc.run(*args, **kwargs, checkpoint_dir=directory, checkpoint_every=worker.EVERY)
    assert_same(resumed, worker_reference)


def test_a_streamed_run_gives_the_statistics_of_its_full_trace():
    # Same key, same trajectory: the streamed mean and blocking error equal the full trace's.
    sampler = js.mcmc.checkerboard(js.ising.lattice((8, 8)))
    _, acc = js.mcmc.run(KEY, sampler, SPINS, 0.4, 2048, burn_in=50, stream=True)
    _, trace = js.mcmc.run(KEY, sampler, SPINS, 0.4, 2048, burn_in=50)
    summary = js.stats.summarize(acc)
    for name in ("energy", "magnetization", "acceptance_rate"):
        mean, error = js.stats.mean_and_error(trace[name])
        np.testing.assert_allclose(summary.mean[name], mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(summary.error[name], error, rtol=1e-3)
    assert int(summary.n_samples) == 2048
