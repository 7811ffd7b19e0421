"""The MNIST-1D architecture-search example: its task hides the labels and counts the
parameters itself, and a short run finds a better architecture than the seed's."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import evoforge
from evoforge.tasks import OutputError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nas-mnist1d"


def _task() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nas_mnist1d_task", EXAMPLE / "task.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_split_is_fixed_disjoint_and_public_files_hold_no_labels(tmp_path: Path) -> None:
    module = _task()
    s = module.make_split()
    assert [len(s[k]) for k in ("train_x", "val_x", "test_x")] == [3000, 1000, 1000]
    assert s["train_x"].shape[1] == 40 and sorted(set(s["val_y"].tolist())) == list(range(10))
    module.task.prepare(tmp_path, seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "test_x.npy", "train_x.npy", "train_y.npy", "val_x.npy"]  # fmt: skip
    assert np.array_equal(np.load(tmp_path / "val_x.npy"), s["val_x"])
    assert module.mnist1d_folder() in module.task.hidden_paths()  # its generator makes labels


def test_parameters_are_counted_from_the_weights_file_not_reported(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    module = _task()
    save_file({"0.weight": np.zeros((8, 1, 3), np.float32), "1.running_mean": np.zeros(8,
              np.float32), "1.weight": np.ones(8, np.float32)}, str(tmp_path / "w.safetensors"))  # fmt: skip
    assert module.count_parameters(tmp_path / "w.safetensors") == 24 + 8  # buffers left out
    (tmp_path / "bad.safetensors").write_bytes(b"params: 10")
    with pytest.raises(OutputError, match="not a safetensors file"):
        module.count_parameters(tmp_path / "bad.safetensors")
    with pytest.raises(OutputError, match="wrote no weights"):
        module.count_parameters(tmp_path / "none.safetensors")


@pytest.mark.slow
def test_a_short_search_beats_the_seed_architecture(tmp_path: Path) -> None:
    exp = tmp_path / "nas"
    shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    toml = exp / "evoforge.toml"
    toml.write_text(toml.read_text().replace("candidates = 60", "candidates = 6")
                    .replace("reruns = 2", "reruns = 0"))  # fmt: skip
    run = evoforge.run(exp, progress=False)
    rows = run.candidates()
    seed, champion = rows[0], run.champion()
    assert champion is not None and champion.id != seed.id
    assert champion.metrics["val_accuracy"] > seed.metrics["val_accuracy"] + 0.1
    assert {r.operator for r in rows[1:]} >= {"nas-random"}
    out = run.export(tmp_path / "champion")  # the kept weights are the ones it was scored on
    assert _task().count_parameters(out / "model.safetensors") == champion.metrics["params"]
