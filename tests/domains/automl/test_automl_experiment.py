"""The algorithm-discovery experiment's trusted side: seed module, task, scoring."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evoforge.domains.automl import Interpreter, Program, linear_regression_sgd, make_tasks
from evoforge.domains.automl.experiment import (
    AlgorithmTask,
    preset_config,
    render_for,
    seed_module,
)
from evoforge.program import blocks_of, frame_violations
from evoforge.tasks import OutputError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "algorithm-discovery"


def _run_candidate(
    source: str, task: AlgorithmTask, folder: Path, seed: int = 0
) -> dict[str, float]:
    (folder / "algorithm.py").write_text(source)
    task.prepare(folder, seed=seed)
    subprocess.run(
        [sys.executable, "algorithm.py", "--predict"], cwd=folder, check=True, timeout=120
    )
    return dict(task.score(folder))


def test_the_example_ships_the_linear_seed_module() -> None:
    assert (EXAMPLE / "algorithm.py").read_text() == seed_module("linear")


@pytest.mark.parametrize("preset", ["linear", "nonlinear", "digits"])
def test_every_rendered_algorithm_is_an_edit_of_the_seed_module(preset: str) -> None:
    config = preset_config(preset)
    seed = {"algorithm.py": seed_module(preset)}
    child = {"algorithm.py": render_for(linear_regression_sgd(), config)}
    assert frame_violations(seed, child) == []
    (block,) = blocks_of("algorithm.py", child["algorithm.py"])
    assert "def setup" in block.text and "def learn" in block.text
    assert "np.dot(" in block.text


@pytest.mark.parametrize("preset", ["linear", "nonlinear", "digits"])
def test_the_task_reproduces_the_interpreters_scores(preset: str, tmp_path: Path) -> None:
    # The score of the module run as a candidate (predictions written, labels
    # never shown) equals the interpreter's fitness on the same task sets.
    config = preset_config(preset)
    program = linear_regression_sgd(0.5 if preset == "digits" else 0.01)
    memory = config.space.memory
    assert config.select_tasks is not None and config.unseen_tasks is not None
    expected = {
        "val_fitness": Interpreter(make_tasks(config.select_tasks), memory).fitness(program),
        "test_fitness": Interpreter(make_tasks(config.unseen_tasks), memory).fitness(program),
    }
    # a real learner, not a trivial score: above the empty program (predicts 0)
    empty = Interpreter(make_tasks(config.select_tasks), memory).fitness(Program.build())
    assert expected["val_fitness"] > empty + 0.05
    scores = _run_candidate(render_for(program, config), AlgorithmTask(preset), tmp_path)
    assert scores == pytest.approx(expected, abs=1e-9)
    inputs = np.load(tmp_path / "val_inputs.npz")
    assert "valid_y" not in inputs.files


def test_rerun_seeds_draw_other_validation_tasks() -> None:
    task = AlgorithmTask("linear")
    first, other = task.suites(0), task.suites(1)
    assert not np.array_equal(first["val"].valid_y, other["val"].valid_y)
    assert np.array_equal(first["test"].valid_y, other["test"].valid_y)


def test_a_diverged_task_scores_zero_and_garbage_is_refused(tmp_path: Path) -> None:
    task = AlgorithmTask("linear")
    task.prepare(tmp_path, seed=0)
    suites = task.suites(0)
    for name, suite in suites.items():
        pred = suite.valid_y.copy()  # perfect predictions...
        pred[0] = np.nan  # ...but the first task diverged
        np.save(tmp_path / f"{name}_pred.npy", pred)
    scores = task.score(tmp_path)
    n = suites["val"].n_tasks
    assert scores["val_fitness"] == pytest.approx((n - 1) / n)
    task.prepare(tmp_path, seed=0)
    np.save(tmp_path / "val_pred.npy", np.zeros((3, 3)))
    with pytest.raises(OutputError, match=r"val_pred\.npy"):
        task.score(tmp_path)


def test_the_empty_seed_is_a_weak_baseline(tmp_path: Path) -> None:
    scores = _run_candidate(seed_module("linear"), AlgorithmTask("linear"), tmp_path)
    assert 0.2 < scores["val_fitness"] < 0.5  # predicts 0: far from the labels


def test_digits_hides_the_labelled_data_set() -> None:
    (path,) = AlgorithmTask("digits").hidden_paths()
    assert path.name == "digits.csv.gz" and path.is_file()
    assert AlgorithmTask("linear").hidden_paths() == []
    with pytest.raises(ValueError, match="unknown preset"):
        AlgorithmTask("images")


def test_seed_module_is_the_empty_program() -> None:
    assert seed_module("linear") == render_for(Program.build(), preset_config("linear"))


def test_the_seed_module_command_refuses_a_bad_preset_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evoforge.domains.automl.experiment import main

    assert main(["nonlinear"]) == 0
    assert capsys.readouterr().out == seed_module("nonlinear")
    assert main(["bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown preset 'bogus'") and "Traceback" not in err
    assert main(["--help"]) == 2 and "usage:" in capsys.readouterr().err
