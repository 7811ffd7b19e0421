"""``evoforge export`` of a recorded candidate: program, inputs, kept artifacts, note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evoforge
from evoforge.config import ConfigError
from evoforge.export import export_candidate
from evoforge.governance.rundir import RunDir

from experiment_helpers import set_config


@pytest.fixture
def finished_run(minimal_experiment: Path) -> RunDir:
    exp = minimal_experiment
    set_config(exp, "candidates = 40", "candidates = 6")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    program = exp / "program.py"
    program.write_text(program.read_text() + '\nopen("kept.txt", "w").write(repr((A, B, C)))\n')
    set_config(exp, 'command = ["{python}", "program.py"]\n',
               'command = ["{python}", "program.py"]\nartifacts = ["kept.txt"]\n')  # fmt: skip
    return RunDir(evoforge.run(exp, progress=False).path)


def test_the_champion_exports_with_its_artifact_and_a_loser_without(
    finished_run: RunDir, tmp_path: Path
) -> None:
    run = evoforge.open_run(finished_run.path)
    champ = run.champion()
    assert champ is not None
    out = export_candidate(finished_run, tmp_path / "champ")
    note = json.loads((out / "candidate.json").read_text())
    assert note["candidate"] == champ.id and note["champion"] is True
    assert note["artifacts"]["kept.txt"]["kept"] is True
    assert (out / "kept.txt").read_text() == repr(tuple(champ.params[k] for k in "ABC"))
    assert (out / "inputs.json").is_file()  # the task's public inputs: it runs there
    assert "labels" not in (out / "inputs.json").read_text()
    losers = [r for r in run.candidates() if not r.promoted and r.status == "succeeded"]
    assert losers, "every candidate of the run improved: no loser to export"
    lost = export_candidate(finished_run, tmp_path / "loser", losers[0].id, inputs=False)
    note = json.loads((lost / "candidate.json").read_text())
    assert note["artifacts"]["kept.txt"]["kept"] is False and not (lost / "kept.txt").exists()
    assert not (lost / "inputs.json").exists()


def test_export_refuses_a_folder_with_files(finished_run: RunDir, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("mine")
    with pytest.raises(ConfigError, match="not an empty folder"):
        export_candidate(finished_run, tmp_path / "busy")
