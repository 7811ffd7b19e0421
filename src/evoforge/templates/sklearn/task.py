"""The breast-cancer task: classify tumours as malignant or benign, scored on hidden labels.

Data: scikit-learn's bundled Wisconsin breast-cancer set (569 rows, 30 real
features, classes 0 = malignant (212 rows) and 1 = benign (357 rows)), split once
with a fixed seed of its own, stratified by class, into

    train       341 rows  inputs and labels given to the candidate
    validation  114 rows  inputs only (42 malignant, 72 benign); the search metric
    test        114 rows  inputs only (42 malignant, 72 benign); held-out, never shown

The split does not depend on the run's seed, so every candidate of every run is
scored on the same rows.

``prepare`` writes, as ``.npy`` (no pickle), into the candidate's scratch folder:

    train_x.npy  float64 (341, 30)  raw features, nothing standardised
    train_y.npy  int64   (341,)     labels 0/1
    val_x.npy    float64 (114, 30)
    test_x.npy   float64 (114, 30)

The candidate writes ``val_pred.npy`` and ``test_pred.npy``: one integer label 0/1
per row. ``score`` returns ``val_accuracy`` (the objective) and ``test_accuracy``
(held-out in evoforge.toml). ``example_scores`` gives the validation rows' 0/1
correctness. The labelled file inside scikit-learn is hidden from the sandbox.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evoforge.tasks import OutputError, Task, read_array

SPLIT_SEED = 20261203
"""Fixed for ever: changing it changes every score of this experiment."""
HELD_PER_CLASS = {0: 42, 1: 72}
"""Rows of each class in the validation set, and again in the test set."""
N_CLASSES = 2
DATA_FILE = "breast_cancer.csv"


def data_file() -> Path:
    """Where scikit-learn keeps the labelled set, found without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed; this task needs it")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / DATA_FILE


def load_arrays() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Features and labels as ``sklearn.datasets.load_breast_cancer`` returns them.

    The file's first line is a header (rows, columns, class names); every other
    line holds the features and the label last. Read directly: the scoring
    process then does not pay for importing scikit-learn.
    """
    table = np.loadtxt(data_file(), delimiter=",", skiprows=1)
    return table[:, :-1].astype(np.float64), table[:, -1].astype(np.int64)


def split_indices(
    labels: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Train, validation and test rows (numpy's frozen legacy stream: never changes)."""
    rng = np.random.RandomState(SPLIT_SEED)
    parts: tuple[list[npt.NDArray[np.intp]], ...] = ([], [], [])
    for c in range(N_CLASSES):
        rows = rng.permutation(np.flatnonzero(labels == c))
        n = HELD_PER_CLASS[c]
        parts[2].append(rows[:n])
        parts[1].append(rows[n : 2 * n])
        parts[0].append(rows[2 * n :])
    train, val, test = (rng.permutation(np.concatenate(p)) for p in parts)
    return train, val, test


class BreastCancerTask(Task):
    """Binary classification; the metrics are plain accuracies in [0, 1]."""

    bounds: Mapping[str, tuple[float, float]] = {
        "val_accuracy": (0.0, 1.0),
        "test_accuracy": (0.0, 1.0),
    }

    def __init__(self) -> None:
        self._data: dict[str, np.ndarray] | None = None

    def data(self) -> dict[str, np.ndarray]:
        if self._data is None:
            x, y = load_arrays()
            train, val, test = split_indices(y)
            self._data = {
                "train_x": x[train], "train_y": y[train],
                "val_x": x[val], "val_y": y[val],
                "test_x": x[test], "test_y": y[test],
            }  # fmt: skip
        return self._data

    def prepare(self, workdir: Path, *, seed: int) -> None:
        """Write the public inputs; ``seed`` is unused because the split is fixed."""
        del seed
        d = self.data()
        workdir.mkdir(parents=True, exist_ok=True)
        for name in ("train_x", "train_y", "val_x", "test_x"):
            np.save(workdir / f"{name}.npy", d[name], allow_pickle=False)

    def score(self, workdir: Path) -> Mapping[str, float]:
        d = self.data()
        return {
            "val_accuracy": float(np.mean(_correct(workdir, "val_pred.npy", d["val_y"]))),
            "test_accuracy": float(np.mean(_correct(workdir, "test_pred.npy", d["test_y"]))),
        }

    def example_scores(self, workdir: Path) -> Mapping[str, npt.NDArray[np.float32]]:
        return {"val_accuracy": _correct(workdir, "val_pred.npy", self.data()["val_y"])}

    def hidden_paths(self) -> list[Path]:
        return [data_file()]

    def files(self) -> list[Path]:
        return [data_file()]


def _correct(workdir: Path, name: str, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """1.0 where the candidate's label in ``name`` is right, else 0.0."""
    pred = read_array(workdir, name, shape=(len(labels),), kind="iu")
    if pred.min() < 0 or pred.max() >= N_CLASSES:
        raise OutputError(f"{name}: labels must be in 0..{N_CLASSES - 1}")
    correct: npt.NDArray[np.float32] = (pred.astype(np.int64) == labels).astype(np.float32)
    return correct


task = BreastCancerTask()
