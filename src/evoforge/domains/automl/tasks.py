"""Task suites: many small learning problems an algorithm must solve from scratch.

Three kinds, all generated deterministically from a :class:`TaskSpec`:

- ``linear``: features ~ N(0, 1), labels = w . x with w ~ N(0, 1) per task and no
  noise (the paper's ``scalar_linear_regression_task``; 4 features in its demo).
- ``nonlinear``: labels from a small random teacher network,
  ``u . relu(W x)`` with W (d x d) and u ~ N(0, 1) (the paper's 2-layer teacher).
- ``digits``: binary classification between two classes of scikit-learn's digits
  (8x8 images, 1797 examples), pixels / 16 randomly projected to ``n_features``
  dimensions and standardised with training statistics; labels 0/1. The 45 class
  pairs are split once, by a fixed shuffle, into 36 ``search`` pairs and 9
  ``unseen`` pairs, so held-out tasks can use classes pairs never searched on.

Every task also carries the seed its algorithm's random operations start from.
A suite saves to ``.npz`` (no pickle) so an emitted module can replay it alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

KINDS = ("linear", "nonlinear", "digits")
_KIND_CODE = {"linear": 1, "nonlinear": 2, "digits": 3}
_PAIR_SHUFFLE_SEED = 20200303  # fixed forever: the search/unseen split of class pairs
_N_SEARCH_PAIRS = 36


@dataclass(frozen=True)
class TaskSpec:
    """What tasks to generate; equal specs give identical suites."""

    kind: str = "linear"
    n_tasks: int = 10
    n_features: int = 4
    n_train: int = 100
    n_valid: int = 100
    epochs: int = 1
    seed: int = 0
    pairs: str = "search"  # digits only: "search", "unseen" or "all"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task kind must be one of {KINDS}, not {self.kind!r}")
        if min(self.n_tasks, self.n_features, self.n_train, self.n_valid, self.epochs) < 1:
            raise ValueError("task counts and sizes must be >= 1")
        if self.pairs not in ("search", "unseen", "all"):
            raise ValueError("pairs must be 'search', 'unseen' or 'all'")

    @property
    def classify(self) -> bool:
        return self.kind == "digits"


@dataclass(frozen=True, eq=False)
class TaskSuite:
    """Arrays of a suite: train (T, N, d) / (T, N), valid (T, M, d) / (T, M), seeds (T,)."""

    spec: TaskSpec
    train_x: NDArray[np.float64]
    train_y: NDArray[np.float64]
    valid_x: NDArray[np.float64]
    valid_y: NDArray[np.float64]
    seeds: NDArray[np.int64]
    names: tuple[str, ...]

    @property
    def n_tasks(self) -> int:
        return int(self.train_x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.train_x.shape[2])

    def save(self, path: Path) -> None:
        """Write the suite as ``.npz`` readable with ``allow_pickle=False``."""
        np.savez(
            path,
            train_x=self.train_x,
            train_y=self.train_y,
            valid_x=self.valid_x,
            valid_y=self.valid_y,
            seeds=self.seeds,
            classify=np.array(self.spec.classify),
            epochs=np.array(self.spec.epochs),
            spec=np.array(json.dumps(asdict(self.spec))),
            names=np.array(self.names),
        )

    def save_inputs(self, path: Path) -> None:
        """Like :meth:`save` without the validation labels: what a candidate may see."""
        np.savez(
            path,
            train_x=self.train_x,
            train_y=self.train_y,
            valid_x=self.valid_x,
            seeds=self.seeds,
            classify=np.array(self.spec.classify),
            epochs=np.array(self.spec.epochs),
        )

    @classmethod
    def load(cls, path: Path) -> TaskSuite:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                spec=TaskSpec(**json.loads(str(z["spec"]))),
                train_x=z["train_x"],
                train_y=z["train_y"],
                valid_x=z["valid_x"],
                valid_y=z["valid_y"],
                seeds=z["seeds"],
                names=tuple(str(n) for n in z["names"]),
            )


def _task_rng(spec: TaskSpec, index: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, index, _KIND_CODE[spec.kind]])


def _regression(spec: TaskSpec, index: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = _task_rng(spec, index)
    d, n = spec.n_features, spec.n_train + spec.n_valid
    x = rng.standard_normal((n, d))
    if spec.kind == "linear":
        y = x @ rng.standard_normal(d)
    else:
        w, u = rng.standard_normal((d, d)), rng.standard_normal(d)
        y = np.maximum(x @ w.T, 0.0) @ u
    return x, y


def digit_pairs(which: str) -> list[tuple[int, int]]:
    """The class pairs of the ``search`` or ``unseen`` split (or ``all``)."""
    pairs = list(combinations(range(10), 2))
    order = np.random.default_rng(_PAIR_SHUFFLE_SEED).permutation(len(pairs))
    shuffled = [pairs[i] for i in order]
    if which == "search":
        return shuffled[:_N_SEARCH_PAIRS]
    if which == "unseen":
        return shuffled[_N_SEARCH_PAIRS:]
    return shuffled


def _digits(
    spec: TaskSpec, index: int, images: NDArray[np.float64], labels: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    rng = _task_rng(spec, index)
    pairs = digit_pairs(spec.pairs)
    a, b = pairs[(index + spec.seed) % len(pairs)]
    rows = np.flatnonzero((labels == a) | (labels == b))
    n = spec.n_train + spec.n_valid
    if n > rows.size:
        raise ValueError(f"digits pair {a}-{b} has {rows.size} examples, {n} requested")
    rows = rng.choice(rows, size=n, replace=False)
    projection = rng.standard_normal((images.shape[1], spec.n_features)) / np.sqrt(images.shape[1])
    x = (images[rows] / 16.0) @ projection
    train = x[: spec.n_train]
    x = (x - train.mean(axis=0)) / (train.std(axis=0) + 1e-8)
    y = (labels[rows] == b).astype(np.float64)
    return x, y, f"digits {a}-{b} #{index}"


def make_tasks(spec: TaskSpec) -> TaskSuite:
    """Generate the suite ``spec`` describes."""
    xs, ys, names = [], [], []
    if spec.kind == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, labels = bunch.data.astype(np.float64), bunch.target.astype(np.int64)
        for i in range(spec.n_tasks):
            x, y, name = _digits(spec, i, images, labels)
            xs.append(x)
            ys.append(y)
            names.append(name)
    else:
        for i in range(spec.n_tasks):
            x, y = _regression(spec, i)
            xs.append(x)
            ys.append(y)
            names.append(f"{spec.kind} #{i}")
    x_all, y_all = np.stack(xs), np.stack(ys)
    n = spec.n_train
    seeds = np.random.default_rng([spec.seed, 7, _KIND_CODE[spec.kind]]).integers(
        0, 2**31 - 1, size=spec.n_tasks
    )
    return TaskSuite(
        spec=spec,
        train_x=np.ascontiguousarray(x_all[:, :n]),
        train_y=np.ascontiguousarray(y_all[:, :n]),
        valid_x=np.ascontiguousarray(x_all[:, n:]),
        valid_y=np.ascontiguousarray(y_all[:, n:]),
        seeds=seeds.astype(np.int64),
        names=tuple(names),
    )
