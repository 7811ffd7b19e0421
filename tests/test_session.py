"""A driver session's own steps: the files it trusts, and the state it records when it
ends with an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge import session
from evoforge.archive import MemoryArchive
from evoforge.loop_state import TaskError
from evoforge.session import trusted_hashes

from experiment_helpers import DataTask, config_of


def test_the_task_module_its_data_and_the_policy_file_are_trusted(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    (exp / "data").mkdir(parents=True)
    (exp / "task.py").write_text("task = None\n")
    (exp / "data" / "labels.csv").write_text("1,0\n")
    (exp / "policy.py").write_text("POPULATION = 3\n")
    outside = tmp_path / "shared.csv"
    outside.write_text("x\n")
    task = DataTask(files=[exp / "data", outside], hidden=[])
    plain = trusted_hashes(exp, config_of(), task)
    assert set(plain) == {"task.py", "data/labels.csv", str(outside.resolve())}
    with_policy = trusted_hashes(exp, config_of(selection={"policy": "policy.py"}), task)
    assert set(with_policy) == {*plain, "policy.py"}
    (exp / "data" / "labels.csv").write_text("0,1\n")
    assert trusted_hashes(exp, config_of(), task)["data/labels.csv"] != plain["data/labels.csv"]


def test_a_trusted_file_that_is_missing_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "task.py").write_text("task = None\n")
    task = DataTask(files=[tmp_path / "gone.csv"], hidden=[])
    with pytest.raises(FileNotFoundError, match=r"gone\.csv"):
        trusted_hashes(tmp_path, config_of(), task)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (ValueError("bad seed\nmore detail"), "failed: bad seed"),
        (KeyError(), "failed: KeyError"),
        (TaskError("the task raised 3 times: boom"), "stopped: the task raised 3 times: boom"),
    ],
)
def test_a_session_that_ends_with_an_error_records_it_as_the_runs_state(
    error: Exception, state: str
) -> None:
    archive = MemoryArchive()
    archive.set_meta("state", "running")
    with pytest.raises(type(error)), session._state_on_error(archive):
        raise error
    assert archive.get_meta("state") == state


def test_a_session_that_ends_well_leaves_the_state_it_recorded() -> None:
    archive = MemoryArchive()
    with session._state_on_error(archive):
        archive.set_meta("state", "finished")
    assert archive.get_meta("state") == "finished"
