"""The stream commands as a user runs them: watch, status, approve, reject, rollback,
export, audit and report on a stream; and the mistakes a user makes with them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from evoforge.stream.setup import build_watcher

from cli_helpers import cli, summary

sys.path.insert(0, str(Path(__file__).parent.parent / "stream"))
from stream_helpers import NEW, OLD, config, make_stream


@pytest.mark.slow
def test_watch_status_manual_approval_rollback_export_audit_report(tmp_path: Path) -> None:
    toml = config('approval = "manual"', stream="forget_tolerance = 0.9")
    exp = make_stream(tmp_path / "exp", [OLD] * 6 + [NEW] * 2, toml=toml)
    out = cli("watch", str(exp), "--once").stdout
    assert "trigger:" in out and "waits for approval: evoforge approve" in out
    rows = summary(cli("status", str(exp)).stdout)
    assert rows["batches"].startswith("8") and rows["state"] == "idle"
    assert "evoforge approve" in rows["approval"]
    assert cli("approve", str(exp), "1", ok=False).returncode == 2  # --reason is required
    bad = cli("approve", str(exp), "7", "--reason", "r", ok=False)
    assert bad.returncode == 2 and "no round 7" in bad.stderr
    done = cli("approve", str(exp), "1", "--reason", "wins after the drift", "--who", "ana")
    assert "champion #2" in done.stdout
    assert summary(cli("status", str(exp)).stdout)["champion"].startswith("#2")
    back = cli("rollback", str(exp), "--reason", "checking the fail-safe by hand")
    assert "champion #3" in back.stdout
    exported = tmp_path / "model"
    cli("export", str(exp), "--out", str(exported))
    note = json.loads((exported / "trained_on.json").read_text())
    assert note["champion"] == 3 and [b["name"] for b in note["trained_on"]][-1] == "b008.npz"
    assert len(note["trained_on"]) == 6  # the window
    with np.load(exported / "model" / "centroids.npz") as model:
        assert model["centroids"].shape == (2, 3)
    assert "audit: ok" in cli("audit", "verify", str(exp)).stdout
    shown = cli("audit", "show", str(exp)).stdout
    assert "approval_requested" in shown and "promotion" in shown and "rollback" in shown
    report = Path(cli("report", str(exp)).stdout.split("report: ")[1].strip())
    assert report.is_file() and "<svg" in report.read_text()


def test_a_tampered_stream_audit_log_fails_verification(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD] * 3)
    w = build_watcher(exp, say=lambda _: None)  # watched in-process: the CLI part is the check
    w.run(once=True)
    w.store.close()
    log = exp / "stream" / "audit.jsonl"
    lines = log.read_text().splitlines()
    assert '"rows":200' in lines[2]
    lines[2] = lines[2].replace('"rows":200', '"rows":201')
    log.write_text("\n".join(lines) + "\n")
    proc = cli("audit", "verify", str(exp), ok=False)
    assert proc.returncode == 1 and "FAILED" in proc.stdout.upper()


def test_usual_mistakes_get_clear_errors(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD] * 2)
    run = cli("run", str(exp), ok=False)
    assert run.returncode == 2 and "evoforge watch" in run.stderr
    toml = (exp / "evoforge.toml").read_text()
    (exp / "evoforge.toml").write_text(toml.replace("window = 6", "windw = 6"))
    typo = cli("watch", str(exp), "--once", ok=False)
    assert (
        typo.returncode == 2
        and "stream.windw" in typo.stderr
        and "did you mean 'window'" in typo.stderr
    )
    (exp / "evoforge.toml").write_text(
        toml.replace("settle_seconds = 0", 'settle_seconds = 0\nfolder = "incoming"')
    )
    missing = cli("watch", str(exp), "--once", ok=False)
    assert missing.returncode == 2 and "incoming does not exist" in missing.stderr
    plain = tmp_path / "plain"
    make_stream(plain, [], toml=toml.replace("[stream]", "[strem]"))
    none = cli("watch", str(plain), "--once", ok=False)
    assert none.returncode == 2 and "strem" in none.stderr


@pytest.mark.slow
def test_the_stream_template_shows_the_whole_cycle(tmp_path: Path) -> None:
    exp = tmp_path / "mystream"
    made = cli("init", str(exp), "--template", "stream").stdout
    assert f"evoforge watch {exp}" in made
    out = cli("watch", str(exp), "--once").stdout
    assert "batch 13 batch-013" in out and "trigger:" in out and "challenger promoted" in out
    rows = summary(cli("status", str(exp)).stdout)
    assert rows["batches"] == "24" and rows["rounds_promoted"] == "1"
    last5 = float(rows["production_accuracy_last_5"].split()[0])
    assert last5 > 0.9  # recovered after the change at batch 13
