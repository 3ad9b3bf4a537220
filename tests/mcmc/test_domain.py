"""The domain-decomposed checkerboard (jaxstat.mcmc.domain): exact, device-count invariant, halo-only.

The checks run once, in one subprocess with 8 simulated CPU devices
(tests/mcmc/_domain_devices.py); the tests below assert on its JSON report.
Every comparison there is bit for bit.
"""

import json
import math
import os
import subprocess
import sys

import pytest
from helpers import once_per_session

from jaxstat.mcmc._halo import tile_counts

HERE = os.path.dirname(__file__)


def _run_checks():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, os.path.join(HERE, "_domain_devices.py")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def report(tmp_path_factory, worker_id):
    return json.loads(once_per_session(tmp_path_factory, worker_id, "domain_devices", _run_checks))


def _cases(report):
    assert report["n_devices"] == 8
    return report["identity"]


def test_spins_bit_identical_to_single_device_on_every_mesh(report):
    for name, case in _cases(report).items():
        assert case["moved"], name  # every sweep flipped spins: the comparison is not vacuous
        for mesh, row in case["meshes"].items():
            assert row["spins"], (name, mesh)


def test_meshes_cover_1_2_4_8_devices_1d_and_2d(report):
    rows = _cases(report)["uniform 2D periodic, scalar field, metropolis"]["meshes"]
    assert sorted(r["devices"] for r in rows.values()) == [1, 2, 4, 8, 8]
    assert rows["8"]["spec"] == "P('x',)" and rows["2x4"]["spec"] == "P('x', 'y')"
    assert _cases(report)["uniform 2D float64, glauber"]["dtype"] == "float64"


@pytest.mark.parametrize("name", [
    "uniform 2D periodic, scalar field, metropolis",
    "pm EA 3D open, scalar field, metropolis",
    "uniform 2D float64, glauber",
])
def test_integer_valued_traces_equal_the_single_device_trace(report, name):
    # Energies, magnetizations and flip counts are sums of integers (and halves, quarters) far
    # below 2^24: exact in any order, so the decomposed trace is the single-device trace, bit for bit.
    for mesh, row in _cases(report)[name]["meshes"].items():
        assert all(row["trace_vs_single_device"].values()), (mesh, row["trace_vs_single_device"])
        assert row["state_energy_error"] == 0.0, mesh


def test_real_valued_couplings_give_the_same_trace_bits_on_every_mesh(report):
    rows = _cases(report)["gaussian EA 2D, periodic x open, per-site field, glauber"]["meshes"]
    assert sorted(r["devices"] for r in rows.values()) == [1, 2, 4, 8]
    for mesh, row in rows.items():
        assert all(row["trace_vs_first_mesh"].values()), (mesh, row["trace_vs_first_mesh"])
        # Magnetization and acceptance are integer sums: also equal to the single-device trace.
        assert row["trace_vs_single_device"]["magnetization"] and row["trace_vs_single_device"]["acceptance_rate"]
        # The energy is summed in another order than the single-device sampler's: equal to float32
        # rounding (|E| ~ 200, 16 x 16 Gaussian bonds and fields: a few ulps of the terms).
        assert row["energy_vs_single_device"] < 1e-3
        assert row["state_energy_error"] < 1e-3


def _slab_of_block(shape, block):
    """A one-site-thick slab of the block, cut across one of its axes."""
    return len(shape) == len(block) and any(
        shape[k] == 1 and all(shape[j] == block[j] for j in range(len(block)) if j != k) for k in range(len(block))
    )


@pytest.mark.parametrize("name", ["per-bond 2D open, 2x4 mesh", "uniform 3D, 1D mesh of 8"])
def test_compiled_sweep_exchanges_only_halos(report, name):
    hlo = report["hlo"][name]
    ops = [c["op"] for c in hlo["collectives"]]
    assert not {"all-gather", "all-to-all", "reduce-scatter"} & set(ops), ops
    permutes = [c for c in hlo["collectives"] if c["op"] == "collective-permute"]
    assert permutes, "a split lattice must exchange halos"
    for c in permutes:
        assert all(_slab_of_block(s, hlo["block"]) for s in c["shapes"]), (c, hlo["block"])
    # The only reduction: the grid of tile sums (energy, field term, flips), whatever the lattice size.
    reduced = [math.prod(s) for c in hlo["collectives"] if c["op"] == "all-reduce" for s in c["shapes"]]
    assert sum(reduced) <= 3 * math.prod(hlo["tiles"]) <= hlo["n_sites"] // 8


def test_new_disorder_sample_reuses_the_compiled_run(report):
    assert report["disorder_samples_differ"]
    assert report["recompiled_for_new_disorder"] == 0


def test_lattice_sharded_builds_the_same_arrays_split_over_the_mesh(report):
    r = report["lattice_sharded"]
    assert r["spins_equal"] and r["J_equal"]
    assert r["recipe_spins_equal"] and r["recipe_devices"] == 8  # the how-to's recipe, explicit-axes mesh
    assert r["spins_spec"] == "P('x', 'y')"
    assert r["J_spec"] == r["sampler_J_spec"] == "P(None, 'x', 'y')"


def test_bad_meshes_are_refused_naming_mesh_and_lattice(report):
    e = report["errors"]
    assert "mesh axis 'x' has 3 devices" in e["mesh of 3 on a side of 16"]
    assert "lattice axis 0 of length 16" in e["mesh of 3 on a side of 16"]
    assert "mesh axis 'y' has 4 devices" in e["2D mesh whose second axis does not divide"]
    assert "lattice axis 1 of length 6" in e["2D mesh whose second axis does not divide"]
    assert "1 or 2 axes" in e["3-axis mesh"] and "(16, 16)" in e["3-axis mesh"]
    assert "at most the lattice's 1" in e["2D mesh on a 1D lattice"]
    assert "jax.sharding.Mesh" in e["not a mesh"] and "got str" in e["not a mesh"]
    assert "nearest-neighbour lattice" in e["dense model"]
    assert "has 8 devices" in e["lattice_sharded, mesh does not divide"]
    assert "length 12" in e["lattice_sharded, mesh does not divide"]
    assert "fn must be a function" in e["lattice_sharded, fn not callable"]


def test_tiling_depends_on_the_lattice_not_the_mesh():
    # gcd(L, 32) tiles per axis for every mesh that divides it; otherwise the mesh's own tiling.
    assert tile_counts((1024, 96), (1,)) == tile_counts((1024, 96), (8, 4)) == (32, 32)
    assert tile_counts((16, 16, 16), (2, 2)) == (16, 16)
    assert tile_counts((48,), (3,)) == (48,)
    assert tile_counts((8, 8, 8), (1,)) == (8, 8)


def test_checkpointed_runs_on_a_mesh_resume_bit_identically(report):
    # orbax saves and restores the sharded state; a resume from the older checkpoint repeats the run
    cases = report["checkpoint"]
    assert cases["decomposed"] and cases["decomposed_stream"], cases
    assert cases["decomposed_sharding"] in ("PartitionSpec('x', 'y')", "P('x', 'y')"), cases
    # chains sharded over 8 devices, checkpointed and resumed, equal the same chains on one device
    assert cases["chains_sharded_vs_one_device"] and cases["chains_devices"] == 8, cases
