"""``evoforge meta``: the meta experiment it writes, a short real meta-run from the CLI,
the held-out comparison, and the acceptance record (the policy written only when it wins)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evoforge.archive import MemoryArchive
from evoforge.cli import app
from evoforge.config import Direction, load_config
from evoforge.governance.audit import AuditLog
from evoforge.governance.audit_verify import verify
from evoforge.governance.run_audit import Audit
from evoforge.meta.harness import LaneResult
from evoforge.meta.metarun import (
    RESULT_FILE,
    Comparison,
    MetaOutcome,
    MetaSettings,
    _finish,
    build_experiment,
    compare,
    paired_se,
    sandbox_for,
)
from evoforge.meta.metatask import MetaTask
from evoforge.policy import PolicyError, check_policy, default_policy_source
from evoforge.sandbox import ProcessSandbox


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


SETTINGS = MetaSettings(train="tiny", candidates=7, inner=9, batch=3, seeds=2, workers=1,
                        layers="process")  # fmt: skip


def test_the_meta_experiment_is_the_policy_its_trusted_task_and_the_budgets(
    tmp_path: Path,
) -> None:
    logs: list[str] = []
    exp = build_experiment(tmp_path / "out", SETTINGS, log=logs.append)
    assert exp == tmp_path / "out" / "experiment"
    assert (exp / "policy.py").read_text() == default_policy_source()
    assert logs == ["building the tables of the training tasks (tiny) ..."]
    assert json.loads((exp / "tables.json").read_text()) == {}
    config = load_config(exp)
    assert config.program.files == ["policy.py"]
    assert config.program.command[-2:] == ["policy.py", "--check"]
    assert (config.task.objective, config.task.direction) == ("efficiency", Direction.MAXIMIZE)
    assert (config.budget.candidates, config.run.workers) == (7, 1)
    assert config.promotion.reruns == 0 and config.sandbox.layers == "process"
    task = runpy.run_path(str(exp / "task.py"))["task"]
    assert isinstance(task, MetaTask)
    assert (task.tasks, task.seeds, task.candidates, task.batch) == ("tiny", (0, 1), 9, 3)
    assert task.tables == exp / "tables.json" and task.layers == "process"


def test_a_second_build_keeps_its_tables_and_starts_from_the_given_policy(tmp_path: Path) -> None:
    build_experiment(tmp_path, SETTINGS, log=lambda _: None)
    tables = tmp_path / "experiment" / "tables.json"
    tables.write_text('{"kept": {"a": 1.0}}')
    start = tmp_path / "start.py"
    start.write_text(default_policy_source().replace("ADAPT = 0.0", "ADAPT = 1.5"))
    logs: list[str] = []
    exp = build_experiment(tmp_path, MetaSettings(train="tiny", start_from=start), log=logs.append)
    assert logs == [] and tables.read_text() == '{"kept": {"a": 1.0}}'
    assert "ADAPT = 1.5" in (exp / "policy.py").read_text()


def test_a_start_policy_that_fails_its_check_is_refused(tmp_path: Path) -> None:
    start = tmp_path / "start.py"
    start.write_text(default_policy_source() + "\nimport os\n")
    with pytest.raises(PolicyError, match="not a usable policy"):
        build_experiment(tmp_path, MetaSettings(start_from=start), log=lambda _: None)


def test_any_layers_but_process_leave_the_sandbox_to_auto(tmp_path: Path) -> None:
    exp = build_experiment(
        tmp_path, MetaSettings(train="tiny", layers="landlock"), log=lambda _: None
    )
    assert 'layers = "auto"' in (exp / "evoforge.toml").read_text()
    assert isinstance(sandbox_for(SETTINGS), ProcessSandbox)


def test_the_evolved_policy_wins_only_when_strictly_better() -> None:
    assert Comparison(default=0.5, evolved=0.51).wins
    assert not Comparison(default=0.5, evolved=0.5).wins
    assert not Comparison(default=0.5, evolved=0.2).wins


def test_a_win_within_the_noise_of_the_paired_difference_is_refused() -> None:
    assert not Comparison(default=0.5, evolved=0.51, se=0.01).wins  # 1 se: luck
    assert Comparison(default=0.5, evolved=0.52, se=0.01).wins  # 2 se > ACCEPT_Z


def test_the_paired_standard_error_comes_from_differences_on_the_same_searches() -> None:
    default = [LaneResult("a", s, (v,), 0) for s, v in enumerate([0.1, 0.5, 0.9])]
    shifted = [LaneResult("a", s, (v + 0.1,), 0) for s, v in enumerate([0.1, 0.5, 0.9])]
    assert paired_se(default, shifted) == pytest.approx(0.0)  # the same gain on every search
    noisy = [LaneResult("a", s, (v,), 0) for s, v in enumerate([0.3, 0.5, 0.7])]
    assert paired_se(default, noisy) == pytest.approx((0.04 / 3) ** 0.5)
    assert paired_se(default, []) == 0.0


def finish(out: Path, comparison: Comparison | None, **kw: str) -> tuple[MetaOutcome, Path]:
    log = out / "audit.jsonl"
    audit = Audit(AuditLog(log), MemoryArchive())
    outcome = _finish(out, out / "run", "finished", 4, 0.7, comparison, audit, **kw)
    return outcome, log


def test_a_winning_policy_is_written_and_the_decision_recorded(tmp_path: Path) -> None:
    outcome, log = finish(tmp_path, Comparison(0.4, 0.6, {"sr_wave": (0.4, 0.6)}), source="NEW")
    assert (tmp_path / "policy.py").read_text() == "NEW"
    record = json.loads((tmp_path / RESULT_FILE).read_text())
    assert record["accepted"] is True and record["candidate"] == 4
    assert record["why"] == (
        "policy #4 beats the starting policy on held-out tasks (0.6000 vs 0.4000 sample efficiency)"
    )
    assert record["comparison"]["margin"] == pytest.approx(0.2)
    assert record["comparison"]["per_task"] == {"sr_wave": [0.4, 0.6]}
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["event"] == "meta_acceptance" and entry["data"]["accepted"] is True
    assert outcome.policy == tmp_path / "policy.py"


def test_a_losing_policy_leaves_the_accepted_one_in_place(tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text("EARLIER")
    outcome, _ = finish(tmp_path, Comparison(0.6, 0.4), source="NEW")
    assert (tmp_path / "policy.py").read_text() == "EARLIER"
    record = json.loads((tmp_path / RESULT_FILE).read_text())
    assert record["accepted"] is False and record["policy"] is None
    assert record["why"].startswith("policy #4 does not beat the starting policy")
    assert outcome.accepted is False


def test_without_a_comparison_the_reason_given_is_recorded(tmp_path: Path) -> None:
    finish(tmp_path, None, why="no policy of the meta-run succeeded")
    record = json.loads((tmp_path / RESULT_FILE).read_text())
    assert (record["accepted"], record["comparison"]) == (False, None)
    assert record["why"] == "no policy of the meta-run succeeded"
    assert record["run"] == str(tmp_path / "run")
