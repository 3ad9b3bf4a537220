r"""The perceptron: learning rule, capacity, generalization and multiclass.

A perceptron with weights ``w`` (shape ``(N,)``) and bias ``b`` labels an
input ``x`` by the side of the hyperplane ``w . x + b = 0`` it lies on,
:math:`\hat y(x) = \operatorname{sign}(w \cdot x + b) \in \{-1, +1\}` with
``sign(0) = -1``; labels are ``±1`` as spins elsewhere in jaxstat. A sample
is misclassified when ``y (w . x + b) <= 0``, so zero training errors
certify *strict* linear separability.

- :mod:`~jaxstat.perceptron.rule`: :func:`train` (Rosenblatt's rule, the
  pocket variant, with or without a bias; jitted and vmappable),
  :func:`predict`, :func:`training_errors`.
- :mod:`~jaxstat.perceptron.capacity`: :func:`linearly_separable` (exact, by
  a linear program), :func:`cover_probability` (Cover's counting formula),
  :func:`separability_sweep` (the probability of separability over loads,
  trials and sizes in one compiled call, decided exactly).
- :mod:`~jaxstat.perceptron.teacher`: :func:`teacher_student` (generalization
  error of a perceptron student), :func:`gibbs_generalization_error` and
  :func:`bayes_generalization_error` (the replica curves of Gibbs and
  Bayes-optimal learning).
- :mod:`~jaxstat.perceptron.multiclass`: :func:`train_multiclass` and
  :func:`predict_multiclass`, one perceptron per class.
"""

from jaxstat.perceptron.capacity import (
    SeparabilityResult,
    cover_probability,
    linearly_separable,
    separability_sweep,
)
from jaxstat.perceptron.multiclass import (
    MulticlassResult,
    predict_multiclass,
    train_multiclass,
)
from jaxstat.perceptron.rule import TrainResult, predict, train, training_errors
from jaxstat.perceptron.teacher import (
    TeacherStudentResult,
    bayes_generalization_error,
    gibbs_generalization_error,
    teacher_student,
)

__all__ = [
    "MulticlassResult",
    "SeparabilityResult",
    "TeacherStudentResult",
    "TrainResult",
    "bayes_generalization_error",
    "cover_probability",
    "gibbs_generalization_error",
    "linearly_separable",
    "predict",
    "predict_multiclass",
    "separability_sweep",
    "teacher_student",
    "train",
    "train_multiclass",
    "training_errors",
]
