"""Hand-designed baselines on the same classification tasks as evolved algorithms.

Each baseline is trained on a task's training examples and scored by accuracy
on its validation examples, exactly the split an evolved algorithm gets (it sees
each training example once per epoch, online; the baselines fit in batch, to
convergence, so they are strong references):

- ``logistic_regression``: scikit-learn's L2-regularised logistic regression;
- ``neural_network``: a small multilayer perceptron (one hidden layer of 16
  ReLU units, Adam, up to 2000 iterations).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from evoforge.domains.automl.tasks import TaskSuite

BASELINES = ("logistic_regression", "neural_network")


def _model(name: str, seed: int) -> Any:
    # Imported here: scikit-learn is slow to import and search workers never need it.
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if name == "logistic_regression":
        return LogisticRegression(max_iter=1000)
    return MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=seed)


def baseline_accuracy(suite: TaskSuite, name: str) -> list[float]:
    """Validation accuracy of baseline ``name`` on each task of a classification suite."""
    if not suite.spec.classify:
        raise ValueError("baselines compare classification suites (digits)")
    if name not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}")
    from sklearn.exceptions import ConvergenceWarning

    scores = []
    for t in range(suite.n_tasks):
        model = _model(name, int(suite.seeds[t]))
        with warnings.catch_warnings():
            # A tiny MLP on ~240 examples may stop before its tolerance; that is fine here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(suite.train_x[t], suite.train_y[t].astype(int))
        predicted = model.predict(suite.valid_x[t])
        scores.append(float(np.mean(predicted == suite.valid_y[t].astype(int))))
    return scores


def baselines(suite: TaskSuite) -> dict[str, float]:
    """Mean validation accuracy of every baseline on ``suite``."""
    return {name: float(np.mean(baseline_accuracy(suite, name))) for name in BASELINES}
