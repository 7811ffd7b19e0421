"""The runner in the sandbox: calls the user's evaluator on the candidate and writes only
its finite numbers, with combined_score the mean when the evaluator gives none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evoforge.compat.openevolve_runner import METRICS, PROGRAM, RUNNER, runner_script


def run(tmp_path: Path, evaluator: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / PROGRAM).write_text("X = 2.0\n")
    (tmp_path / "evaluator.py").write_text(evaluator)
    (tmp_path / RUNNER).write_text(runner_script(cascade=False, thresholds=[]))
    return subprocess.run(
        [sys.executable, RUNNER], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )


def metrics(tmp_path: Path) -> dict[str, float]:
    written: dict[str, float] = json.loads((tmp_path / METRICS).read_text())["metrics"]
    return written


def test_only_finite_numbers_are_kept_and_combined_score_is_their_mean(tmp_path: Path) -> None:
    proc = run(tmp_path, "def evaluate(path):\n    return {'a': 1, 'b': 2.0, 'nan': float('nan'),"
                         " 'flag': True, 'text': 'x'}\n")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert metrics(tmp_path) == {"a": 1.0, "b": 2.0, "combined_score": 1.5}


def test_the_evaluator_gets_the_candidate_program_and_may_return_an_evaluation_result(
    tmp_path: Path,
) -> None:
    evaluator = (
        "import runpy\n"
        "from openevolve.evaluation_result import EvaluationResult\n"
        "def evaluate(path):\n"
        "    x = runpy.run_path(path)['X']\n"
        "    return EvaluationResult(metrics={'combined_score': x}, artifacts={'a': 1})\n"
    )
    proc = run(tmp_path, evaluator)
    assert proc.returncode == 0, proc.stderr
    assert metrics(tmp_path) == {"combined_score": 2.0}


def test_an_evaluator_returning_no_mapping_fails_the_candidate_with_why(tmp_path: Path) -> None:
    proc = run(tmp_path, "def evaluate(path):\n    return 0.5\n")
    assert proc.returncode == 1
    assert "evaluate() returned float, not a dict of metrics" in proc.stderr
    assert not (tmp_path / METRICS).exists()


def test_the_settings_are_embedded_as_data() -> None:
    script = runner_script(cascade=True, thresholds=[0.25, 1.0])
    assert 'SETTINGS = json.loads(\'{"cascade": true, "thresholds": [0.25, 1.0]}\')' in script
    compile(script, RUNNER, "exec")
