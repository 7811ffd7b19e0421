"""Errors of the trusted task told in one line naming its file and line: at import, and while scoring."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from evoforge.candidate import RunResult
from evoforge.config import ConfigError
from evoforge.runner.task_errors import (
    TASK_ERROR,
    import_error,
    missing_object,
    split_failure,
    task_objects,
    task_raised,
)
from evoforge.tasks import Task

HERE = Path(__file__).name


class Broken(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None:
        raise RuntimeError

    def score(self, workdir: Path) -> dict[str, float]:
        return {"val_auc": json.loads("{")}


def _raised(task: Task, method: str) -> BaseException:
    with pytest.raises(Exception) as info:
        getattr(task, method)(Path("."), **({"seed": 0} if method == "prepare" else {}))
    return info.value


def test_a_task_error_names_the_line_of_the_task_not_of_the_library_it_called() -> None:
    task = Broken()
    exc = _raised(task, "score")
    line = Broken.score.__code__.co_firstlineno + 1
    ev = task_raised(task, "score", exc)
    message, tb = split_failure(ev.failure)
    assert message == (
        f"task.score raised JSONDecodeError: Expecting property name enclosed in double "
        f"quotes: line 1 column 2 (char 1) ({HERE}:{line})"
    )
    assert tb.startswith("Traceback") and "json" in tb


def test_a_task_error_fails_the_evaluation_with_its_flag_and_keeps_the_run() -> None:
    task = Broken()
    run = RunResult(exit_code=0, wall_s=1.5)
    ev = task_raised(task, "score", _raised(task, "score"), run)
    assert not ev.ok and ev.flags == (TASK_ERROR,) and ev.run is run
    assert ev.metrics == {}


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    task = Broken()
    ev = task_raised(task, "prepare", _raised(task, "prepare"))
    line = Broken.prepare.__code__.co_firstlineno + 1
    assert split_failure(ev.failure)[0] == f"task.prepare raised RuntimeError ({HERE}:{line})"


def test_a_multiline_message_is_told_on_the_first_line() -> None:
    ev = task_raised(Broken(), "score", ValueError("bad\n  labels"))
    message, tb = split_failure(ev.failure)
    assert message == "task.score raised ValueError: bad labels"
    assert tb == "ValueError: bad\n  labels\n"


def test_a_syntax_error_in_the_task_module_names_it_as_the_config_does(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_text("x = 1\ndef f(:\n")
    with pytest.raises(SyntaxError) as info:
        compile(path.read_text(), str(path), "exec")
    error = import_error("task.py", path, info.value)
    assert isinstance(error, ConfigError)
    assert str(error).startswith("task.py:2: SyntaxError: ")


def test_a_syntax_error_in_another_file_names_that_file(tmp_path: Path) -> None:
    other = SyntaxError("invalid syntax", (str(tmp_path / "helpers.py"), 4, 1, "def (", 4, 2))
    assert str(import_error("task.py", tmp_path / "task.py", other)) == (
        "helpers.py:4: SyntaxError: invalid syntax"
    )


def test_an_exception_at_import_names_the_line_of_the_task_module(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_text("import json\n\nDATA = json.loads('[1,')\n")
    with pytest.raises(ValueError) as info:
        exec(compile(path.read_text(), str(path), "exec"), {})
    message = str(import_error("tasks/task.py", path, info.value))
    assert message.startswith("tasks/task.py:3: JSONDecodeError: ")
    assert message.endswith("(while importing the task module)")


def test_an_exception_without_a_traceback_names_the_module_alone(tmp_path: Path) -> None:
    message = str(import_error("task.py", tmp_path / "task.py", KeyError("x")))
    assert message == "task.py: KeyError: 'x' (while importing the task module)"


class Good(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None:
        return None

    def score(self, workdir: Path) -> dict[str, float]:
        return {}


def _module(**names: object) -> types.ModuleType:
    mod = types.ModuleType("task")
    vars(mod).update(names)
    return mod


def test_task_objects_are_instances_and_subclasses_but_not_task_or_private_names() -> None:
    mod = _module(Task=Task, Good=Good, task=Good(), _hidden=Good(), other=3)
    assert task_objects(mod) == ["Good", "task"]


def test_a_missing_task_object_lists_the_ones_the_module_defines() -> None:
    error = missing_object("task.py", _module(Good=Good, task=Good()), "tsk")
    assert str(error) == (
        "task.py: defines no 'tsk' (the name in [task] object); task objects it defines: Good, task"
    )


def test_an_object_that_is_not_a_task_is_named_as_such() -> None:
    error = missing_object("task.py", _module(other=3), "other", found=3)
    assert str(error) == (
        "task.py: 'other' is not an evoforge.tasks.Task instance or subclass (the name in "
        "[task] object); it defines no Task instance or subclass"
    )
