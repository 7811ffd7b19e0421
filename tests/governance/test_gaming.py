"""Planted gaming candidates: each is caught with the right flag or rejection, never promoted."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.audit import AuditLog
from evoforge.candidate import Candidate, Status
from evoforge.program import replace_block
from evoforge.proposers._base import Feedback, Parent, Proposal, ProposalError, Proposer

from gov_helpers import write_experiment

BLOCK = "QUALITY = {q}\nOFFSET = {o}\nHITS = {h}\nLEAK = {leak}\n{extra}"


class Scripted(Proposer):
    """Proposes the given evolve-block bodies in order, each from the seed."""

    name = "scripted"

    def __init__(self, bodies: Sequence[str]) -> None:
        self.bodies = list(bodies)

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if not self.bodies:
            raise ProposalError("script finished")
        seed = feedback.seed["program.py"]
        return Proposal(
            {"program.py": replace_block(seed, "program.py", 0, self.bodies.pop(0))}, "scripted"
        )


def body(q: float = 0.5, o: int = 0, h: int = 0, leak: float = 0.0, extra: str = "") -> str:
    return BLOCK.format(q=q, o=o, h=h, leak=leak, extra=extra)


def run_script(exp: Path, bodies: list[str]) -> tuple[SQLiteArchive, Path]:
    outcome = session.start(exp, proposer=Scripted(bodies))
    return SQLiteArchive(outcome.run.archive, readonly=True), outcome.run.path


def by_quality(archive: SQLiteArchive) -> list[Candidate]:
    return [c for c in archive.candidates() if c.proposer == "scripted"]


def champions(archive: SQLiteArchive) -> list[int]:
    return [m.candidate_id for m in archive.champion_history()]


def test_nan_and_above_bound_metrics_are_flagged_and_never_promoted(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=3)
    archive, _ = run_script(exp, [body(q="float('nan')"), body(h=20)])  # type: ignore[arg-type]
    nan, high = by_quality(archive)
    assert nan.status == Status.FAILED and "non_finite:score" in nan.flags
    assert high.status == Status.FAILED and "out_of_bounds:score" in high.flags
    assert "outside the task's bounds [0, 1]" in high.failure
    assert champions(archive) == [1]


def test_validation_up_heldout_down_is_flagged_and_not_promoted(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=2)
    archive, _ = run_script(exp, [body(q=0.5, leak=0.3)])
    (leaky,) = by_quality(archive)
    assert (
        leaky.status == Status.SUCCEEDED
        and leaky.metrics["score"] > archive.get(1).metrics["score"]
    )
    assert "heldout_drop:heldout" in leaky.flags
    assert champions(archive) == [1]
    (record,) = archive.approvals()
    assert record.state == "declined" and record.evidence["heldout_ok"] is False


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
