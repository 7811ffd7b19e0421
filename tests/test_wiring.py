import re
from pathlib import Path

import pytest

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.config import ConfigError
from evoforge.policy import default_policy_source
from evoforge.summary import run_summary


def _configure(exp: Path, extra: str) -> None:
    toml = exp / "evoforge.toml"
    text = re.sub(r"candidates = \d+", "candidates = 8", toml.read_text())
    text = text.replace("workers = 2", 'workers = 1\nexecutor = "inline"')
    toml.write_text(text + '\n[sandbox]\nlayers = "process"\n' + extra)


def test_a_policy_file_selected_in_a_config_runs_the_experiment(minimal_experiment: Path) -> None:
    policy = default_policy_source().replace("POPULATION = 20", "POPULATION = 6")
    (minimal_experiment / "my_policy.py").write_text(policy)
    _configure(minimal_experiment, '\n[selection]\npolicy = "my_policy.py"\n')
    outcome = session.start(minimal_experiment)
    assert outcome.reason == "finished" and outcome.stats.evaluated == 8
    archive = SQLiteArchive(outcome.run.archive)
    assert "my_policy.py" in archive.get_meta("task_hashes")  # a changed policy stops a resume
    rows = dict(run_summary(archive, run_path=str(outcome.run.path)))
    assert any(k.startswith("operator_") for k in rows)


def test_an_unchecked_policy_file_is_refused(minimal_experiment: Path) -> None:
    bad = default_policy_source().replace("def select(", "import os\n\n\ndef select(")
    (minimal_experiment / "bad.py").write_text(bad)
    _configure(minimal_experiment, '\n[selection]\npolicy = "bad.py"\n')
    with pytest.raises(ConfigError, match="not a usable policy"):
        session.start(minimal_experiment)


def test_adapt_without_the_mutator_is_a_config_error(minimal_experiment: Path) -> None:
    text = (minimal_experiment / "evoforge.toml").read_text()
    text = text.replace('kind = "mutate"', 'kind = "optuna"\nadapt = true')
    (minimal_experiment / "evoforge.toml").write_text(text)
    with pytest.raises(ConfigError, match="adapt"):
        session.start(minimal_experiment)
