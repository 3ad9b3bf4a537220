"""Loss-landscape geometry for any ``loss(params) -> scalar`` over a pytree.

Curvature (:mod:`~jaxstat.landscape.curvature`, :mod:`~jaxstat.landscape.trace`,
:mod:`~jaxstat.landscape.density`, :mod:`~jaxstat.landscape.flatness`):
Hessian-vector products, Lanczos eigenpairs, trace estimates, spectral
densities and sharpness. Geometry (:mod:`~jaxstat.landscape.directions`,
:mod:`~jaxstat.landscape.slices`): random, filter-normalised and PCA
directions, 1D lines and 2D planes, interpolation and mode connectivity.

``jaxstat.landscape.sharpness`` is a function; it and ``epsilon_sharpness``
live in the module :mod:`~jaxstat.landscape.flatness`, so no public name
shadows its own module.
"""

from jaxstat.landscape import curvature as _curvature
from jaxstat.landscape import density as _density
from jaxstat.landscape import directions as _directions
from jaxstat.landscape import flatness as _flatness
from jaxstat.landscape import slices as _slices
from jaxstat.landscape import trace as _trace
from jaxstat.landscape.curvature import HessianEigs, hessian, hessian_eigs, hvp, lanczos_tridiag
from jaxstat.landscape.density import SpectralDensity, slq_nodes_weights, spectral_density
from jaxstat.landscape.directions import *  # noqa: F403  (names listed in directions.__all__)
from jaxstat.landscape.flatness import EpsilonSharpness, Sharpness, epsilon_sharpness, sharpness
from jaxstat.landscape.slices import *  # noqa: F403  (names listed in slices.__all__)
from jaxstat.landscape.trace import ProjectionCurvature, TraceEstimate, hessian_trace, random_projection_curvature

__all__ = [
    *_curvature.__all__,
    *_trace.__all__,
    *_density.__all__,
    *_flatness.__all__,
    *_directions.__all__,
    *_slices.__all__,
]
