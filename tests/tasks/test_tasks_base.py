"""The task contract: what a task must implement, and what its optional hooks give by default."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from evoforge.tasks import OutputError, Task


class Scores(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None:
        (workdir / "seed.txt").write_text(str(seed))

    def score(self, workdir: Path) -> Mapping[str, float]:
        return {"acc": float((workdir / "seed.txt").read_text())}


def test_a_task_must_implement_prepare_and_score() -> None:
    class NoScore(Task):
        def prepare(self, workdir: Path, *, seed: int) -> None:
            return None

    with pytest.raises(TypeError, match="score"):
        NoScore()  # type: ignore[abstract]


def test_a_task_that_implements_both_prepares_and_scores(tmp_path: Path) -> None:
    task = Scores()
    task.prepare(tmp_path, seed=3)
    assert task.score(tmp_path) == {"acc": 3.0}


def test_the_optional_hooks_give_nothing_by_default(tmp_path: Path) -> None:
    task = Scores()
    assert task.example_scores(tmp_path) == {}
    assert task.hidden_paths() == []
    assert task.files() == []


def test_by_default_a_task_has_no_bounds_hides_bundled_data_and_scores_at_full_strength() -> None:
    task = Scores()
    assert dict(task.bounds) == {}
    assert task.allow_bundled_data is False
    assert task.compat_mode == ""


def test_a_malformed_output_is_a_value_error_with_its_reason() -> None:
    error = OutputError("out.json: not an object")
    assert isinstance(error, ValueError) and str(error) == "out.json: not an object"
