"""The README's quickstart runs as printed and says what it claims."""

import pathlib
import re

import numpy as np

from helpers import within_t

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"

# Above T = 2.8 the 32x32 lattice is disordered and <|m|> is set by finite
# size alone: m = M/N is near-Gaussian with <m^2> = chi T / N, chi the
# susceptibility per spin, chi T = sum_r <s_0 s_r>. Its critical form
# chi T ~ 0.96 (1 - T_c/T)^(-7/4) (Wu, McCoy, Tracy, Barouch; the high-
# temperature series agrees) gives chi T ~ 18 at T = 2.8, so
# <|m|> = sqrt(2/pi) sqrt(chi T / N) ~ 0.10 for N = 1024, smaller at higher
# T (0.06-0.10 observed); a chain's time average over hundreds of sweeps
# scatters far less than one sample. A bound of 0.35, three times that, passes
# a correct sampler and fails any ordered (|m| > 0.9) or half-ordered state.
DISORDERED_ABS_M_BOUND = 0.35


def test_readme_quickstart_runs(capsys):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python block"
    code = blocks[0]
    assert len(code.strip().splitlines()) <= 15
    # A shorter run keeps the test quick; the code path is the README's own.
    # The tolerances below come from the spread of the README's 4 chains per
    # temperature, so they widen by themselves for the shorter run; the
    # remaining bias, 200 sweeps of burn-in from the ordered start, is far
    # below that spread away from T_c (relaxation takes tens of sweeps there).
    code = code.replace("n_sweeps=2000, burn_in=500", "n_sweeps=300, burn_in=200")
    assert "n_sweeps=300, burn_in=200" in code, "README sweep counts changed; update this test"
    # 32 chains instead of the README's 4: a t-test with 3 dof needs 32.7 standard
    # errors at the 4-sigma-equivalent level, with 31 dof 4.6 (vmapped chains of a
    # 32 x 32 lattice cost little beside the compilation).
    code = code.replace("jax.random.key(0), 4)", "jax.random.key(0), 32)")
    assert "jax.random.key(0), 32)" in code, "README chain count changed; update this test"
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)
    js = namespace["js"]
    T = np.asarray(namespace["temperatures"], np.float64)
    abs_m = np.asarray(namespace["abs_m"], np.float64)   # (temperatures, chains)
    energy = np.asarray(namespace["energy"], np.float64)
    assert abs_m.shape == energy.shape == (16, 32)
    n_chains = abs_m.shape[1]
    stderr = lambda x: x.std(ddof=1) / np.sqrt(n_chains)
    # Away from T_c (correlation length of a few spacings) finite-size effects
    # at L = 32 are exponentially small, so Onsager's infinite-lattice values
    # are the reference. Chain means are independent: a t-test with 31 dof
    # (t quantile 4.6 at the 4-sigma-equivalent level, false-failure probability
    # 6.3e-5 per temperature; see helpers.within_t).
    away = (T < 2.0) | (T > 2.8)
    exact_e = np.asarray(js.exact.onsager_energy(T), np.float64)
    for i in np.flatnonzero(away):
        assert within_t(energy[i].mean(), exact_e[i], stderr(energy[i]), n_chains - 1), (
            T[i], energy[i].mean(), exact_e[i], stderr(energy[i]))
    # Below T = 2.0: Onsager's spontaneous magnetization (the ordered start
    # keeps each chain in one phase, so <|m|> is m_0(T) up to exp-small terms).
    for i in np.flatnonzero(T < 2.0):
        m0 = float(js.exact.onsager_magnetization(T[i]))
        assert within_t(abs_m[i].mean(), m0, stderr(abs_m[i]), n_chains - 1), (
            T[i], abs_m[i].mean(), m0, stderr(abs_m[i]))
    # Above T = 2.8: no order, only the finite-size |m| bounded above.
    assert np.all(abs_m[T > 2.8].mean(1) < DISORDERED_ABS_M_BOUND), abs_m[T > 2.8].mean(1)
