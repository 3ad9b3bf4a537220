r"""Teacher-student learning: how well a perceptron generalizes from examples.

A *teacher* perceptron :math:`w_t \in \mathbb{R}^N` labels random inputs,
:math:`y_\mu = \operatorname{sign}(w_t \cdot x_\mu)`, and a *student* learns
from :math:`P = \alpha N` such examples. For isotropic inputs (here
Gaussian, :math:`x \sim \mathcal{N}(0, I_N)`) the probability that student
and teacher disagree on a new input depends only on the angle between them:

.. math:: \varepsilon = \frac{\arccos R}{\pi}, \qquad
          R = \frac{w \cdot w_t}{\lVert w \rVert\, \lVert w_t \rVert},

exactly, for any ``N``. :func:`teacher_student` measures it for a student
trained with Rosenblatt's rule; :func:`gibbs_generalization_error` is the
replica-theory curve of the Gibbs student (Engel & Van den Broeck,
*Statistical Mechanics of Learning*, ch. 2) for comparison.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxstat._gaussian import gaussian_average
from jaxstat._validate import check_key, check_loads, check_positive_int, float_dtype
from jaxstat.perceptron._core import n_patterns, train_impl

__all__ = ["TeacherStudentResult", "bayes_generalization_error", "gibbs_generalization_error", "teacher_student"]

def _gibbs_integral(r):
    """``Integral Dt exp(-R t^2 / 2) / H(-sqrt(R) t)`` with ``H(-x) = Phi(x)``, in log space.

    The integrand is smooth and grows at most like |t|: jaxstat's Gaussian
    quadrature (:mod:`jaxstat._gaussian`) matches adaptive quadrature to ~1e-13."""
    from scipy.special import log_ndtr

    return gaussian_average(lambda t: np.exp(-0.5 * r * t**2 - log_ndtr(math.sqrt(r) * t)))


def _gibbs_eps(alpha):
    from scipy.optimize import brentq

    if alpha == 0:
        return 0.5

    # Solved for eps, not R: R = cos(pi eps) and sqrt(1 - R) = sqrt(2) sin(pi eps / 2)
    # keep full precision where 1 - R ~ 1/alpha^2 underflows.
    def gap(eps):
        r = math.cos(math.pi * eps)
        return r / (math.sqrt(2) * math.sin(math.pi * eps / 2)) - alpha / math.pi * _gibbs_integral(max(r, 0.0))

    # gap(1/2) = -2 alpha / pi < 0 and gap(eps) -> +inf as eps -> 0.
    return brentq(gap, 1e-300, 0.5, xtol=1e-300, rtol=1e-13)


def _check_alpha(alpha):
    try:
        arr = np.asarray(alpha, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"alpha must be a number or an array of numbers; got {alpha!r:.60}") from err
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ValueError(f"alpha must be finite and >= 0; got {arr[bad].ravel()[0]!r}")
    return arr


def gibbs_generalization_error(alpha) -> np.ndarray:
    r"""Generalization error of Gibbs learning of a perceptron teacher (replica theory).

    The Gibbs student is drawn uniformly from the version space (all
    students with zero training error). In the thermodynamic limit its
    overlap with the teacher solves (Engel & Van den Broeck, ch. 2)

    .. math:: \frac{R}{\sqrt{1-R}} = \frac{\alpha}{\pi} \int Dt\,
              \frac{e^{-R t^2/2}}{H(-\sqrt{R}\, t)}, \qquad
              H(x) = \tfrac12 \operatorname{erfc}(x/\sqrt2),

    and :math:`\varepsilon = \arccos(R)/\pi`. Limits: :math:`\varepsilon(0) = 1/2`,
    :math:`\varepsilon \approx 1/2 - 2\alpha/\pi^2` for small :math:`\alpha`,
    :math:`\varepsilon \approx 0.6246/\alpha` for large :math:`\alpha`
    (the constant is :math:`\sqrt2 / \int Dt\, e^{-t^2/2}/H(-t)`). The
    integral is jaxstat's Gaussian quadrature (:mod:`jaxstat._gaussian`, in
    log space), the root is found by Brent's method in :math:`\varepsilon`;
    relative accuracy ~1e-12.
    Overlap: ``R = cos(pi * eps)``. NumPy/SciPy on the host.

    Args:
      alpha: loads ``P / N >= 0``, a number or an array.

    Returns:
      float64 array of the shape of ``alpha``.

    >>> gibbs_generalization_error([0.0, 1.0, 100.0]).round(4).tolist()
    [0.5, 0.3384, 0.0062]
    """
    return np.vectorize(_gibbs_eps, otypes=[np.float64])(_check_alpha(alpha))


def bayes_generalization_error(alpha) -> np.ndarray:
    r"""Generalization error of the Bayes-optimal student (replica theory).

    The Bayes student votes with the whole version space (its centre of
    mass); its overlap with the teacher is :math:`R_B = \sqrt{R}`, with
    :math:`R` the Gibbs overlap of :func:`gibbs_generalization_error`, and
    :math:`\varepsilon_B = \arccos(\sqrt R)/\pi`: :math:`\approx 0.4417/\alpha`
    for large :math:`\alpha`. In the thermodynamic limit no student that
    sees only the examples does better on average over teachers drawn
    isotropically, so it is a floor for :func:`teacher_student`.

    >>> bayes_generalization_error([0.0, 1.0, 100.0]).round(4).tolist()
    [0.5, 0.2544, 0.0044]
    """
    # sin(pi (1/2 - eps)) rather than cos(pi eps): exactly 0 at eps = 1/2.
    r = np.sin(np.pi * (0.5 - gibbs_generalization_error(alpha)))
    return np.arccos(np.sqrt(np.clip(r, 0.0, 1.0))) / np.pi


class TeacherStudentResult(NamedTuple):
    """What :func:`teacher_student` returns (NumPy arrays).

    Attributes:
      n: the dimension ``N``.
      alpha: the loads, shape ``(n_alpha,)``.
      p: examples per trial, ``round(alpha N)`` (half up), shape ``(n_alpha,)``.
      overlap: the normalized student-teacher overlap ``R``, shape ``(n_alpha, n_trials)``.
      eps: the generalization error ``arccos(R) / pi``, same shape.
      converged: the student reached zero training error, same shape.
      n_epochs: epochs the student trained, same shape.
      gibbs: :func:`gibbs_generalization_error` at ``alpha``, shape ``(n_alpha,)``.
      bayes: :func:`bayes_generalization_error` at ``alpha``, shape ``(n_alpha,)``.
    """

    n: int
    alpha: np.ndarray
    p: np.ndarray
    overlap: np.ndarray
    eps: np.ndarray
    converged: np.ndarray
    n_epochs: np.ndarray
    gibbs: np.ndarray
    bayes: np.ndarray

    @property
    def eps_mean(self) -> np.ndarray:
        """Mean generalization error over trials, shape ``(n_alpha,)``."""
        return self.eps.mean(axis=-1)

    @property
    def eps_stderr(self) -> np.ndarray:
        """Standard error of :attr:`eps_mean` from the spread over trials (0 for one trial)."""
        t = self.eps.shape[-1]
        return self.eps.std(axis=-1, ddof=1) / math.sqrt(t) if t > 1 else np.zeros(self.eps.shape[0])


@functools.partial(jax.jit, static_argnames=("n", "n_trials", "p_max", "max_epochs"))
def _teacher_student_jit(key, p, *, n, n_trials, p_max, max_epochs):
    dtype = float_dtype()
    batch = p.shape + (n_trials,)
    k_t, k_x = jax.random.split(key)
    # Flat draws, reshaped: XLA:CPU compiles multi-axis threefry draws of
    # some shapes far more slowly (see capacity._flat_rademacher).
    teacher = jax.random.normal(k_t, (math.prod(batch) * n,), dtype).reshape(batch + (n,))
    x = jax.random.normal(k_x, (math.prod(batch) * p_max * n,), dtype).reshape(batch + (p_max, n))
    rows = jnp.broadcast_to(jnp.arange(p_max) < p[:, None, None], batch + (p_max,))
    x = x * rows[..., None]  # padded examples are zero and masked (see capacity._sweep_jit)
    y = jnp.where(jnp.einsum("...pn,...n->...p", x, teacher) > 0, 1, -1).astype(dtype)

    def student(x, y, mask, w_t):
        result = train_impl(x, y, mask, jnp.ones((), dtype), jax.random.key(0), max_epochs,
                             pocket=False, shuffle=False, bias=False)
        norm = jnp.linalg.norm(result.w) * jnp.linalg.norm(w_t)
        # A student that never updated (P = 0) has w = 0 and labels everything -1:
        # it errs on exactly half the inputs, which is R = 0.
        r = jnp.where(norm > 0, (result.w @ w_t) / jnp.where(norm > 0, norm, 1), 0)
        r = jnp.clip(r, -1, 1)
        return r, result.converged, result.n_epochs

    flat = lambda a, k: a.reshape((-1,) + a.shape[a.ndim - k:])
    r, converged, n_epochs = jax.vmap(student)(flat(x, 2), flat(y, 1), flat(rows, 1), flat(teacher, 1))
    return r.reshape(batch), converged.reshape(batch), n_epochs.reshape(batch)


def teacher_student(key, n, alphas, n_trials, max_epochs=1000) -> TeacherStudentResult:
    """Generalization error of a perceptron student of a random perceptron teacher.

    For each load ``alpha`` and trial: a teacher ``w_t ~ N(0, I_N)``,
    ``P = round(alpha N)`` inputs ``x_mu ~ N(0, I_N)`` labelled
    ``y_mu = sign(w_t . x_mu)``, and a student without bias trained from
    ``w = 0`` by Rosenblatt's rule (:func:`~jaxstat.perceptron.train` with
    ``bias=False``) until it makes no training error. The data are separable
    by construction (the teacher separates them), so the student converges,
    but the number of epochs grows with ``alpha`` (the smallest teacher margin
    shrinks like ``1/P``); runs are capped at ``max_epochs`` and
    ``converged`` reports which finished. The generalization error is
    ``eps = arccos(R) / pi`` with ``R`` the normalized overlap, exact for
    Gaussian (isotropic) inputs; that is why the inputs are Gaussian, not ±1.
    All loads and trials run in one jitted, vmapped call (examples padded to
    ``P_max`` and masked, as in
    :func:`~jaxstat.perceptron.separability_sweep`).

    The perceptron student is *not* a Gibbs student: it stops at one point
    of the version space, fixed by the order of the examples and the start
    ``w = 0``, rather than a uniform draw from it. Starting from zero it
    lands nearer the centre of the version space than a typical point, and
    generalizes *better* than Gibbs: measured (N = 20, 50, 100; 100-200
    trials; ``alpha`` = 0.25 to 8) ``eps`` is 0.78-0.86 times
    :attr:`~TeacherStudentResult.gibbs`, above the Bayes-optimal floor
    :attr:`~TeacherStudentResult.bayes`, and independent of ``N`` within
    the errors (e.g. ``eps = 0.279 ± 0.002`` at ``alpha = 1``, Gibbs
    0.338, Bayes 0.254). At small ``alpha`` it is close to Hebb's rule
    (0.389 against Hebb's 0.379 at ``alpha = 0.25``).

    Args:
      key: a PRNG key.
      n: the input dimension ``N``, an integer >= 1.
      alphas: loads ``alpha = P / N >= 0``, a number or a 1-D sequence.
      n_trials: independent teachers and data sets per load.
      max_epochs: the most epochs a student trains.

    Returns:
      A :class:`TeacherStudentResult` with ``overlap``, ``eps``,
      ``converged`` and ``n_epochs`` per load and trial, ``eps_mean`` and
      ``eps_stderr``, and the replica curves ``gibbs`` and ``bayes``.

    >>> import jax
    >>> r = teacher_student(jax.random.key(0), 20, [0.0, 5.0], 8)
    >>> float(r.eps_mean[0]), bool(r.eps_mean[1] < 0.25), bool(r.converged.all())
    (0.5, True, True)
    """
    key = check_key(key)
    n = check_positive_int(n, "n")
    alphas = check_loads(alphas, allow_zero=True)
    n_trials = check_positive_int(n_trials, "n_trials")
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    p = n_patterns(alphas, np.array([n]))[0]
    r, converged, n_epochs = _teacher_student_jit(
        key, jnp.asarray(p, jnp.int32), n=n, n_trials=n_trials, p_max=max(int(p.max()), 1), max_epochs=max_epochs
    )
    r = np.asarray(r, dtype=np.float64)
    eps = np.arccos(r) / np.pi
    return TeacherStudentResult(
        n, alphas, p, r, eps, np.asarray(converged), np.asarray(n_epochs),
        gibbs_generalization_error(alphas), bayes_generalization_error(alphas),
    )
