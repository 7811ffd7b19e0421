"""The runner with real processes: prepare, run, score, and every way a candidate can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.candidate import Evaluation, unpack_examples
from evoforge.runner import TASK_ERROR, Job, RunContext, evaluate
from evoforge.sandbox._base import Limits

WRITE = 'import json\njson.dump({payload}, open("predictions.json", "w"))\n'
GOOD = "[x for x in json.load(open('inputs.json'))['{split}']]"


def ctx_for(exp: Path, tmp_path: Path, **limits: float) -> RunContext:
    return RunContext(
        experiment=exp,
        task_module="task.py",
        task_object="task",
        command=("{python}", "program.py"),
        limits=Limits(**limits),  # type: ignore[arg-type]
        heldout=("heldout_neg_mse",),
        scratch_root=tmp_path / "scratch",
        active_dir=tmp_path / "active",
        sandbox_layers="process",
    )


def run_program(exp: Path, tmp_path: Path, source: str, **limits: float) -> Evaluation:
    (tmp_path / "active").mkdir(exist_ok=True)
    return evaluate(ctx_for(exp, tmp_path, **limits), Job(1, {"program.py": source}, 1, 0))


def test_seed_program_is_scored_and_heldout_split_off(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    seed = (minimal_experiment / "program.py").read_text()
    ev = run_program(minimal_experiment, tmp_path, seed)
    assert ev.ok, ev.failure
    assert set(ev.metrics) == {"neg_mse"}
    assert set(ev.heldout) == {"heldout_neg_mse"}
    assert ev.run is not None and ev.run.exit_code == 0
    assert not list((tmp_path / "scratch").iterdir())  # scratch removed after scoring
    assert not list((tmp_path / "active").iterdir())  # pid file removed


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("pass\n", "malformed output: predictions.json: the candidate did not write this output"),
        (
            "open('predictions.json', 'w').write('{not json')\n",
            "malformed output: predictions.json: not valid JSON",
        ),
        (WRITE.format(payload='{"search": [1.0], "heldout": []}'), "must be a list of 17 numbers"),
        (WRITE.format(payload='{"search": ["a"] * 17, "heldout": [0.0] * 16}'), "not a number"),
        ("import os\nos.symlink('/etc/passwd', 'predictions.json')\n", "links are not followed"),
        ("raise SystemExit('bad candidate')\n", "exit code 1: bad candidate"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "killed by signal 9"),
    ],
)
def test_malformed_outputs_give_a_clear_failure(
    minimal_experiment: Path, tmp_path: Path, source: str, reason: str
) -> None:
    ev = run_program(minimal_experiment, tmp_path, source)
    assert not ev.ok
    assert reason in ev.failure


def test_nan_prediction_is_a_non_finite_metric(minimal_experiment: Path, tmp_path: Path) -> None:
    nan = WRITE.format(payload='{"search": [float("nan")] * 17, "heldout": [0.0] * 16}')
    ev = run_program(minimal_experiment, tmp_path, nan)
    assert not ev.ok and "non-finite metric: neg_mse" in ev.failure


def test_timeout_kills_and_says_so(minimal_experiment: Path, tmp_path: Path) -> None:
    ev = run_program(
        minimal_experiment,
        tmp_path,
        "import time\nprint('working', flush=True)\ntime.sleep(30)\n",
        wall_seconds=1.0,
    )
    assert not ev.ok and "timed out after" in ev.failure
    assert ev.run is not None and ev.run.wall_s < 5
    assert "working" in ev.run.stdout_tail


def test_candidate_sees_no_driver_secrets(
    minimal_experiment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    leak = "import os, sys\nprint(sorted(os.environ))\nsys.exit(3 if 'OPENAI_API_KEY' in os.environ else 4)\n"
    ev = run_program(minimal_experiment, tmp_path, leak)
    assert ev.run is not None
    assert ev.run.exit_code == 4, ev.run.stdout_tail
    assert "EVOFORGE_SEED" in ev.run.stdout_tail


def test_stdout_is_capped(minimal_experiment: Path, tmp_path: Path) -> None:
    flood = "import sys\nfor _ in range(20000): sys.stdout.write('x' * 100 + '\\n')\n"
    (tmp_path / "active").mkdir()
    ctx = ctx_for(minimal_experiment, tmp_path)
    ev = evaluate(ctx, Job(1, {"program.py": flood}, 1, 0))
    assert ev.run is not None
    assert len(ev.run.stdout_tail) < ctx.limits.output_bytes + 200
    assert "earlier bytes dropped" in ev.run.stdout_tail


BROKEN_TASK = """\
from pathlib import Path

from evoforge.tasks import Task


class Broken(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None:
        if seed == 13:
            raise OSError("data folder missing")

    def score(self, workdir: Path) -> dict[str, float]:
        return {"neg_mse": _lookup({}, "val_auc")}


def _lookup(table: dict[str, float], key: str) -> float:
    return table[key]


task = Broken()
"""


def test_an_exception_in_task_score_is_a_task_error_naming_type_message_and_line(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    (minimal_experiment / "task.py").write_text(BROKEN_TASK)
    ev = run_program(minimal_experiment, tmp_path, "pass\n")
    message, _, tb = ev.failure.partition("\n")
    assert message == "task.score raised KeyError: 'val_auc' (task.py:16)"  # inside _lookup
    assert ev.flags == (TASK_ERROR,) and not ev.ok
    assert tb.startswith("Traceback") and 'task.py", line 16, in _lookup' in tb


def test_an_exception_in_task_prepare_is_a_task_error(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    (minimal_experiment / "task.py").write_text(BROKEN_TASK)
    (tmp_path / "active").mkdir()
    ev = evaluate(ctx_for(minimal_experiment, tmp_path), Job(1, {"program.py": "pass\n"}, 1, 13))
    assert ev.failure.startswith("task.prepare raised OSError: data folder missing (task.py:9)")
    assert ev.flags == (TASK_ERROR,) and ev.run is None  # the candidate never ran


def test_per_example_scores_of_search_metrics_come_with_the_evaluation(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    seed = (minimal_experiment / "program.py").read_text()
    ev = run_program(minimal_experiment, tmp_path, seed)
    assert ev.ok, ev.failure
    examples = unpack_examples(ev.examples)
    assert set(examples) == {"neg_mse"}  # one per search point; never a held-out metric's
    assert len(examples["neg_mse"]) == 17
    assert sum(examples["neg_mse"]) / 17 == pytest.approx(ev.metrics["neg_mse"], rel=1e-5)


def test_malformed_per_example_scores_are_a_task_error(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    task = minimal_experiment / "task.py"
    task.write_text(
        task.read_text()
        + "\n\nclass NaNExamples(CurveTask):\n"
        + "    def example_scores(self, workdir):\n"
        + "        return {'neg_mse': [float('nan')]}\n\n\ntask = NaNExamples()\n"
    )
    seed = (minimal_experiment / "program.py").read_text()
    ev = run_program(minimal_experiment, tmp_path, seed)
    assert not ev.ok and TASK_ERROR in ev.flags
    assert ev.failure == "task.example_scores: 'neg_mse' must be a non-empty list of finite numbers"
