"""Fit a scikit-learn pipeline on the public inputs and write predictions.

Run as ``python train.py`` in a folder holding the task's inputs (train_x.npy,
train_y.npy, val_x.npy, test_x.npy): ``evoforge export`` writes such a folder. Writes
val_pred.npy and test_pred.npy (one label 0/1 per row) and the fitted pipeline,
model.joblib. It never sees the validation or test labels: the task scores the
predictions.

Only the evolve block changes between candidates. A ``when`` clause makes a
parameter conditional: it is searched only while its condition holds (C only for
the linear models and the SVM, GAMMA only for the RBF kernel...), so no candidate is
spent on a setting the chosen model ignores.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

# EVOLVE-BLOCK-START
MODEL = "logreg"  # evolve: choice["logreg", "svm", "forest", "boosting"]
SCALER = "none"  # evolve: choice["none", "standard", "minmax", "robust"]
SELECT_K = 30  # evolve: int[1, 30]
BALANCED = False  # evolve: bool when MODEL in ["logreg", "svm", "forest"]
C = 1.0  # evolve: log[1e-4, 1000.0] when MODEL in ["logreg", "svm"]
KERNEL = "rbf"  # evolve: choice["linear", "rbf"] when MODEL == "svm"
GAMMA = 0.01  # evolve: log[1e-4, 10.0] when KERNEL == "rbf"
N_ESTIMATORS = 50  # evolve: int[5, 200] when MODEL in ["forest", "boosting"]
MAX_DEPTH = 3  # evolve: int[1, 12] when MODEL in ["forest", "boosting"]
LEARNING_RATE = 0.1  # evolve: log[0.01, 1.0] when MODEL == "boosting"
# EVOLVE-BLOCK-END


def build(seed: int) -> Any:
    """The pipeline the block describes; only the modules it uses are imported."""
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.pipeline import make_pipeline

    steps: list[Any] = []
    if SCALER != "none":
        from sklearn import preprocessing

        scaler = {"standard": "StandardScaler", "minmax": "MinMaxScaler", "robust": "RobustScaler"}
        steps.append(getattr(preprocessing, scaler[SCALER])())
    steps.append(SelectKBest(f_classif, k=SELECT_K))
    weight = "balanced" if BALANCED else None
    if MODEL == "logreg":
        from sklearn.linear_model import LogisticRegression

        steps.append(LogisticRegression(C=C, class_weight=weight, max_iter=2000))
    elif MODEL == "svm":
        from sklearn.svm import SVC

        steps.append(SVC(C=C, kernel=KERNEL, gamma=GAMMA, class_weight=weight, max_iter=100_000))
    elif MODEL == "forest":
        from sklearn.ensemble import RandomForestClassifier

        steps.append(
            RandomForestClassifier(
                n_estimators=N_ESTIMATORS, max_depth=MAX_DEPTH, class_weight=weight,
                random_state=seed,
            )
        )  # fmt: skip
    else:
        from sklearn.ensemble import GradientBoostingClassifier

        steps.append(
            GradientBoostingClassifier(
                n_estimators=N_ESTIMATORS, max_depth=MAX_DEPTH, learning_rate=LEARNING_RATE,
                random_state=seed,
            )
        )  # fmt: skip
    return make_pipeline(*steps)


def main() -> None:
    import joblib

    seed = int(os.environ.get("EVOFORGE_SEED", "0"))
    x = np.load("train_x.npy", allow_pickle=False)
    y = np.load("train_y.npy", allow_pickle=False)
    pipeline = build(seed).fit(x, y)
    for split in ("val", "test"):
        pred = pipeline.predict(np.load(f"{split}_x.npy", allow_pickle=False))
        np.save(f"{split}_pred.npy", pred.astype(np.int64), allow_pickle=False)
    joblib.dump(pipeline, "model.joblib")
    print(f"train_accuracy: {pipeline.score(x, y):.4f}")


if __name__ == "__main__":
    main()
