"""The promoter's evidence and bar, on hand-made records (no runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from evoforge.archive import Approval, ApprovalState, MemoryArchive, Rerun
from evoforge.candidate import Candidate, Status, pack_examples
from evoforge.config import PromotionSection, TaskSection
from evoforge.governance.audit import AuditLog
from evoforge.governance.promotion import Promoter, bootstrap_lower, validation_caveat
from evoforge.governance.run_audit import Audit
from evoforge.tasks import Task


def promoter(
    archive: MemoryArchive, tmp_path: Path, *, gate: tuple[str, ...] = (), **settings: Any
) -> Promoter:
    audit = Audit(AuditLog(tmp_path / "audit.jsonl"), archive)
    task = TaskSection(objective="acc", gate=list(gate))
    return Promoter(archive, audit, task, PromotionSection(**settings))


def scored(archive: MemoryArchive, acc: float, **fields: object) -> Candidate:
    code = archive.put_code({"p.py": f"# {acc} {len(archive.candidates())}"})
    return archive.add(
        Candidate(id=0, code_hash=code, status=Status.SUCCEEDED, metrics={"acc": acc}, **fields)  # type: ignore[arg-type]
    )


def test_bootstrap_lower_bound_needs_more_than_a_few_examples_flipping() -> None:
    one = np.zeros(114)
    one[7] = 1.0  # one example more right: a mean gain of 1/114, and stderr 0 across seeds
    assert bootstrap_lower(one, 0.95, 2000, seed=0) <= 0
    many = np.zeros(114)
    many[:20] = 1.0
    assert bootstrap_lower(many, 0.95, 2000, seed=0) > 0.1
    # seeded: the same runs always give the same verdict
    assert bootstrap_lower(many, 0.95, 2000, seed=3) == bootstrap_lower(many, 0.95, 2000, seed=3)


def test_per_example_check_runs_only_when_both_sides_have_examples(tmp_path: Path) -> None:
    archive = MemoryArchive()
    right = [1.0] * 60 + [0.0] * 40
    champ = scored(archive, 0.6, examples=archive.put_blob(pack_examples({"acc": right})))
    one_more = [*right[:60], 1.0, *right[61:]]
    chal = scored(archive, 0.61, examples=archive.put_blob(pack_examples({"acc": one_more})))
    plain = scored(archive, 0.61)
    p = promoter(archive, tmp_path, reruns=0)
    ev = p.evidence(chal, champ)
    assert ev["per_example"]["examples"] == 100 and not ev["per_example"]["ok"]
    assert "100 validation examples" in ev["why_not"]
    without = p.evidence(plain, champ)
    assert without["per_example"] is None and without["why_not"] == ""


def test_per_example_gains_are_paired_by_rerun_seed(tmp_path: Path) -> None:
    archive = MemoryArchive()
    champ, chal = scored(archive, 0.5), scored(archive, 0.9)
    p = promoter(archive, tmp_path, reruns=2)
    for seed in p.seeds:
        for cand, right in ((champ, 50), (chal, 90)):
            blob = archive.put_blob(pack_examples({"acc": [1.0] * right + [0.0] * (100 - right)}))
            archive.add_rerun(Rerun(cand.id, seed, True, {"acc": right / 100}, {}, "", blob))
    ev = p.evidence(chal, champ)
    assert ev["runs"] == 2 and ev["per_example"]["ok"]
    assert abs(ev["per_example"]["mean_gain"] - 0.4) < 1e-6 and ev["why_not"] == ""


def test_gate_metrics_veto_and_test_metrics_are_only_reported(tmp_path: Path) -> None:
    archive = MemoryArchive()
    champ = scored(archive, 0.5, heldout={"gate_acc": 0.5, "test_acc": 0.5})
    chal = scored(archive, 0.6, heldout={"gate_acc": 0.5, "test_acc": 0.1})
    p = promoter(archive, tmp_path, reruns=0, gate=("gate_acc",))
    ev = p.evidence(chal, champ)
    assert ev["gate_ok"] and ev["why_not"] == "" and ev["test_gain"] == {"test_acc": -0.4}
    worse = scored(archive, 0.6, heldout={"gate_acc": 0.4, "test_acc": 0.9})
    ev = p.evidence(worse, champ)
    assert not ev["gate_ok"] and "gate metric gate_acc" in ev["why_not"]


def test_pending_challengers_raise_the_bar_in_manual_mode_only(tmp_path: Path) -> None:
    archive = MemoryArchive()
    seed = scored(archive, 0.5)
    archive.move_champion(seed.id, action="seed", reason="seed")
    waiting = scored(archive, 0.8)
    archive.put_approval(Approval(waiting.id, ApprovalState.PENDING, {}, 1.0))
    flagged = scored(archive, 0.95, flags=("jump",))
    archive.put_approval(Approval(flagged.id, ApprovalState.PENDING, {}, 2.0))
    middle = scored(archive, 0.7)
    promoter(archive, tmp_path, approval="auto").consider(middle)
    assert [a.state for a in archive.approvals() if a.candidate_id == middle.id] == ["confirming"]
    manual = promoter(archive, tmp_path, approval="manual")
    lower = scored(archive, 0.75)
    manual.consider(lower)  # below #waiting: it could only queue behind it
    assert all(a.candidate_id != lower.id for a in archive.approvals())
    higher = scored(archive, 0.85)  # the flagged 0.95 does not block it
    manual.consider(higher)
    assert any(a.candidate_id == higher.id for a in archive.approvals())


def test_ranked_pending_orders_by_the_mean_of_the_reruns(tmp_path: Path) -> None:
    archive = MemoryArchive()
    lucky, steady = scored(archive, 0.9), scored(archive, 0.8)  # first evaluations
    p = promoter(archive, tmp_path, reruns=2)
    for cand, mean in ((lucky, 0.7), (steady, 0.8)):
        archive.put_approval(Approval(cand.id, ApprovalState.PENDING, {}, float(cand.id)))
        for seed in p.seeds:
            archive.add_rerun(Rerun(cand.id, seed, True, {"acc": mean}, {}))
    assert [c.id for c in p.ranked_pending()] == [steady.id, lucky.id]


class _Plain(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None: ...

    def score(self, workdir: Path) -> dict[str, float]:
        return {}


class _PerExample(_Plain):
    def example_scores(self, workdir: Path) -> dict[str, list[float]]:
        return {}


def test_validation_caveat_only_when_nothing_guards_the_finite_validation_set() -> None:
    assert "seed noise only" in validation_caveat(_Plain(), min_gain=0.0, reruns=3)
    assert "nothing guards" in validation_caveat(_Plain(), min_gain=0.0, reruns=0)
    assert validation_caveat(_Plain(), min_gain=0.01, reruns=3) == ""
    assert validation_caveat(_PerExample(), min_gain=0.0, reruns=3) == ""
