"""OpenEvolve folders: converted, run end to end in compatibility mode, config keys mapped."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from evoforge.compat import COMPAT_MODE, OpenEvolveError, OpenEvolveTask, import_openevolve
from evoforge.config import load_config
from evoforge.tasks import OutputError

EVOFORGE = [sys.executable, "-m", "evoforge.cli"]

PROGRAM = '''"""Find a point close to (1.5, 1.0)."""

# EVOLVE-BLOCK-START
def solve():
    x = 0.5
    y = 2.0
    return x, y
# EVOLVE-BLOCK-END


def run_search():
    return solve()
'''

EVALUATOR = """import importlib.util

from openevolve.evaluation_result import EvaluationResult


def _point(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run_search()


def evaluate(program_path):
    x, y = _point(program_path)
    distance = ((x - 1.5) ** 2 + (y - 1.0) ** 2) ** 0.5
    return {"combined_score": 1.0 / (1.0 + distance), "distance": distance, "note": "text"}


def evaluate_stage1(program_path):
    x, _ = _point(program_path)
    return EvaluationResult(metrics={"x_ok": float(x > 1.0)}, artifacts={"why": "stage 1"})


def evaluate_stage2(program_path):
    return {"stage2": 1.0}
"""

CONFIG = """\
max_iterations: 6
random_seed: 3
log_level: INFO
checkpoint_interval: 10
llm:
  api_base: "http://127.0.0.1:9/v1"
  api_key: "${MY_KEY}"
  models:
    - name: "some-model"
      weight: 2.0
  temperature: 0.5
  max_tokens: 1000
prompt:
  system_message: "You are an expert"
database:
  population_size: 10
  num_islands: 1
  elite_selection_ratio: 0.2
evaluator:
  timeout: 20
  parallel_evaluations: 2
  cascade_evaluation: false
  cascade_thresholds: [0.5]
"""


def write_folder(root: Path, *, config: str = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "initial_program.py").write_text(PROGRAM)
    (root / "evaluator.py").write_text(EVALUATOR)
    (root / "data.json").write_text("[1, 2, 3]")
    (root / "config.yaml").write_text(config)
    return root


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EVOFORGE, *args], capture_output=True, text=True, timeout=180)


def test_an_openevolve_folder_runs_end_to_end_in_recorded_compatibility_mode(
    tmp_path: Path,
) -> None:
    source = write_folder(tmp_path / "oe")
    dest = tmp_path / "converted"
    made = cli("init", str(dest), "--from-openevolve", str(source), "--no-llm")
    assert made.returncode == 0, made.stderr
    assert "mapped: max_iterations -> budget.candidates = 6" in made.stdout
    with (dest / "evoforge.toml").open("a") as fh:
        fh.write('\n[sandbox]\nlayers = "process"\n')
    ran = cli("run", str(dest))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"warning: compatibility mode: {COMPAT_MODE}" in ran.stderr
    run = next((dest / "runs").iterdir())
    db = sqlite3.connect(f"file:{run / 'archive.sqlite'}?mode=ro", uri=True)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert json.loads(meta["compat_mode"]) == COMPAT_MODE
    rows = db.execute(
        "SELECT status, metrics FROM candidates WHERE status IN ('succeeded', 'failed')"
    ).fetchall()
    db.close()
    assert len(rows) == 6 and all(status == "succeeded" for status, _ in rows)
    seed = json.loads(rows[0][1])
    assert seed == pytest.approx({"combined_score": 1 / (1 + 2**0.5), "distance": 2**0.5})
    start = json.loads((run / "audit.jsonl").read_text().splitlines()[0])
    assert start["event"] == "run_start" and start["data"]["compat_mode"] == COMPAT_MODE


def test_config_keys_are_mapped_ignored_or_listed(tmp_path: Path) -> None:
    imported = import_openevolve(write_folder(tmp_path / "oe"))
    dest = tmp_path / "oe" / "evoforge-experiment"
    assert imported.experiment == dest
    config = load_config(dest)
    assert (config.budget.candidates, config.experiment.seed) == (6, 3)
    assert (config.limits.wall_seconds, config.run.workers) == (20, 2)
    assert (config.selection.population, config.selection.islands) == (10, 1)
    assert config.task.objective == "combined_score" and not config.task.heldout
    assert config.proposer.kind == "llm" and config.proposer.llm is not None
    model = config.proposer.llm.models[0]
    assert (model.name, model.base_url, model.api_key_env, model.weight) == (
        "some-model", "http://127.0.0.1:9/v1", "MY_KEY", 2.0,
    )  # fmt: skip
    assert (config.proposer.llm.temperature, config.proposer.llm.max_output_tokens) == (0.5, 1000)
    assert set(imported.ignored) >= {"log_level", "prompt", "database.elite_selection_ratio"}
    assert (dest / "openevolve" / "evaluator.py").is_file()
    assert (dest / "openevolve" / "data.json").is_file()
    assert not (dest / "openevolve" / "initial_program.py").exists()
    assert "ignored: prompt" in (dest / "openevolve-import.txt").read_text()
    # importing again replaces the generated files (an earlier import is recognised)
    assert import_openevolve(tmp_path / "oe", use_llm=False).experiment == dest
    assert load_config(dest).proposer.kind == "mutate"


def test_unknown_keys_are_all_listed_in_one_error(tmp_path: Path) -> None:
    typos = CONFIG + "max_iteration: 5\nmystery: {a: 1}\n"
    typos = typos.replace("  num_islands: 1", "  num_islands: 1\n  popsize: 3")
    typos = typos.replace("  temperature: 0.5", "  temprature: 0.5")
    source = write_folder(tmp_path / "oe", config=typos)
    with pytest.raises(OpenEvolveError) as err:
        import_openevolve(source)
    message = str(err.value)
    for key in ("max_iteration", "mystery", "database.popsize", "llm.temprature"):
        assert key in message
    assert "--allow-unknown-keys" in message
    assert not (source / "evoforge-experiment").exists()
    imported = import_openevolve(source, allow_unknown=True)
    assert sorted(imported.unknown) == [
        "database.popsize", "llm.temprature", "max_iteration", "mystery",
    ]  # fmt: skip
    assert "unknown: mystery (not an OpenEvolve key; ignored)" in imported.report()
    refused = cli("init", str(tmp_path / "x"), "--from-openevolve", str(source))
    assert refused.returncode == 2 and "max_iteration" in refused.stderr


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda d: (d / "evaluator.py").unlink(), "no evaluator.py"),
        (lambda d: (d / "initial_program.py").write_text("x = 1\n"), "no '# EVOLVE-BLOCK-START'"),
        (lambda d: (d / "config.yaml").write_text("a: [1,\n"), "not valid YAML"),
        (lambda d: (d / "config.yaml").write_text("- 1\n"), "must be a mapping"),
        (lambda d: (d / "config.yaml").write_text("max_iterations: many\n"), "must be an integer"),
    ],
)
def test_broken_folders_are_refused_with_the_file_and_why(
    tmp_path: Path, change: object, error: str
) -> None:
    source = write_folder(tmp_path / "oe")
    change(source)  # type: ignore[operator]
    with pytest.raises(OpenEvolveError, match=error):
        import_openevolve(source)


def test_a_foreign_non_empty_destination_is_not_overwritten(tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(OpenEvolveError, match="not an earlier import"):
        import_openevolve(write_folder(tmp_path / "oe"), dest)
    assert (dest / "notes.txt").read_text() == "keep me"


def run_runner(tmp_path: Path, task: OpenEvolveTask, x: float) -> dict[str, float]:
    work = tmp_path / f"work-{x}"
    work.mkdir()
    (work / "initial_program.py").write_text(PROGRAM.replace("x = 0.5", f"x = {x}"))
    task.prepare(work, seed=0)
    proc = subprocess.run(
        [sys.executable, "_evoforge_openevolve_runner.py"], cwd=work, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return dict(task.score(work))


def test_cascade_stages_stop_below_their_threshold(tmp_path: Path) -> None:
    folder = import_openevolve(write_folder(tmp_path / "oe"), use_llm=False).experiment
    source = folder / "openevolve"  # what a candidate's scratch folder receives
    task = OpenEvolveTask(source, cascade=True, thresholds=[0.5])
    assert run_runner(tmp_path, task, 0.5) == {"x_ok": 0.0, "combined_score": 0.0}
    assert run_runner(tmp_path, task, 2.0) == {"x_ok": 1.0, "stage2": 1.0, "combined_score": 1.0}
    plain = OpenEvolveTask(source, cascade=False, thresholds=[])
    assert set(run_runner(tmp_path, plain, 1.5)) == {"combined_score", "distance"}
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "_evoforge_openevolve_metrics.json").write_text('{"metrics": {}}')
    with pytest.raises(OutputError, match="no numeric metric"):
        plain.score(empty)
