"""Fit a scikit-learn pipeline on the public wine inputs and write predictions.

Run as ``python program.py`` in the folder holding the task's inputs (train_x.npy,
train_y.npy, val_x.npy, test_x.npy). Writes val_pred.npy and test_pred.npy: one
label 0..2 per row. It never sees the validation or test labels; the task scores
the predictions. Only the evolve block changes between candidates: it declares
the pipeline's settings (scaler, optional PCA, then one of four classifiers), and
the frame below builds and fits the pipeline.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

# EVOLVE-BLOCK-START
MODEL = "knn"  # evolve: choice["knn", "svm", "tree", "logreg"]
SCALER = "none"  # evolve: choice["none", "standard", "minmax"]
USE_PCA = True  # evolve: bool
PCA_COMPONENTS = 1  # evolve: int[1, 13]
N_NEIGHBORS = 30  # evolve: int[1, 40]
WEIGHTS = "uniform"  # evolve: choice["uniform", "distance"]
C = 0.001  # evolve: log[1e-3, 1000.0]
GAMMA = 1.0  # evolve: log[1e-4, 10.0]
MAX_DEPTH = 1  # evolve: int[1, 10]
CRITERION = "gini"  # evolve: choice["gini", "entropy"]
# EVOLVE-BLOCK-END


def build(seed: int) -> Any:
    """The pipeline the block describes; only the modules it uses are imported (startup time)."""
    from sklearn.pipeline import make_pipeline

    steps: list[Any] = []
    if SCALER != "none":
        from sklearn import preprocessing

        scaler = {"standard": "StandardScaler", "minmax": "MinMaxScaler"}
        steps.append(getattr(preprocessing, scaler[SCALER])())
    if USE_PCA:
        from sklearn.decomposition import PCA

        steps.append(PCA(n_components=PCA_COMPONENTS, random_state=seed))
    if MODEL == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        steps.append(KNeighborsClassifier(n_neighbors=N_NEIGHBORS, weights=WEIGHTS))
    elif MODEL == "svm":
        from sklearn.svm import SVC

        steps.append(SVC(C=C, gamma=GAMMA, max_iter=100_000))
    elif MODEL == "tree":
        from sklearn.tree import DecisionTreeClassifier

        steps.append(
            DecisionTreeClassifier(max_depth=MAX_DEPTH, criterion=CRITERION, random_state=seed)
        )
    else:
        from sklearn.linear_model import LogisticRegression

        steps.append(LogisticRegression(C=C, max_iter=1000))
    return make_pipeline(*steps)


def main() -> None:
    seed = int(os.environ.get("EVOFORGE_SEED", "0"))
    x = np.load("train_x.npy", allow_pickle=False)
    y = np.load("train_y.npy", allow_pickle=False)
    pipeline = build(seed).fit(x, y)
    for split in ("val", "test"):
        pred = pipeline.predict(np.load(f"{split}_x.npy", allow_pickle=False))
        np.save(f"{split}_pred.npy", pred.astype(np.int64), allow_pickle=False)
    print(f"train_accuracy: {pipeline.score(x, y):.4f}")


if __name__ == "__main__":
    main()
