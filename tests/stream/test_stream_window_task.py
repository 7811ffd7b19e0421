"""The stream's trusted task: a window of batches to train on, rows to predict."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from evoforge.stream.window_task import PRED, ROUND_TASK, Window, WindowTask
from evoforge.tasks import OutputError


def window(*, mse: bool = False) -> Window:
    eval_y = np.array([1.0, 2.0, 3.0, 4.0]) if mse else np.array([0.0, 1.0, 1.0, 0.0])
    return Window(
        train_x=np.arange(12, dtype=np.float64).reshape(6, 2),
        train_y=np.array([0.0, 1.0, 0.0, 1.5, 1.0, 0.0]) if mse else np.array([0.0, 1, 0, 1, 1, 0]),
        train_age=np.array([2, 2, 1, 1, 0, 0], dtype=np.int64),
        eval_x=np.arange(8, dtype=np.float64).reshape(4, 2) + 100,
        eval_y=eval_y,
        eval_part=np.array([0, 0, 1, 1], dtype=np.int64),
    )


def predict(workdir: Path, pred: object) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    np.save(workdir / PRED, np.asarray(pred), allow_pickle=False)


def assert_windows_equal(a: Window, b: Window) -> None:
    for k in Window.__dataclass_fields__:
        got, want = getattr(a, k), getattr(b, k)
        assert got.dtype == want.dtype, k
        np.testing.assert_array_equal(got, want, err_msg=k)


def test_window_save_load_round_trip(tmp_path: Path) -> None:
    w = window()
    path = tmp_path / "deep" / "er" / "window.npz"
    w.save(path)
    assert_windows_equal(Window.load(path), w)


def test_window_task_reads_its_path_lazily(tmp_path: Path) -> None:
    path = tmp_path / "window.npz"
    task = WindowTask(path)
    assert task.files() == [path]
    window().save(path)
    assert_windows_equal(task.window, window())
    assert WindowTask(window=window()).files() == []
    with pytest.raises(RuntimeError, match="needs a window"):
        WindowTask().window  # noqa: B018


@pytest.mark.parametrize(("metric", "ydtype"), [("accuracy", np.int64), ("mse", np.float64)])
def test_prepare_writes_the_four_files(tmp_path: Path, metric: str, ydtype: type) -> None:
    w = window(mse=metric == "mse")
    work = tmp_path / "work"
    WindowTask(metric=metric, window=w).prepare(work, seed=3)
    assert sorted(p.name for p in work.iterdir()) == [
        "predict_x.npy",
        "train_age.npy",
        "train_x.npy",
        "train_y.npy",
    ]  # the labels to predict stay with the task
    train_x = np.load(work / "train_x.npy")
    train_y = np.load(work / "train_y.npy")
    age = np.load(work / "train_age.npy")
    px = np.load(work / "predict_x.npy")
    assert train_x.dtype == np.float64 and px.dtype == np.float64 and age.dtype == np.int64
    assert train_y.dtype == ydtype
    np.testing.assert_array_equal(train_x, w.train_x)
    np.testing.assert_array_equal(train_y, w.train_y.astype(ydtype))
    np.testing.assert_array_equal(age, w.train_age)
    np.testing.assert_array_equal(px, w.eval_x)
    if metric == "mse":
        assert train_y[3] == 1.5  # not truncated to a class


def test_score_accuracy_per_part(tmp_path: Path) -> None:
    task = WindowTask(window=window())
    predict(tmp_path, np.array([0, 1, 1, 1], dtype=np.int64))
    assert task.score(tmp_path) == {"newest_accuracy": 1.0, "memory_accuracy": 0.5}
    ex = task.example_scores(tmp_path)
    assert list(ex) == ["newest_accuracy"]
    np.testing.assert_array_equal(ex["newest_accuracy"], [1.0, 1.0])  # only the newest rows
    predict(tmp_path, np.array([1, 1, 0, 0], dtype=np.int32))
    assert task.score(tmp_path) == {"newest_accuracy": 0.5, "memory_accuracy": 0.5}
    np.testing.assert_array_equal(task.example_scores(tmp_path)["newest_accuracy"], [0.0, 1.0])


def test_score_without_memory_rows_has_no_memory_metric(tmp_path: Path) -> None:
    w = window()
    w = Window(w.train_x, w.train_y, w.train_age, w.eval_x, w.eval_y, np.zeros(4, dtype=np.int64))
    predict(tmp_path, np.array([0, 1, 0, 0]))
    assert WindowTask(window=w).score(tmp_path) == {"newest_accuracy": 0.75}


def test_score_mse(tmp_path: Path) -> None:
    task = WindowTask(metric="mse", window=window(mse=True))
    predict(tmp_path, np.array([1.5, 2.0, 3.0, 6.0]))
    assert task.score(tmp_path) == {"newest_mse": 0.125, "memory_mse": 2.0}
    np.testing.assert_array_equal(task.example_scores(tmp_path)["newest_mse"], [0.25, 0.0])
    predict(tmp_path, np.array([1, 2, 3, 4], dtype=np.int64))  # integer predictions are fine
    assert task.score(tmp_path) == {"newest_mse": 0.0, "memory_mse": 0.0}


def test_bounds() -> None:
    assert WindowTask(window=window()).bounds == {
        "newest_accuracy": (0.0, 1.0),
        "memory_accuracy": (0.0, 1.0),
    }
    assert WindowTask(metric="mse", window=window()).bounds == {
        "newest_mse": (0.0, float("inf")),
        "memory_mse": (0.0, float("inf")),
    }


@pytest.mark.parametrize(
    "pred",
    [
        np.array([0, 1, 1], dtype=np.int64),  # too short
        np.array([0, 1, 1, 0, 1], dtype=np.int64),  # too long
        np.array([[0, 1, 1, 0]], dtype=np.int64),  # 2-D
        np.array([0.0, 1.0, 1.0, 0.0]),  # floats for accuracy
        np.array([True, False, True, False]),  # bools are not class ids
    ],
)
def test_bad_predictions_for_accuracy(tmp_path: Path, pred: np.ndarray) -> None:
    predict(tmp_path, pred)
    task = WindowTask(window=window())
    with pytest.raises(OutputError):
        task.score(tmp_path)
    with pytest.raises(OutputError):
        task.example_scores(tmp_path)


def test_missing_predictions(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=PRED):
        WindowTask(window=window()).score(tmp_path)


def test_nan_predictions_for_mse(tmp_path: Path) -> None:
    predict(tmp_path, np.array([1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(OutputError):
        WindowTask(metric="mse", window=window(mse=True)).score(tmp_path)


# -- keep_model -----------------------------------------------------------------------


def model_dir(work: Path, *extra: str) -> Path:
    model = work / "model"
    (model / "sub").mkdir(parents=True)
    np.savez(model / "centroids.npz", c=np.ones(2))
    (model / "sub" / "meta.json").write_text('{"k": 1}')
    for name in extra:
        (model / name).write_text("x")
    return model


def test_keep_model_copies_the_model_folder(tmp_path: Path) -> None:
    work, keep = tmp_path / "work", tmp_path / "kept"
    model_dir(work)
    predict(work, np.array([0, 1, 1, 0]))
    keep.mkdir()
    (keep / "stale.json").write_text("{}")  # an earlier export is replaced whole
    scores = WindowTask(window=window(), keep_model=keep).score(work)
    assert scores["newest_accuracy"] == 1.0
    assert sorted(str(p.relative_to(keep)) for p in keep.rglob("*")) == [
        "centroids.npz",
        "sub",
        "sub/meta.json",
    ]
    assert (keep / "sub" / "meta.json").read_text() == '{"k": 1}'


def test_score_without_keep_model_copies_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    predict(work, np.array([0, 1, 1, 0]))
    WindowTask(window=window()).score(work)  # no model/ folder needed
    assert sorted(p.name for p in work.iterdir()) == [PRED]


@pytest.mark.parametrize("name", ["model.py", "model.pkl", "weights.pt"])
def test_keep_model_refuses_code_and_pickle(tmp_path: Path, name: str) -> None:
    work, keep = tmp_path / "work", tmp_path / "kept"
    model_dir(work, name)
    predict(work, np.array([0, 1, 1, 0]))
    with pytest.raises(OutputError, match=f"model/{name}: only data files"):
        WindowTask(window=window(), keep_model=keep).score(work)
    assert not keep.exists()


def test_keep_model_refuses_a_symlink(tmp_path: Path) -> None:
    work, keep = tmp_path / "work", tmp_path / "kept"
    model = model_dir(work)
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    os.symlink(outside, model / "link.json")
    predict(work, np.array([0, 1, 1, 0]))
    with pytest.raises(OutputError, match=r"link\.json: not a plain file"):
        WindowTask(window=window(), keep_model=keep).score(work)
    assert not keep.exists()


def test_keep_model_needs_a_model_folder(tmp_path: Path) -> None:
    predict(tmp_path, np.array([0, 1, 1, 0]))
    with pytest.raises(OutputError, match="no model/ folder"):
        WindowTask(window=window(), keep_model=tmp_path / "kept").score(tmp_path)


def test_hidden_paths_lists_only_existing_ones(tmp_path: Path) -> None:
    there = tmp_path / "batches"
    there.mkdir()
    gone = tmp_path / "stream.sqlite"
    task = WindowTask(window=window(), hidden=[there, gone])
    assert task.hidden_paths() == [there]
    gone.write_text("")
    assert task.hidden_paths() == [there, gone]
    assert WindowTask(window=window()).hidden_paths() == []


# -- ROUND_TASK -----------------------------------------------------------------------


def test_round_task_formats_into_a_task_module(tmp_path: Path) -> None:
    folder = tmp_path / "it's a round"  # a quote in the path must survive the formatting
    folder.mkdir()
    window(mse=True).save(folder / "window.npz")
    hidden = [str(tmp_path / "batches"), str(tmp_path / "stream")]
    path = folder / "task.py"
    path.write_text(ROUND_TASK.format(metric="mse", hidden=hidden))
    spec = importlib.util.spec_from_file_location("evoforge_test_round_task", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    task = mod.task
    assert isinstance(task, WindowTask)
    assert task.path == folder / "window.npz"
    assert task.metric == "mse"
    assert task.hidden == [Path(p) for p in hidden]
    assert_windows_equal(task.window, window(mse=True))
    predict(tmp_path / "work", np.array([1.0, 2.0, 3.0, 5.0]))
    assert task.score(tmp_path / "work") == {"newest_mse": 0.0, "memory_mse": 0.5}
