"""Hand-designed baselines on the same tasks as evolved algorithms.

Each baseline is trained on a task's training examples and scored on its
validation examples, exactly the split an evolved algorithm gets (it sees each
training example once per epoch, online; the baselines fit in batch, to
convergence, so they are strong references), with the interpreter's fitness:
accuracy on classification suites, ``1 - (2/pi) * arctan(RMSE)`` on regression.

- classification (digits): ``logistic_regression`` (scikit-learn's, L2) and
  ``neural_network`` (one hidden layer of 16 ReLU units, Adam, up to 2000
  iterations);
- regression (linear, nonlinear): ``linear_regression`` (least squares) and
  ``neural_network`` (the same network, as a regressor).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evoforge.domains.automl.tasks import TaskSuite

BASELINES = ("logistic_regression", "neural_network")
REGRESSION_BASELINES = ("linear_regression", "neural_network")


def baseline_names(suite: TaskSuite) -> tuple[str, ...]:
    """The baselines that apply to ``suite``'s kind of task."""
    return BASELINES if suite.spec.classify else REGRESSION_BASELINES


def _model(name: str, seed: int, *, classify: bool) -> Any:
    # Imported here: scikit-learn is slow to import and search workers never need it.
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if name == "logistic_regression":
        return LogisticRegression(max_iter=1000)
    if name == "linear_regression":
        return LinearRegression()
    network = MLPClassifier if classify else MLPRegressor
    return network(hidden_layer_sizes=(16,), max_iter=2000, random_state=seed)


def _fitness(pred: NDArray[np.float64], labels: NDArray[np.float64], *, classify: bool) -> float:
    if classify:
        return float(np.mean(pred == labels))
    rmse = float(np.sqrt(np.mean((labels - pred) ** 2)))
    return 1.0 - 2.0 / np.pi * float(np.arctan(rmse))


def baseline_scores(suite: TaskSuite, name: str) -> list[float]:
    """Validation fitness of baseline ``name`` on each task of ``suite``."""
    if name not in baseline_names(suite):
        kind = "classification" if suite.spec.classify else "regression"
        raise ValueError(f"{kind} baselines are {baseline_names(suite)}, not {name!r}")
    from sklearn.exceptions import ConvergenceWarning

    classify = suite.spec.classify
    scores = []
    for t in range(suite.n_tasks):
        model = _model(name, int(suite.seeds[t]), classify=classify)
        labels = suite.train_y[t].astype(int) if classify else suite.train_y[t]
        with warnings.catch_warnings():
            # A tiny MLP on a few hundred examples may stop before its tolerance; fine here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(suite.train_x[t], labels)
        valid = suite.valid_y[t].astype(int) if classify else suite.valid_y[t]
        scores.append(_fitness(model.predict(suite.valid_x[t]), valid, classify=classify))
    return scores


def baseline_accuracy(suite: TaskSuite, name: str) -> list[float]:
    """Validation accuracy of baseline ``name`` on each task of a classification suite."""
    if not suite.spec.classify:
        raise ValueError("accuracy needs a classification suite (digits)")
    return baseline_scores(suite, name)


def baselines(suite: TaskSuite) -> dict[str, float]:
    """Mean validation fitness of every baseline that applies to ``suite``."""
    return {name: float(np.mean(baseline_scores(suite, name))) for name in baseline_names(suite)}
