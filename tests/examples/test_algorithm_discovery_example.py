"""The algorithm-discovery example, run as a user runs it: the CLI, a real sandbox."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from experiment_helpers import set_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "algorithm-discovery"
EVOFORGE = [sys.executable, "-m", "evoforge.cli"]


def cli(*args: str) -> str:
    proc = subprocess.run([*EVOFORGE, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def rows(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def copy_example(folder: Path) -> Path:
    exp = folder / "exp"
    shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    return exp


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    exp = copy_example(tmp_path_factory.mktemp("ad"))
    set_config(exp, "islands = 2", "islands = 1\nmax_algorithms = 6000")
    set_config(exp, "candidates = 300", "candidates = 8")
    out = cli("run", str(exp))
    return Path(rows(out)["run"]), out


def test_the_run_records_what_the_search_found(finished: tuple[Path, str]) -> None:
    run, out = finished
    db = sqlite3.connect(run / "archive.sqlite")
    proposers = {r[0] for r in db.execute("SELECT proposer FROM candidates")}
    assert proposers == {"seed", "automl"}
    # the search scored thousands of algorithms; the archive keeps a handful
    (count,) = db.execute("SELECT COUNT(*) FROM candidates").fetchone()
    assert 2 <= count <= 9
    assert "search" in out and "algorithms" in out  # the search's progress was shown
    status = rows(cli("status", str(run)))
    assert int(status["search_algorithms"].split()[0].replace(",", "")) >= 1000
    assert int(status["search_improvements"].split()[0]) >= 1
    assert status["search_state"] in ("budget", "stopped")  # saved when the run ended


def test_show_prints_the_discovered_algorithm(finished: tuple[Path, str]) -> None:
    run, _ = finished
    db = sqlite3.connect(run / "archive.sqlite")
    (found,) = db.execute("SELECT MAX(id) FROM candidates WHERE proposer = 'automl'").fetchone()
    shown = cli("show", str(run), str(found))
    assert "evolve block" in shown
    assert "def predict(s, v, m, rng):" in shown and "def learn(s, v, m, rng):" in shown
    assert "search_fitness: " in shown
    assert "def predict_task" not in shown  # the frame is not repeated
    whole = cli("show", str(run), str(found), "--code")
    assert "def predict_task" in whole


@pytest.mark.slow
def test_the_example_rediscovers_linear_regression(tmp_path: Path) -> None:
    # The example as shipped (two islands): the search reaches its target and the
    # champion, scored in the sandbox on unseen tasks, is linear regression by SGD.
    out = cli("run", str(copy_example(tmp_path)))
    summary = rows(out)
    assert "target reached" in summary["state"], out[-2000:]
    assert float(summary["champion_val_fitness"]) > 0.9999
    assert float(summary["champion_test_fitness"].split()[0]) > 0.9999
    best = cli("best", summary["run"])
    assert "np.dot(" in best and "def learn(s, v, m, rng):" in best
