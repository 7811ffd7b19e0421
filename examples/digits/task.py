"""The digits task: classify 8x8 handwritten digits, scored on labels the candidate never sees.

Data: scikit-learn's bundled digits set (1797 images of 8x8 pixels, values 0..16,
ten classes), split once with a fixed seed, stratified by class, into

    train       1077 images  inputs and labels given to the candidate
    validation   360 images  inputs only (36 per class); the search metric
    test         360 images  inputs only (36 per class); held-out, never shown to a proposer

The split does not depend on the run's seed, so every candidate of every run is
scored on the same images and their scores are comparable.

``prepare`` writes, as ``.npy`` (no pickle), into the candidate's scratch folder:

    train_x.npy  float32 (1077, 64)  raw pixel values 0..16, row-major 8x8
    train_y.npy  int64   (1077,)     labels 0..9
    val_x.npy    float32 (360, 64)
    test_x.npy   float32 (360, 64)

Nothing is standardised: preprocessing is the candidate's job. The candidate
writes ``val_pred.npy`` and ``test_pred.npy``: integer labels 0..9, one per row
of the matching inputs. ``score`` returns ``val_accuracy`` and ``test_accuracy``;
the experiment config marks ``test_accuracy`` as held-out (the test split: only
reported, never used for a decision). ``example_scores`` gives the validation
images' 0/1 correctness, so a promotion must beat the champion by more than a few
validation images changing their answer can explain.

The labelled data file inside scikit-learn is listed by ``hidden_paths`` so the
sandbox hides it: otherwise a candidate could load the full labelled set itself.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evoforge.tasks import OutputError, Task, read_array

SPLIT_SEED = 20240611
"""Fixed for ever: changing it changes every score of this experiment."""
PER_CLASS = 36
"""Images of each class in the validation set, and again in the test set."""
N_CLASSES = 10


@dataclass(frozen=True)
class Split:
    train_x: npt.NDArray[np.float32]
    train_y: npt.NDArray[np.int64]
    val_x: npt.NDArray[np.float32]
    val_y: npt.NDArray[np.int64]
    test_x: npt.NDArray[np.float32]
    test_y: npt.NDArray[np.int64]


def digits_data_file() -> Path:
    """Where scikit-learn keeps the labelled digits set, found without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed; the digits task needs it")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "datasets" / "data" / "digits.csv.gz"


def split_indices(
    labels: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Train, validation and test row indices: PER_CLASS of each class in val and test.

    Done here rather than with a library splitter so the split can never change
    with a library version: numpy's legacy RandomState stream is frozen. Each part
    is shuffled, so the order of the rows says nothing about their labels.
    """
    rng = np.random.RandomState(SPLIT_SEED)
    train: list[npt.NDArray[np.intp]] = []
    val: list[npt.NDArray[np.intp]] = []
    test: list[npt.NDArray[np.intp]] = []
    for c in range(N_CLASSES):
        rows = rng.permutation(np.flatnonzero(labels == c))
        test.append(rows[:PER_CLASS])
        val.append(rows[PER_CLASS : 2 * PER_CLASS])
        train.append(rows[2 * PER_CLASS :])
    return (
        rng.permutation(np.concatenate(train)),
        rng.permutation(np.concatenate(val)),
        rng.permutation(np.concatenate(test)),
    )


def load_digits_arrays() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Images (1797, 64) and labels, as ``sklearn.datasets.load_digits`` returns them."""
    # Read the file load_digits reads (65 comma-separated columns, the label last)
    # without importing scikit-learn: a fresh scoring process then starts in a
    # fraction of a second instead of over one.
    with gzip.open(digits_data_file(), "rt") as fh:
        table = np.loadtxt(fh, delimiter=",")
    return table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64)


def load_split() -> Split:
    """The fixed train / validation / test split of scikit-learn's digits."""
    x, y = load_digits_arrays()
    train, val, test = split_indices(y)
    return Split(x[train], y[train], x[val], y[val], x[test], y[test])


class DigitsTask(Task):
    """Digit classification; the metrics are plain accuracies in [0, 1]."""

    bounds: Mapping[str, tuple[float, float]] = {
        "val_accuracy": (0.0, 1.0),
        "test_accuracy": (0.0, 1.0),
    }

    def __init__(self) -> None:
        self._split: Split | None = None  # loaded on first use: construction stays cheap

    def split(self) -> Split:
        if self._split is None:
            self._split = load_split()
        return self._split

    def prepare(self, workdir: Path, *, seed: int) -> None:
        """Write the public inputs; ``seed`` is unused because the split is fixed."""
        del seed
        s = self.split()
        workdir.mkdir(parents=True, exist_ok=True)
        np.save(workdir / "train_x.npy", s.train_x, allow_pickle=False)
        np.save(workdir / "train_y.npy", s.train_y, allow_pickle=False)
        np.save(workdir / "val_x.npy", s.val_x, allow_pickle=False)
        np.save(workdir / "test_x.npy", s.test_x, allow_pickle=False)

    def score(self, workdir: Path) -> Mapping[str, float]:
        s = self.split()
        return {
            "val_accuracy": _accuracy(workdir, "val_pred.npy", s.val_y),
            "test_accuracy": _accuracy(workdir, "test_pred.npy", s.test_y),
        }

    def example_scores(self, workdir: Path) -> Mapping[str, npt.NDArray[np.float32]]:
        """1.0 for each validation image predicted right, else 0.0 (mean: val_accuracy)."""
        return {"val_accuracy": _correct(workdir, "val_pred.npy", self.split().val_y)}

    def hidden_paths(self) -> list[Path]:
        return [digits_data_file()]

    def files(self) -> list[Path]:
        # The data file is hashed too: a changed copy would silently change every score.
        return [digits_data_file()]


def _accuracy(workdir: Path, name: str, labels: npt.NDArray[np.int64]) -> float:
    return float(np.mean(_correct(workdir, name, labels)))


def _correct(workdir: Path, name: str, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """1.0 where the candidate's label in ``name`` is right, else 0.0."""
    pred = read_array(workdir, name, shape=(len(labels),), kind="iu")
    if pred.min() < 0 or pred.max() >= N_CLASSES:
        bad = pred[(pred < 0) | (pred >= N_CLASSES)]
        raise OutputError(
            f"{name}: labels must be in 0..{N_CLASSES - 1}; found {bad.size} outside, e.g. {bad[0]}"
        )
    return (pred.astype(np.int64) == labels).astype(np.float32)


task = DigitsTask()
