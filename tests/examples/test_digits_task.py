"""The digits demo: its task keeps labels hidden and rejects bad outputs; its seed runs."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from evoforge.program import blocks_of
from evoforge.proposers.sites import check_annotations, find_sites
from evoforge.tasks import OutputError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"
PUBLIC = {"train_x.npy", "train_y.npy", "val_x.npy", "test_x.npy"}


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def task_module() -> ModuleType:
    return load("digits_task_under_test", EXAMPLE / "task.py")


@pytest.fixture(scope="module")
def task(task_module: ModuleType) -> Any:
    return task_module.task


@pytest.fixture(scope="module")
def prepared(task: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("digits")
    task.prepare(workdir, seed=0)
    return workdir


@pytest.fixture
def workdir(task: Any, tmp_path: Path) -> Path:
    task.prepare(tmp_path, seed=0)
    return tmp_path


def test_prepare_writes_only_the_public_inputs(prepared: Path) -> None:
    assert {p.name for p in prepared.iterdir()} == PUBLIC
    arrays = {name: np.load(prepared / name, allow_pickle=False) for name in PUBLIC}
    assert arrays["train_x.npy"].shape == (1077, 64)
    assert arrays["train_y.npy"].shape == (1077,)
    assert arrays["val_x.npy"].shape == arrays["test_x.npy"].shape == (360, 64)
    assert arrays["train_x.npy"].dtype == np.float32
    # raw pixels: the candidate does its own preprocessing
    assert arrays["train_x.npy"].min() == 0 and arrays["train_x.npy"].max() == 16
    assert set(np.unique(arrays["train_y.npy"]).tolist()) == set(range(10))


def test_no_public_file_holds_the_hidden_labels(task: Any, prepared: Path) -> None:
    split = task.split()
    hidden = {"val": split.val_y, "test": split.test_y}
    for path in prepared.iterdir():
        raw = path.read_bytes()
        for part, labels in hidden.items():
            for dtype in (np.int64, np.int32, np.int16, np.uint8, np.float32, np.float64):
                encoded = labels.astype(dtype).tobytes()
                assert encoded not in raw, f"{path.name} holds the {part} labels as {dtype}"


def test_data_is_what_sklearn_load_digits_returns(task_module: ModuleType) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = task_module.load_digits_arrays()
    assert np.array_equal(x, digits.data)
    assert np.array_equal(y, digits.target)


def test_split_is_fixed_stratified_and_disjoint(task_module: ModuleType) -> None:
    _, labels = task_module.load_digits_arrays()
    train, val, test = task_module.split_indices(labels)
    rows = np.concatenate([train, val, test])
    assert sorted(rows.tolist()) == list(range(len(labels)))  # disjoint and complete
    assert np.bincount(labels[val]).tolist() == [36] * 10
    assert np.bincount(labels[test]).tolist() == [36] * 10
    digest = hashlib.sha256()
    for part in (train, val, test):
        digest.update(np.asarray(part, dtype=np.int64).tobytes())
    # Pinned: a changed split would silently change every score of the demo.
    assert digest.hexdigest() == "b4c2beaa56a1526920d74e737fc55356f39b39ad4274f11460e82285f0e43611"


def test_prepare_does_not_depend_on_the_seed(task: Any, prepared: Path, tmp_path: Path) -> None:
    task.prepare(tmp_path, seed=12345)
    for name in PUBLIC:
        assert (tmp_path / name).read_bytes() == (prepared / name).read_bytes()


def test_perfect_predictions_score_one(task: Any, workdir: Path) -> None:
    split = task.split()
    np.save(workdir / "val_pred.npy", split.val_y)
    np.save(workdir / "test_pred.npy", split.test_y.astype(np.uint8))
    assert dict(task.score(workdir)) == {"val_accuracy": 1.0, "test_accuracy": 1.0}


def test_a_constant_guess_scores_a_tenth(task: Any, workdir: Path) -> None:
    np.save(workdir / "val_pred.npy", np.zeros(360, dtype=np.int64))
    np.save(workdir / "test_pred.npy", np.full(360, 7, dtype=np.int32))
    assert dict(task.score(workdir)) == pytest.approx({"val_accuracy": 0.1, "test_accuracy": 0.1})


def test_example_scores_are_validation_correctness_whose_mean_is_val_accuracy(
    task: Any, workdir: Path
) -> None:
    np.save(workdir / "val_pred.npy", np.zeros(360, dtype=np.int64))
    np.save(workdir / "test_pred.npy", np.zeros(360, dtype=np.int64))
    (correct,) = task.example_scores(workdir).values()
    assert set(task.example_scores(workdir)) == {"val_accuracy"}  # never the test split's
    assert correct.shape == (360,) and set(np.unique(correct)) == {0.0, 1.0}
    assert float(correct.mean()) == pytest.approx(task.score(workdir)["val_accuracy"])


def _pickled_objects(path: Path) -> None:
    np.save(path, np.array([{"label": 1}] * 360, dtype=object), allow_pickle=True)


def _symlink_to_valid_labels(path: Path) -> None:
    elsewhere = path.parent.parent / f"{path.parent.name}-secret.npy"
    np.save(elsewhere, np.zeros(360, dtype=np.int64))
    path.symlink_to(elsewhere)


MALFORMED: dict[str, tuple[Callable[[Path], object] | None, str]] = {
    "missing": (None, "did not write"),
    "short": (lambda p: np.save(p, np.zeros(359, dtype=np.int64)), "shape"),
    "two-d": (lambda p: np.save(p, np.zeros((360, 10), dtype=np.int64)), "shape"),
    "nan": (lambda p: np.save(p, np.full(360, np.nan)), "dtype"),
    "floats": (lambda p: np.save(p, np.zeros(360)), "dtype"),
    "label 10": (lambda p: np.save(p, np.full(360, 10, dtype=np.int64)), "0..9"),
    "label -1": (lambda p: np.save(p, np.full(360, -1, dtype=np.int8)), "0..9"),
    "pickle": (_pickled_objects, "holds Python objects"),
    "symlink": (_symlink_to_valid_labels, "links are not followed"),
    "garbage": (lambda p: p.write_bytes(b"not numpy"), "not a .npy file"),
}


@pytest.mark.parametrize("which", ["val_pred.npy", "test_pred.npy"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_predictions_raise_output_error(
    task: Any, workdir: Path, which: str, case: str
) -> None:
    for name in ("val_pred.npy", "test_pred.npy"):
        if name != which:
            np.save(workdir / name, np.zeros(360, dtype=np.int64))
    write, reason = MALFORMED[case]
    if write is not None:
        write(workdir / which)
    with pytest.raises(OutputError, match=reason) as info:
        task.score(workdir)
    assert which in str(info.value)


def test_hidden_paths_are_the_labelled_data_set(task: Any) -> None:
    paths = task.hidden_paths()
    assert paths, "the labelled digits file must be hidden from candidates"
    for path in paths:
        assert path.is_file()
        assert path.name == "digits.csv.gz"
    assert set(paths) <= set(task.files())  # and hashed at run start


def test_bounds_cover_both_metrics(task: Any) -> None:
    assert dict(task.bounds) == {"val_accuracy": (0.0, 1.0), "test_accuracy": (0.0, 1.0)}


# --- the seed program -----------------------------------------------------------------


def test_seed_program_has_one_block_whose_parameters_are_all_declared() -> None:
    source = (EXAMPLE / "train.py").read_text()
    (block,) = blocks_of("train.py", source)
    tree = ast.parse(block.text)
    lines = block.text.splitlines()
    assigned = [node for node in tree.body if isinstance(node, ast.Assign)]
    assert len(assigned) >= 10
    for node in assigned:
        assert "# evolve:" in lines[node.lineno - 1], (
            f"undeclared parameter: {lines[node.lineno - 1]}"
        )
    names = {t.id for node in assigned for t in node.targets if isinstance(t, ast.Name)}
    assert {"MODEL", "LR", "EPOCHS"} <= names


def test_the_mutator_sees_only_declared_parameters() -> None:
    # A bare number in the block (say ``axis=0``) would be mutable too, and changing
    # it would only produce crashing candidates: every site must be declared.
    files = {"train.py": (EXAMPLE / "train.py").read_text()}
    assert check_annotations(files) == []
    sites = find_sites(files)
    assert sites
    assert [s.key for s in sites if not s.spec.declared] == []


@pytest.fixture
def program() -> ModuleType:
    pytest.importorskip("torch")
    return load("digits_train_under_test", EXAMPLE / "train.py")


CORNERS: list[dict[str, Any]] = [
    {"MODEL": "linear"},
    {"MODEL": "mlp", "HIDDEN": [16], "USE_BN": True, "DROPOUT": 0.5},
    {"MODEL": "mlp", "HIDDEN": [128, 128]},
    {"MODEL": "cnn", "CHANNELS": [4], "HIDDEN": [16], "DROPOUT": 0.5},
    {"MODEL": "cnn", "CHANNELS": [32, 32], "HIDDEN": [128, 128], "USE_BN": True},
    # fixed in the search, but a person or an LLM may edit them: they must still build
    {"MODEL": "cnn", "CHANNELS": [32, 4], "KERNEL": 5, "POOL": 3, "ACTIVATION": "gelu"},
    {"MODEL": "cnn", "CHANNELS": [8], "KERNEL": 5, "POOL": 4, "ACTIVATION": "tanh"},
]


@pytest.mark.parametrize("settings", CORNERS, ids=lambda s: "-".join(map(str, s.values())))
def test_every_corner_of_the_search_space_builds_a_working_model(
    program: ModuleType, settings: dict[str, Any]
) -> None:
    import torch

    for name, value in settings.items():
        setattr(program, name, value)
    model = program.build_model()
    model.train()
    logits = model(torch.rand(5, 64))
    assert logits.shape == (5, 10)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_hand_written_optimizer_matches_torch_optim(program: ModuleType, optimizer: str) -> None:
    import torch

    settings = {"OPTIMIZER": optimizer, "LR": 0.05, "MOMENTUM": 0.9, "WEIGHT_DECAY": 0.01}
    for name, value in settings.items():
        setattr(program, name, value)
    torch.manual_seed(0)
    ours = torch.nn.Linear(4, 3)
    theirs = torch.nn.Linear(4, 3)
    theirs.load_state_dict(ours.state_dict())
    step = program.Optimizer(list(ours.parameters()))
    params = list(theirs.parameters())
    reference = (
        torch.optim.Adam(params, lr=0.05, weight_decay=0.01)
        if optimizer == "adam"
        else torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.01)
    )
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    for _ in range(5):
        for model in (ours, theirs):
            model.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
        step.step()
        reference.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.slow
def test_seed_program_runs_end_to_end_and_is_weak(task: Any, workdir: Path) -> None:
    (workdir / "train.py").write_text((EXAMPLE / "train.py").read_text())
    env = dict(os.environ, EVOFORGE_SEED="0", OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "train.py"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "train_accuracy:" in done.stdout
    metrics = task.score(workdir)
    # The demo starts weak on purpose: the search has something to find.
    assert 0.0 < metrics["val_accuracy"] < 0.9
    assert 0.0 < metrics["test_accuracy"] < 0.9
