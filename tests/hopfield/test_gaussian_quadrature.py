"""jaxstat._gaussian, the one Gaussian-average quadrature of the replica theories
(Hopfield AGS, perceptron Gibbs/Bayes), against closed forms and adaptive quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate, special

from jaxstat._gaussian import gaussian_average, nodes_and_weights


def test_moments_and_closed_forms():
    assert gaussian_average(lambda z: np.ones_like(z)) == pytest.approx(1.0, abs=1e-12)
    assert abs(gaussian_average(lambda z: z)) < 1e-12
    for k, double_factorial in ((2, 1), (4, 3), (6, 15), (8, 105)):
        assert gaussian_average(lambda z, k=k: z**k) == pytest.approx(double_factorial, rel=1e-11)
    # E cos(a z) = exp(-a^2 / 2); E exp(a z) = exp(a^2 / 2); E |z| = sqrt(2 / pi)
    for a in (0.5, 1.0, 3.0):
        assert gaussian_average(lambda z, a=a: np.cos(a * z)) == pytest.approx(math.exp(-a * a / 2), abs=1e-12)
        assert gaussian_average(lambda z, a=a: np.exp(a * z)) == pytest.approx(math.exp(a * a / 2), rel=1e-11)
    assert gaussian_average(np.abs) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-5)   # kink at 0: h^2
    # E Phi(a z + b) = Phi(b / sqrt(1 + a^2))
    assert gaussian_average(lambda z: special.ndtr(2 * z + 0.3)) == pytest.approx(special.ndtr(0.3 / math.sqrt(5)),
                                                                                 abs=1e-13)


def tanh_reference(a, b):
    """E tanh(a z + b) by adaptive quadrature, split at the step z = -b/a."""
    f = lambda z: math.tanh(a * z + b) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    c = -b / a
    pieces = [(-np.inf, c - 1), (c - 1, c), (c, c + 1), (c + 1, np.inf)]
    return sum(integrate.quad(f, lo, hi, epsabs=1e-15, epsrel=1e-13, limit=1000)[0] for lo, hi in pieces)


@pytest.mark.parametrize("a, b", [(1.0, 0.3), (5.0, 1.0), (30.0, 3.0), (100.0, 3.0)])
def test_tanh_averages_of_the_ags_equations_even_when_sharp(a, b):
    """tanh(beta (m + sqrt(alpha r) z)) is step-like at low temperature; the documented
    accuracy (< 1e-13 for a <= 100) holds."""
    assert abs(gaussian_average(lambda z: np.tanh(a * z + b)) - tanh_reference(a, b)) < 1e-12


def test_several_averages_share_the_nodes_and_bad_input():
    out = gaussian_average(lambda z: np.stack([z**2, np.tanh(z) ** 2, np.ones_like(z)]))
    assert out.shape == (3,) and out[0] == pytest.approx(1.0) and out[2] == pytest.approx(1.0)
    z, w = nodes_and_weights()
    assert z.shape == w.shape == (4001,) and z[2000] == 0.0 and not z.flags.writeable
    with pytest.raises(ValueError, match="n_points"):
        gaussian_average(np.cos, n_points=1)
    with pytest.raises(ValueError, match="half_width"):
        gaussian_average(np.cos, half_width=-1.0)
    with pytest.raises(ValueError, match="last axis"):
        gaussian_average(lambda z: z[:10])
