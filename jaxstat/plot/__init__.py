"""Matplotlib figures. The only part of jaxstat that imports matplotlib.

Every function takes plain arrays (NumPy or JAX) or the library's result
NamedTuples, checks them at the boundary (a ValueError names the argument,
what was expected and what came, before matplotlib sees anything), draws on
a new figure (or on ``ax`` when given) and returns the figure, so notebooks
and the tour use the same code. ``import jaxstat`` does not import it;
``jaxstat.plot`` (or ``import jaxstat.plot``) does, and matplotlib itself
is imported on the first figure.

The figures are grouped by idea:

- :mod:`~jaxstat.plot.spins`: Ising thermodynamics and snapshots, critical
  slowing down, the SK spin glass;
- :mod:`~jaxstat.plot.hopfield`: recall, capacity, the retrieval diagram;
- :mod:`~jaxstat.plot.learning`: the perceptron, weight images, RBM
  likelihoods, image grids;
- :mod:`~jaxstat.plot.landscape`: loss-landscape slices and Hessian spectra.
"""

from jaxstat.plot._common import pyplot, save
from jaxstat.plot.hopfield import (
    capacity_comparison,
    hopfield_capacity,
    hopfield_diagram,
    hopfield_recall,
)
from jaxstat.plot.landscape import (
    eigenvalue_bars,
    landscape_contour,
    landscape_line,
    landscape_surface,
    spectral_density_plot,
)
from jaxstat.plot.learning import (
    fruit_boundary,
    generalization_curve,
    image_grid,
    rbm_likelihood,
    separability_curve,
    weight_images,
)
from jaxstat.plot.spins import (
    critical_slowing_down,
    ising_thermodynamics,
    spin_glass_tempering,
    spin_snapshots,
)


__all__ = [
    "pyplot",
    "save",
    # spins
    "ising_thermodynamics",
    "spin_snapshots",
    "critical_slowing_down",
    "spin_glass_tempering",
    # hopfield
    "hopfield_recall",
    "hopfield_capacity",
    "hopfield_diagram",
    "capacity_comparison",
    # learning
    "fruit_boundary",
    "separability_curve",
    "generalization_curve",
    "weight_images",
    "rbm_likelihood",
    "image_grid",
    # landscape
    "landscape_line",
    "landscape_contour",
    "landscape_surface",
    "spectral_density_plot",
    "eigenvalue_bars",
]
