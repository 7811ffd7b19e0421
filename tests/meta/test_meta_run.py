import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evoforge.cli import app
from evoforge.governance.audit import verify
from evoforge.meta.metarun import MetaSettings, compare
from evoforge.meta.metatask import MetaTask
from evoforge.policy import check_policy, default_policy_source
from evoforge.tasks import OutputError


def test_a_short_meta_run_from_the_cli_completes_and_is_audited(tmp_path: Path) -> None:
    out = tmp_path / "meta"
    args = ["meta", "--out", str(out), "--train", "tiny", "--heldout", "tiny-heldout",
            "--candidates", "4", "--inner", "8", "--seeds", "1", "--accept-seeds", "1",
            "--workers", "1", "--sandbox", "process"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "accepted: " in result.output
    record = json.loads((out / "meta-result.json").read_text())
    run = Path(record["run"])
    report = verify(run / "audit.jsonl")
    assert report.ok
    events = [json.loads(line)["event"] for line in (run / "audit.jsonl").read_text().splitlines()]
    assert events[0] == "run_start" and events[-1] == "meta_acceptance"
    assert (out / "policy.py").exists() == record["accepted"]
    if record["accepted"]:
        assert check_policy((out / "policy.py").read_text()) == []


def test_acceptance_compares_both_policies_on_the_same_heldout_searches() -> None:
    settings = MetaSettings(heldout="tiny-heldout", inner=8, accept_seeds=2, layers="process")
    default = default_policy_source()
    same = compare(default, default, settings, tables={})
    assert same.default == same.evolved and not same.wins
    crashing = default.replace("ADAPT = 0.0", "ADAPT = 0.0\nraise SystemExit(1)")
    lost = compare(default, crashing, settings, tables={})
    assert lost.evolved == 0.0 and not lost.wins


def test_a_failing_policy_fails_as_a_meta_candidate(tmp_path: Path) -> None:
    tables = tmp_path / "tables.json"
    tables.write_text("{}")
    task = MetaTask(tasks="tiny", tables=tables, seeds=[0], candidates=8, layers="process")
    work = tmp_path / "work"
    work.mkdir()
    good = default_policy_source()
    (work / "policy.py").write_text(good)
    task.prepare(work, seed=0)
    (work / "policy.py").write_text("swapped after prepare: never used")
    assert 0.0 <= task.score(work)["efficiency"] <= 1.0
    (work / "policy.py").write_text(good.replace('"sigma": SIGMA', '"sigma": -1'))
    task.prepare(work, seed=0)
    with pytest.raises(OutputError, match="sigma"):
        task.score(work)
