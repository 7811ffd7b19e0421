"""The inner task suite of ``evoforge meta``: the splits and what each holds, programs whose
declared parameters the score reads, closed-form regression scores, grid scores read from
a table, and the tables built only for grid tasks. The AutoML repairs are in
test_meta_automl_tasks.py."""

from __future__ import annotations

import pytest

from evoforge.meta.suite import (
    PROGRAM_FILE,
    SPLITS,
    InnerTask,
    Scorer,
    all_tasks,
    build_tables,
    grid_key,
    split,
)
from evoforge.proposers.sites import check_annotations, set_values


def test_named_splits_and_comma_lists_give_their_tasks_in_order() -> None:
    assert [t.name for t in split("tiny")] == ["sr_sine"]
    assert [t.name for t in split(" sr_wave , digits_knn,")] == ["sr_wave", "digits_knn"]
    assert [t.name for t in split("train")] == list(SPLITS["train"])


@pytest.mark.parametrize("name", ["nope", "sr_sine,nope", "", " , "])
def test_an_unknown_task_or_split_is_refused_with_the_known_ones(name: str) -> None:
    with pytest.raises(ValueError, match=r"unknown task or split .*known: train, heldout"):
        split(name)


def test_train_and_heldout_are_apart_and_each_has_every_kind() -> None:
    train, heldout = set(SPLITS["train"]), set(SPLITS["heldout"])
    assert not train & heldout
    assert train | heldout == set(all_tasks())
    kinds = {t.kind for t in all_tasks().values()}
    assert kinds == {"regression", "grid", "automl"}
    assert {t.kind for t in split("train")} == {t.kind for t in split("heldout")} == kinds
    assert set(SPLITS["tiny"]) <= train and set(SPLITS["tiny-heldout"]) <= heldout


def test_every_declared_program_is_one_file_with_valid_annotations() -> None:
    for task in all_tasks().values():
        if task.repair is None:
            assert task.files == {PROGRAM_FILE: task.program}
            assert check_annotations(task.files) == [], task.name
            assert task.values(task.files), task.name


def test_a_regression_scores_one_at_its_target_and_less_elsewhere() -> None:
    task = all_tasks()["sr_sine"]
    scorer = Scorer(task)
    exact = set_values(task.files, {"A": 1.5, "F": "sin", "W": 2.0, "B": 0.5, "G": "square",
                                    "NEGATE_G": False, "POLY": [0.0]})  # fmt: skip
    assert scorer.best() == 1.0
    assert scorer.score(exact) == 1.0
    assert 0.0 < scorer.score(task.files) < 0.5
    negated = set_values(exact, {"NEGATE_G": True})
    assert scorer.score(negated) < scorer.score(exact)


def test_a_grid_task_reads_its_score_from_the_table() -> None:
    task = all_tasks()["digits_knn"]
    seed_key = grid_key(task.values(task.files))
    assert seed_key == "K=15,P=2,SCALER='none',WEIGHTS='uniform'"
    table = {seed_key: 0.9, "K=1,P=1,SCALER='none',WEIGHTS='uniform'": 0.95}
    scorer = Scorer(task, table)
    assert scorer.score(task.files) == 0.9
    assert scorer.score(set_values(task.files, {"K": 2})) == 0.0
    assert scorer.best() == 0.95


def test_grid_keys_do_not_depend_on_the_order_of_values() -> None:
    assert grid_key({"b": 1, "a": "x"}) == grid_key({"a": "x", "b": 1}) == "a='x',b=1"
    assert grid_key({"a": 1}) != grid_key({"a": 1.0})


def test_tables_are_built_only_for_grid_tasks() -> None:
    built: list[str] = []

    def fit() -> dict[str, float]:
        built.append("g")
        return {"K=1": 0.5}

    grid = InnerTask("g", "", "grid", build=fit)
    tables = build_tables([all_tasks()["sr_sine"], grid])
    assert tables == {"g": {"K=1": 0.5}} and built == ["g"]
