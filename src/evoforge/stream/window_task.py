"""The trusted task of a stream: train on a window of batches, predict held-back rows.

A stream program is run in the sandbox with, in its folder:

    train_x.npy    float64 (n, features)  inputs of the training window
    train_y.npy    (n,)                    their labels (int64 for accuracy, float64 for mse)
    train_age.npy  int64 (n,)              batches ago each row arrived (0: the newest)
    predict_x.npy  float64 (m, features)  rows to predict; their labels stay here

and writes ``predict_pred.npy`` (one label per row of ``predict_x.npy``). It may
also write a ``model/`` folder of data files (``.npz``, ``.safetensors``, ``.onnx``,
``.json``): ``evoforge export`` keeps it as the champion's trained model.

The rows to predict are in parts: ``newest`` (the batch being scored, or a round's
newest batches) and ``memory`` (a round's rows from older batches, the forgetting
guard). Each part's metric is ``<part>_accuracy`` (or ``<part>_mse``); per-example
scores of the newest part feed the paired test of a promotion.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evoforge.tasks import OutputError, Task, read_array

PARTS = ("newest", "memory")
PRED = "predict_pred.npy"


@dataclass(frozen=True)
class Window:
    train_x: npt.NDArray[np.float64]
    train_y: npt.NDArray[np.float64]
    train_age: npt.NDArray[np.int64]
    eval_x: npt.NDArray[np.float64]
    eval_y: npt.NDArray[np.float64]
    eval_part: npt.NDArray[np.int64]
    """Index into PARTS of each row to predict."""

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez(fh, **{k: getattr(self, k) for k in self.__dataclass_fields__})

    @staticmethod
    def load(path: Path) -> Window:
        with np.load(path, allow_pickle=False) as npz:
            return Window(**{k: npz[k] for k in Window.__dataclass_fields__})


class WindowTask(Task):
    """Scores a stream program on a :class:`Window`, given or read from ``path``."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        metric: str = "accuracy",
        window: Window | None = None,
        keep_model: Path | None = None,
        hidden: list[Path] | None = None,
    ) -> None:
        self.path = path
        self.hidden = list(hidden or [])
        """The stream's own data (its batch source and archive): never visible to a program."""
        self.metric = metric
        self._window = window
        self.keep_model = keep_model
        """When set, ``score`` copies the program's ``model/`` folder here (export)."""
        lo, hi = (0.0, 1.0) if metric == "accuracy" else (0.0, float("inf"))
        self.bounds = {f"{p}_{metric}": (lo, hi) for p in PARTS}

    @property
    def window(self) -> Window:
        if self._window is None:
            if self.path is None:
                raise RuntimeError("a WindowTask needs a window or the path of one")
            self._window = Window.load(self.path)
        return self._window

    def prepare(self, workdir: Path, *, seed: int) -> None:
        del seed
        w = self.window
        labels = w.train_y.astype(np.int64) if self.metric == "accuracy" else w.train_y
        workdir.mkdir(parents=True, exist_ok=True)
        np.save(workdir / "train_x.npy", w.train_x, allow_pickle=False)
        np.save(workdir / "train_y.npy", labels, allow_pickle=False)
        np.save(workdir / "train_age.npy", w.train_age, allow_pickle=False)
        np.save(workdir / "predict_x.npy", w.eval_x, allow_pickle=False)

    def score(self, workdir: Path) -> Mapping[str, float]:
        per_row = self._per_row(workdir)
        w = self.window
        out: dict[str, float] = {}
        for i, part in enumerate(PARTS):
            rows = per_row[w.eval_part == i]
            if rows.size:
                out[f"{part}_{self.metric}"] = float(rows.mean())
        if self.keep_model is not None:
            self._keep(workdir / "model")
        return out

    def example_scores(self, workdir: Path) -> Mapping[str, npt.NDArray[np.float64]]:
        rows = self._per_row(workdir)[self.window.eval_part == 0]
        return {f"newest_{self.metric}": rows}

    def files(self) -> list[Path]:
        return [] if self.path is None else [self.path]

    def hidden_paths(self) -> list[Path]:
        return [p for p in self.hidden if p.exists()]

    def _per_row(self, workdir: Path) -> npt.NDArray[np.float64]:
        """1/0 correctness (accuracy) or squared error (mse) of each row predicted."""
        w = self.window
        kind = "iu" if self.metric == "accuracy" else "iuf"
        pred = read_array(workdir, PRED, shape=(len(w.eval_y),), kind=kind)
        out: npt.NDArray[np.float64]
        if self.metric == "accuracy":
            out = (pred.astype(np.int64) == w.eval_y.astype(np.int64)).astype(np.float64)
        else:
            out = np.square(pred.astype(np.float64) - w.eval_y)
        return out

    def _keep(self, model: Path) -> None:
        assert self.keep_model is not None
        if not model.is_dir():
            raise OutputError(
                "the program wrote no model/ folder: export needs one (see the stream "
                "program contract: write the trained model as data files into model/)"
            )
        for f in model.rglob("*"):
            if f.is_symlink() or not (f.is_file() or f.is_dir()):
                raise OutputError(f"model/{f.relative_to(model)}: not a plain file")
            if f.is_file() and f.suffix not in (
                ".npz",
                ".npy",
                ".safetensors",
                ".onnx",
                ".json",
                ".txt",
            ):
                raise OutputError(
                    f"model/{f.relative_to(model)}: only data files may be exported "
                    "(.npz, .npy, .safetensors, .onnx, .json, .txt), never code or pickle"
                )
        shutil.rmtree(self.keep_model, ignore_errors=True)
        shutil.copytree(model, self.keep_model, symlinks=False)


ROUND_TASK = '''"""The task of this round: evoforge's stream window task, on window.npz beside it."""

from pathlib import Path

from evoforge.stream.window_task import WindowTask

task = WindowTask(
    Path(__file__).parent / "window.npz",
    metric={metric!r},
    hidden=[Path(p) for p in {hidden!r}],
)
'''
"""The task module a round's experiment folder holds."""
