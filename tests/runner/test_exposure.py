"""What the sandbox hides for a task by default, and the run-start check of what it reads."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from evoforge.runner.exposure import (
    bundled_data_files,
    exposed_reads,
    readable_in_sandbox,
    sandbox_hidden,
    task_reads,
)
from evoforge.sandbox import Limits
from evoforge.sandbox.process import ProcessSandbox
from evoforge.tasks import Task

LIMITS = Limits(wall_seconds=30, memory_mb=1024)


class ReadsLabels(Task):
    """Reads its labels from a file in ``prepare`` and again in ``score``."""

    def __init__(self, labels: Path, *, declared: bool = False) -> None:
        self.labels = labels
        self.declared = declared

    def prepare(self, workdir: Path, *, seed: int) -> None:
        self.labels.read_bytes()
        (workdir / "train.txt").write_text("public")

    def score(self, workdir: Path) -> Mapping[str, float]:
        self.labels.read_bytes()
        (workdir / "pred.txt").read_text()  # missing: raises after the labels were read
        return {}

    def files(self) -> list[Path]:
        return [self.labels] if self.declared else []


class LoadsBreastCancer(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None:
        from sklearn.datasets import load_breast_cancer

        load_breast_cancer()

    def score(self, workdir: Path) -> Mapping[str, float]:
        return {}


def test_the_tasks_declared_files_are_hidden_from_the_sandbox(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("1,0,1")
    assert labels in sandbox_hidden(ReadsLabels(labels, declared=True))
    assert labels not in sandbox_hidden(ReadsLabels(labels))


def test_bundled_data_sets_are_hidden_unless_the_task_allows_them() -> None:
    import sklearn.datasets

    data = Path(sklearn.datasets.__file__).parent / "data"
    bundled = {p.name for p in bundled_data_files()}
    assert {"breast_cancer.csv", "iris.csv", "digits.csv.gz", "wine_data.csv"} <= bundled
    assert "__init__.py" not in bundled  # the folder stays an importable package

    class Allows(LoadsBreastCancer):
        allow_bundled_data = True

    assert data / "breast_cancer.csv" in sandbox_hidden(LoadsBreastCancer())
    assert data / "breast_cancer.csv" not in sandbox_hidden(Allows())


def test_the_files_a_task_reads_are_recorded_but_not_its_scratch_or_imports(
    tmp_path: Path,
) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("1,0,1")
    reads = task_reads(ReadsLabels(labels))
    assert reads == [labels.resolve()]
    bc = {p.name for p in task_reads(LoadsBreastCancer())}
    assert "breast_cancer.csv" in bc
    assert not any(name.endswith(".py") for name in bc)


def test_a_read_file_is_exposed_only_where_the_sandbox_lets_a_candidate_open_it(
    tmp_path: Path,
) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("1,0,1")
    # The process sandbox hides nothing: the labels are exposed, and the check says so.
    assert readable_in_sandbox([labels], ProcessSandbox(), hidden=[], limits=LIMITS) == [labels]
    assert exposed_reads(ReadsLabels(labels), ProcessSandbox(), limits=LIMITS) == [labels.resolve()]
    missing = tmp_path / "gone.csv"
    assert readable_in_sandbox([missing], ProcessSandbox(), hidden=[], limits=LIMITS) == []


@pytest.mark.parametrize("hidden", [False, True])
def test_a_run_warns_at_start_about_labels_a_candidate_could_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hidden: bool
) -> None:
    from evoforge.session import warn_exposed_reads

    labels = tmp_path / "labels.csv.gz"
    with gzip.open(labels, "wt") as fh:
        fh.write("1,0,1")
    ctx = _ctx(tmp_path)
    audit = _FakeAudit()
    task = ReadsLabels(labels, declared=hidden)
    exposed = warn_exposed_reads(task, ctx, audit, seed=0)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    # The process sandbox hides nothing, declared or not: the warning tells the truth.
    assert exposed == [labels.resolve()]
    assert str(labels.resolve()) in err and "warning" in err
    assert audit.entries == [("task_reads_visible", {"files": [str(labels.resolve())]})]


class _FakeAudit:
    """Records entries; the real one is tested with the audit log."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, object]]] = []

    def append(self, event: str, **data: object) -> None:
        self.entries.append((event, data))


def _ctx(tmp_path: Path) -> object:
    from evoforge.runner import RunContext

    return RunContext(
        experiment=tmp_path,
        task_module="task.py",
        task_object="task",
        command=(sys.executable, "x.py"),
        limits=LIMITS,
        heldout=(),
        scratch_root=tmp_path / "scratch",
        active_dir=tmp_path / "active",
        sandbox_layers="process",
    )
