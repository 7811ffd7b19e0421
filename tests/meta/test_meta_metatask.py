"""The trusted task of a meta-run: the policy text is taken at prepare, its inner searches
run sandboxed at score, and its score is their sample efficiency; a failing policy fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evoforge.meta.harness import LaneResult
from evoforge.meta.metatask import OBJECTIVE, MetaTask, load_tables, metrics
from evoforge.policy import default_policy_source
from evoforge.sandbox import ProcessSandbox
from evoforge.tasks import OutputError


def meta_task(tmp_path: Path) -> MetaTask:
    tables = tmp_path / "tables.json"
    tables.write_text("{}")
    return MetaTask(tasks="tiny", tables=tables, seeds=[0], candidates=8, layers="process")


def test_a_failing_policy_fails_as_a_meta_candidate(tmp_path: Path) -> None:
    tables = tmp_path / "tables.json"
    tables.write_text("{}")
    task = MetaTask(tasks="tiny", tables=tables, seeds=[0], candidates=8, layers="process")
    work = tmp_path / "work"
    work.mkdir()
    good = default_policy_source()
    (work / "policy.py").write_text(good)
    task.prepare(work, seed=0)
    (work / "policy.py").write_text("swapped after prepare: never used")
    assert 0.0 <= task.score(work)["efficiency"] <= 1.0
    (work / "policy.py").write_text(good.replace('"sigma": sigma', '"sigma": -1'))
    task.prepare(work, seed=0)
    with pytest.raises(OutputError, match="sigma"):
        task.score(work)


def test_score_needs_a_prepared_folder_and_uses_its_policy_once(tmp_path: Path) -> None:
    task = meta_task(tmp_path)
    with pytest.raises(OutputError, match="not prepared"):
        task.score(tmp_path)
    crashing = default_policy_source().replace("ADAPT = 0.0", "ADAPT = 0.0\nraise SystemExit(2)")
    (tmp_path / "policy.py").write_text(crashing)
    task.prepare(tmp_path, seed=0)
    with pytest.raises(OutputError, match="the policy failed in round 1"):
        task.score(tmp_path)
    with pytest.raises(OutputError, match="not prepared"):
        task.score(tmp_path)


def test_the_tables_are_trusted_hidden_files_and_the_scores_are_bounded(tmp_path: Path) -> None:
    task = meta_task(tmp_path)
    assert task.files() == task.hidden_paths() == [tmp_path / "tables.json"]
    assert task.bounds == {OBJECTIVE: (0.0, 1.0), "final": (0.0, 1.0), "efficiency_se": (0.0, 1.0)}
    assert isinstance(task._sandbox(), ProcessSandbox)


def test_metrics_are_the_efficiency_and_the_mean_final_score() -> None:
    lanes = [
        LaneResult("a", 0, (0.0, 1.0), 0),
        LaneResult("a", 1, (1.0, 1.0), 0),
        LaneResult("b", 0, (0.0, 0.0), 0),
    ]
    # the standard error: task a's two AUCs (0.5, 1.0) vary by 0.125, over 2 searches,
    # task b's one by nothing; sqrt(0.0625) / 2 tasks
    assert metrics(lanes) == {OBJECTIVE: pytest.approx(0.375), "final": pytest.approx(2 / 3),
                              "efficiency_se": pytest.approx(0.125)}  # fmt: skip
    assert metrics([]) == {OBJECTIVE: 0.0, "final": 0.0, "efficiency_se": 0.0}


def test_tables_are_read_with_string_keys_and_float_scores(tmp_path: Path) -> None:
    path = tmp_path / "tables.json"
    path.write_text(json.dumps({"digits_knn": {"K=3": 1, "K=5": 0.5}}))
    table = load_tables(path)
    assert table == {"digits_knn": {"K=3": 1.0, "K=5": 0.5}}
    assert type(table["digits_knn"]["K=3"]) is float
