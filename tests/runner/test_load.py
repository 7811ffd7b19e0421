"""Loading the task module: every way it fails is a one-line ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.config import ConfigError
from evoforge.runner import load_task

LOAD_ERRORS = {
    "syntax": (
        lambda text: text.replace("import json\n", "import json\ndef broken(:\n"),
        "task.py:4: SyntaxError: invalid syntax",
    ),
    "import": (
        lambda text: text.replace("import json\n", "import json\nimport no_such_module_x\n"),
        "task.py:4: ModuleNotFoundError: No module named 'no_such_module_x' "
        "(while importing the task module)",
    ),
    "raises": (
        lambda text: text + "\nraise RuntimeError('no data')\n",
        "(while importing the task module)",
    ),
    "not a task": (
        lambda text: text + "\nnot_task = 3\n",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(LOAD_ERRORS))
def test_task_module_errors_are_one_line_config_errors(minimal_experiment: Path, case: str) -> None:
    edit, message = LOAD_ERRORS[case]
    task = minimal_experiment / "task.py"
    task.write_text(edit(task.read_text()))
    obj = "not_task" if case == "not a task" else "task"
    with pytest.raises(ConfigError) as info:
        load_task(minimal_experiment, "task.py", obj)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    if case == "not a task":
        assert text == (
            "task.py: 'not_task' is not an evoforge.tasks.Task instance or subclass (the name "
            "in [task] object); task objects it defines: CurveTask, task"
        )
    elif case == "raises":
        line = len(task.read_text().splitlines())
        assert text == f"task.py:{line}: RuntimeError: no data {message}"
    else:
        assert text == message


def test_a_mistyped_task_object_lists_the_task_objects_the_module_defines(
    minimal_experiment: Path,
) -> None:
    with pytest.raises(ConfigError) as info:
        load_task(minimal_experiment, "task.py", "tsak")
    assert str(info.value) == (
        "task.py: defines no 'tsak' (the name in [task] object); "
        "task objects it defines: CurveTask, task"
    )
