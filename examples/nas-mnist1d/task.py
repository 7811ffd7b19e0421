"""The MNIST-1D task: classify 40-sample sequences, scored on labels the candidate never sees.

Data: MNIST-1D (Greydanus & Kobak, 2020), made offline by the ``mnist1d`` package's
procedural generator (``make_dataset``; never its download path) with the paper's
settings except the seed (``DATA_SEED``, so that a candidate cannot regenerate the
public default set and read its labels; the package is also hidden from the sandbox
and its import refused by the constraint gate). 5,000 sequences, ten classes:

    train       3000  inputs and labels given to the candidate (the first 4,000, less validation)
    validation  1000  inputs only; the search metric
    test        1000  the generator's test split, inputs only; held-out, never shown to a proposer

``prepare`` writes ``train_x.npy`` (float32, (3000, 40)), ``train_y.npy`` (int64),
``val_x.npy`` and ``test_x.npy``. The candidate writes ``val_pred.npy`` and
``test_pred.npy`` (labels 0..9) and ``model.safetensors`` (its trained weights, as
data). ``score`` returns ``val_accuracy``, ``test_accuracy`` (held-out) and
``params``: the trainable parameters counted by this trusted code from the weights
file (BatchNorm's running statistics are not parameters), never a figure the
candidate reports.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evoforge.tasks import OutputError, Task, read_array

DATA_SEED = 1917
"""Fixed for ever: changing it changes every score of this experiment."""
SPLIT_SEED = 20261204
N_VAL = 1000
N_CLASSES = 10
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def mnist1d_folder() -> Path:
    spec = importlib.util.find_spec("mnist1d")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mnist1d package is not installed: pip install mnist1d")
    return Path(next(iter(spec.submodule_search_locations)))


def make_split() -> dict[str, npt.NDArray[np.generic]]:
    """The fixed train / validation / test arrays."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = DATA_SEED
    data = make_dataset(args)
    x, y = data["x"].astype(np.float32), data["y"].astype(np.int64)
    order = np.random.RandomState(SPLIT_SEED).permutation(len(y))
    val, train = order[:N_VAL], order[N_VAL:]
    return {"train_x": x[train], "train_y": y[train], "val_x": x[val], "val_y": y[val],
            "test_x": data["x_test"].astype(np.float32),
            "test_y": data["y_test"].astype(np.int64)}  # fmt: skip


class MNIST1DTask(Task):
    bounds: Mapping[str, tuple[float, float]] = {
        "val_accuracy": (0.0, 1.0),
        "test_accuracy": (0.0, 1.0),
    }

    def __init__(self) -> None:
        self._split: dict[str, npt.NDArray[np.generic]] | None = None

    def split(self) -> dict[str, npt.NDArray[np.generic]]:
        if self._split is None:
            self._split = make_split()
        return self._split

    def prepare(self, workdir: Path, *, seed: int) -> None:
        del seed  # the split is fixed
        s = self.split()
        workdir.mkdir(parents=True, exist_ok=True)
        for name in ("train_x", "train_y", "val_x", "test_x"):
            np.save(workdir / f"{name}.npy", s[name], allow_pickle=False)

    def score(self, workdir: Path) -> Mapping[str, float]:
        s = self.split()
        return {
            "val_accuracy": float(np.mean(_correct(workdir, "val_pred.npy", s["val_y"]))),
            "test_accuracy": float(np.mean(_correct(workdir, "test_pred.npy", s["test_y"]))),
            "params": float(count_parameters(workdir / "model.safetensors")),
        }

    def example_scores(self, workdir: Path) -> Mapping[str, npt.NDArray[np.float32]]:
        return {"val_accuracy": _correct(workdir, "val_pred.npy", self.split()["val_y"])}

    def hidden_paths(self) -> list[Path]:
        return [mnist1d_folder()]


def count_parameters(path: Path) -> int:
    """Trainable parameters in a safetensors file (read as data: no code runs)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not path.is_file():
        raise OutputError(f"{path.name}: the program wrote no weights")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise OutputError(f"{path.name}: not a safetensors file ({exc})") from None
    return sum(int(t.size) for name, t in tensors.items() if not name.endswith(BUFFERS))


def _correct(workdir: Path, name: str, labels: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    pred = read_array(workdir, name, shape=(len(labels),), kind="iu")
    if pred.min() < 0 or pred.max() >= N_CLASSES:
        raise OutputError(f"{name}: labels must be in 0..{N_CLASSES - 1}")
    return (pred.astype(np.int64) == labels).astype(np.float32)


task = MNIST1DTask()
