"""Planted gaming candidates: each is caught with the right flag or rejection, never promoted."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from evoforge.candidate import Status
from evoforge.governance.audit import AuditLog

from gov_helpers import EVOFORGE, body, by_quality, champions, run_script, summary, write_experiment


def test_nan_and_above_bound_metrics_are_flagged_and_never_promoted(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=3)
    archive, _ = run_script(exp, [body(q="float('nan')"), body(h=20)])  # type: ignore[arg-type]
    nan, high = by_quality(archive)
    assert nan.status == Status.FAILED and "non_finite:score" in nan.flags
    assert high.status == Status.FAILED and "out_of_bounds:score" in high.flags
    assert "outside the task's bounds [0, 1]" in high.failure
    assert champions(archive) == [1]


def test_validation_up_gate_down_is_flagged_and_not_promoted(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=2)
    archive, _ = run_script(exp, [body(q=0.5, leak=0.3)])
    (leaky,) = by_quality(archive)
    assert (
        leaky.status == Status.SUCCEEDED
        and leaky.metrics["score"] > archive.get(1).metrics["score"]
    )
    assert leaky.flags == ("heldout_drop:gate",)  # the gate metric, never the test metric
    assert champions(archive) == [1]
    (record,) = archive.approvals()
    assert record.state == "declined" and record.evidence["gate_ok"] is False
    assert "gate metric gate" in record.evidence["why_not"]
    assert record.evidence["test_gain"]["heldout"] < -0.2  # reported beside, not the cause


def test_test_metrics_never_veto_or_flag_a_promotion(tmp_path: Path) -> None:
    # Both hidden metrics are test metrics here: they fall, and nothing may act on it,
    # or the champion's test figure would no longer be an unbiased estimate.
    roles = 'heldout = ["heldout", "gate"]'
    exp = write_experiment(tmp_path / "exp", candidates=2, roles=roles)
    archive, _ = run_script(exp, [body(q=0.5, leak=0.3)])
    (leaky,) = by_quality(archive)
    assert leaky.flags == ()
    (record,) = archive.approvals()
    assert record.state == "promoted" and record.evidence["gate_gain"] == {}
    assert record.evidence["test_gain"]["heldout"] < -0.2
    assert champions(archive) == [1, leaky.id]


def _lucky_offset(exp: Path) -> int:
    """An OFFSET whose noise on the search seed beats the seed's own noise clearly."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gov_task", exp / "task.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return next(o for o in range(1, 1000) if mod.noise(o, 0.05) - mod.noise(0, 0.05) > 0.04)


def test_a_seed_only_change_is_not_promoted_but_a_real_gain_is(tmp_path: Path) -> None:
    promotion = 'approval = "auto"\nreruns = 4\nk = 2.0'
    exp = write_experiment(tmp_path / "exp", candidates=2, promotion=promotion, noise_scale=0.05)
    lucky = _lucky_offset(exp)
    archive, _ = run_script(exp, [body(o=lucky)])
    (seed_only,) = by_quality(archive)
    assert seed_only.metrics["score"] > archive.get(1).metrics["score"] + 0.03  # it looked better
    (record,) = archive.approvals()
    assert record.state == "declined" and record.evidence["beats_noise"] is False
    assert record.evidence["runs"] == 4
    assert champions(archive) == [1]
    # the same noise, a real gain: promoted (the test above is not vacuous)
    archive, _ = run_script(exp, [body(q=0.7)])
    (real,) = by_quality(archive)
    (record,) = archive.approvals()
    assert record.state == "promoted" and record.evidence["beats_noise"] is True
    assert champions(archive) == [1, real.id]
    assert len(archive.reruns(real.id)) == 4 and len(archive.reruns(1)) == 4


def test_a_gain_of_one_validation_example_is_not_promoted_but_a_real_gain_is(
    tmp_path: Path,
) -> None:
    # Deterministic candidates: the re-runs agree exactly (stderr 0), so the seed-noise
    # test alone would promote a gain of one example out of 114.
    promotion = 'approval = "auto"\nreruns = 3'
    exp = write_experiment(tmp_path / "exp", candidates=2, promotion=promotion, examples=114)
    archive, _ = run_script(exp, [body(q=0.5 + 1 / 114)])
    (tiny,) = by_quality(archive)
    (record,) = archive.approvals()
    ev = record.evidence
    assert ev["gain"] > 0 and ev["stderr"] == 0 and ev["beats_noise"] is True
    assert ev["per_example"]["examples"] == 114 and ev["per_example"]["lower"] <= 0
    assert record.state == "declined" and "114 validation examples" in ev["why_not"]
    assert champions(archive) == [1]
    assert tiny.examples and len(archive.reruns(tiny.id)) == 3
    assert all(r.examples for r in archive.reruns(tiny.id))
    # 23 more examples right: promoted (the test above is not vacuous)
    archive, _ = run_script(exp, [body(q=0.7)])
    (real,) = by_quality(archive)
    (record,) = archive.approvals()
    assert record.state == "promoted" and record.evidence["per_example"]["lower"] > 0
    assert champions(archive) == [1, real.id]


def test_a_task_without_example_scores_is_warned_about_at_run_start(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=1, promotion="reruns = 2")
    proc = subprocess.run([*EVOFORGE, "run", str(exp)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "re-runs guard against seed noise only, not against the finite validation" in (
        proc.stderr
    )
    run = Path(summary(proc.stdout)["run"])
    events = [e.event for e in AuditLog(run / "audit.jsonl").entries()]
    assert events[:2] == ["run_start", "promotion_caveat"]
    # per-example scores (or a min_gain) guard against it: no warning then
    quiet = write_experiment(tmp_path / "quiet", candidates=1, examples=50)
    proc = subprocess.run(
        [*EVOFORGE, "run", str(quiet)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "finite validation set" not in proc.stderr


def test_reading_labels_or_writing_the_task_is_rejected_before_it_runs(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=2)
    labels = f'LABELS = open("{exp / "labels.json"}").read()\n'
    sklearn = "from sklearn.datasets import load_digits\n"
    task_edit = 'open("../task.py", "a").write("# pwned")\n'
    archive, _ = run_script(
        exp, [body(extra=labels), body(extra=sklearn), body(extra=task_edit), body(q=0.6)]
    )
    rejected = [c for c in by_quality(archive) if c.status == Status.REJECTED]
    assert len(rejected) == 3
    assert "labels.json" in rejected[0].failure
    assert "sklearn.datasets" in rejected[1].failure
    assert "task.py" in rejected[2].failure or "../" in rejected[2].failure
    assert all(re.search(r"program\.py:\d+", c.failure) for c in rejected)
    assert (exp / "task.py").read_text().count("pwned") == 0


def test_a_task_file_changed_at_run_time_stops_the_run_and_is_audited(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=4)
    # The path is assembled at run time, so the static check cannot see it; the
    # hash check before scoring must (the process-only sandbox lets the write through).
    codes = [ord(ch) for ch in str(exp / "task.py")]
    sneaky = f"P = ''.join(map(chr, {codes}))\nopen(P, 'a').write('# tampered')\n"
    archive, run = run_script(exp, [body(extra=sneaky)])
    assert "tampered" in (exp / "task.py").read_text()
    events = [e.event for e in AuditLog(run / "audit.jsonl").entries()]
    assert "task_tampered" in events
    assert archive.get_meta("state").startswith("stopped: task files changed")
    assert champions(archive) == [1]
