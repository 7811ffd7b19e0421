"""A small stream experiment for the stream tests: a nearest-centroid program (numpy
only, a fraction of a second per run) and batches of a linear concept that changes
where a test says."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from evoforge.candidate import Candidate
from evoforge.proposers._base import Feedback, Parent, Proposal, Proposer

PROGRAM = '''"""Nearest centroid on the window (the rows younger than RECENT batches, 0: all)."""
import os

import numpy as np

# EVOLVE-BLOCK-START
RECENT = 0  # evolve: int[0, 6]
# EVOLVE-BLOCK-END

x, y, age = np.load("train_x.npy"), np.load("train_y.npy"), np.load("train_age.npy")
if RECENT:
    x, y = x[age < RECENT], y[age < RECENT]
classes = np.unique(y)
cent = np.stack([x[y == c].mean(axis=0) for c in classes])
px = np.load("predict_x.npy")
d = ((px[:, None, :] - cent[None]) ** 2).sum(-1)
np.save("predict_pred.npy", classes[d.argmin(1)].astype(np.int64))
os.makedirs("model", exist_ok=True)
np.savez("model/centroids.npz", centroids=cent, classes=classes)
'''

OLD = np.array([1.0, 0.5, 0.0])
NEW = np.array([-1.0, 0.0, 1.0])


def config(extra: str = "", *, stream: str = "", detect: str = "") -> str:
    """The test stream's config; ``stream`` lines (``key = value``) replace or add keys."""
    keys = {"window": "6", "newest": "1", "memory": "2", "settle_seconds": "0"}
    for line in stream.splitlines():
        if line.strip():
            k, v = (p.strip() for p in line.split("=", 1))
            keys[k] = v
    body = "\n".join(f"{k} = {v}" for k, v in keys.items())
    return f"""[experiment]
name = "s"

[program]
files = ["train.py"]
command = ["{{python}}", "train.py"]

[stream]
{body}

[stream.detect]
{detect}

[budget]
candidates = 6

[run]
workers = 2

[promotion]
reruns = 0
{extra}
"""


def write_batch(folder: Path, i: int, w: np.ndarray, *, rows: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng([seed, i])
    x = rng.normal(size=(rows, 3))
    y = (x @ w > 0).astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"b{i:03d}.npz"
    np.savez(path, x=x, y=y)
    return path


def make_stream(
    root: Path, concepts: Sequence[np.ndarray], *, toml: str | None = None, seed: int = 0
) -> Path:
    """An experiment with one batch per concept in ``concepts`` (files older than any
    settle time)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.py").write_text(PROGRAM)
    (root / "evoforge.toml").write_text(toml or config())
    old = time.time() - 60
    for i, w in enumerate(concepts, start=1):
        p = write_batch(root / "batches", i, w, seed=seed)
        os.utime(p, (old, old))
    return root


class SetRecent(Proposer):
    """Proposes RECENT = value, then nothing new (duplicates of it)."""

    name = "set-recent"

    def __init__(self, value: int) -> None:
        self.value = value

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        files: Mapping[str, str] = parents[0].files
        text = files["train.py"].replace("RECENT = 0 ", f"RECENT = {self.value} ")
        return Proposal({**files, "train.py": text}, "set")

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        return None
