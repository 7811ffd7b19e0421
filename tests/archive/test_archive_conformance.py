"""One conformance suite, run against every archive backend."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.archive import Archive, FinishedCandidateError, Rerun, open_archive
from evoforge.candidate import Candidate, Status, pack_examples, unpack_examples


@pytest.fixture(params=["memory", "sqlite"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Archive]:
    url = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'a.sqlite'}"
    a = open_archive(url)
    yield a
    a.close()


def add(a: Archive, files: dict[str, str], **fields: object) -> Candidate:
    h = a.put_code(files)
    return a.add(Candidate(id=0, code_hash=h, **fields))  # type: ignore[arg-type]


def test_ids_are_assigned_in_order(archive: Archive) -> None:
    ids = [add(archive, {"a.py": str(i)}).id for i in range(3)]
    assert ids == [1, 2, 3]
    assert archive.size() == 3


def test_code_is_content_addressed(archive: Archive) -> None:
    h1 = archive.put_code({"a.py": "x = 1\n"})
    h2 = archive.put_code({"a.py": "x = 1\n"})
    assert h1 == h2
    assert archive.get_code(h1) == {"a.py": "x = 1\n"}
    with pytest.raises(KeyError):
        archive.get_code("0" * 64)


def test_round_trip_of_every_field(archive: Archive) -> None:
    c = add(archive, {"a.py": "1"}, parent_ids=(1, 2), generation=3, island=1, proposer="mutate",
            operator="step", diff="d", note="n")  # fmt: skip
    c = archive.update(
        c.id, status=Status.SUCCEEDED, metrics={"acc": 0.5}, heldout={"test": 0.4},
        flags=("x",), failure="", finished_at=5.0, wall_s=1.5, exit_code=0, stdout_tail="out",
    )  # fmt: skip
    got = archive.get(c.id)
    assert got == c
    assert got.parent_ids == (1, 2) and got.flags == ("x",)
    assert got.metrics == {"acc": 0.5} and got.heldout == {"test": 0.4}
    assert got.status is Status.SUCCEEDED


def test_update_refuses_unknown_fields(archive: Archive) -> None:
    c = add(archive, {"a.py": "1"})
    with pytest.raises(ValueError):
        archive.update(c.id, bogus=1)
    with pytest.raises(KeyError):
        archive.update(99, status=Status.FAILED)


@pytest.mark.parametrize(
    "status", [Status.SUCCEEDED, Status.FAILED, Status.REJECTED, Status.DUPLICATE]
)
def test_a_finished_candidates_result_is_final(archive: Archive, status: Status) -> None:
    c = add(archive, {"a.py": "1"})
    c = archive.update(c.id, status=status, metrics={"acc": 0.5}, heldout={"test": 0.4},
                       flags=("jump",), failure="f", finished_at=1.0)  # fmt: skip
    for change in (
        {"metrics": {"acc": 0.9}},
        {"heldout": {"test": 0.9}},
        {"status": Status.PENDING},
        {"status": Status.RUNNING},
        {"failure": ""},
        {"finished_at": 2.0},
        {"flags": ()},  # a raised flag is never dropped
        {"flags": ("implausibly_fast",), "metrics": {"acc": 0.9}},  # nothing is written
    ):
        with pytest.raises(FinishedCandidateError, match=f"#{c.id} is {status.value}"):
            archive.update(c.id, **change)
        assert archive.get(c.id) == c
    assert archive.update(c.id, metrics={"acc": 0.5}, status=status) == c  # no change
    flagged = archive.update(c.id, flags=("jump", "heldout_drop:gate"))  # the detectors' flags
    assert flagged.flags == ("jump", "heldout_drop:gate") and flagged.metrics == {"acc": 0.5}


def test_unfinished_candidates_may_change_and_go_back_to_pending(archive: Archive) -> None:
    c = add(archive, {"a.py": "1"})
    running = archive.update(c.id, status=Status.RUNNING, attempts=1, failure="")
    assert archive.update(c.id, status=Status.PENDING, attempts=0).status is Status.PENDING
    assert running.attempts == 1
    done = archive.update(c.id, status=Status.SUCCEEDED, metrics={"acc": 0.5})
    assert done.status is Status.SUCCEEDED and done.metrics == {"acc": 0.5}


def test_top_recent_and_counts(archive: Archive) -> None:
    for i, (acc, status) in enumerate(
        [
            (0.5, Status.SUCCEEDED),
            (0.9, Status.SUCCEEDED),
            (0.99, Status.FAILED),
            (0.7, Status.SUCCEEDED),
        ]
    ):
        c = add(archive, {"a.py": str(i)}, island=i % 2)
        archive.update(c.id, status=status, metrics={"acc": acc}, finished_at=float(i))
    assert [c.id for c in archive.top("acc", maximize=True, limit=2)] == [2, 4]
    assert [c.id for c in archive.top("acc", maximize=False, limit=1)] == [1]
    assert [c.id for c in archive.recent(island=None, limit=2)] == [2, 4]
    assert [c.id for c in archive.recent(island=0, limit=5)] == [1]
    counts = archive.counts()
    assert counts[Status.SUCCEEDED] == 3 and counts[Status.FAILED] == 1


def test_nan_never_ranks(archive: Archive) -> None:
    c = add(archive, {"a.py": "1"})
    archive.update(c.id, status=Status.SUCCEEDED, metrics={"acc": math.nan}, finished_at=1.0)
    assert math.isnan(archive.get(c.id).metrics["acc"])
    assert archive.top("acc", maximize=True) == []


def test_find_code_skips_rejected(archive: Archive) -> None:
    files = {"a.py": "same"}
    rejected = add(archive, files, status=Status.REJECTED)
    assert archive.find_code(rejected.code_hash) is None
    ok = add(archive, files)
    assert archive.find_code(ok.code_hash) == ok


def test_champion_history(archive: Archive) -> None:
    a, b = add(archive, {"a.py": "1"}), add(archive, {"a.py": "2"})
    assert archive.champion() is None
    archive.move_champion(a.id, action="seed", reason="first")
    archive.move_champion(b.id, action="promote", reason="better")
    archive.move_champion(a.id, action="rollback", reason="asked")
    assert archive.champion() == archive.get(a.id)
    assert [m.action for m in archive.champion_history()] == ["seed", "promote", "rollback"]


def test_meta_and_blobs(archive: Archive) -> None:
    archive.set_meta("config", {"a": [1, 2]})
    assert archive.get_meta("config") == {"a": [1, 2]}
    assert archive.get_meta("missing", 7) == 7
    h = archive.put_blob("prompt text")
    assert archive.get_blob(h) == "prompt text"


def test_reruns_replace_by_seed_and_approvals_filter_by_state(archive: Archive) -> None:
    from evoforge.archive import Approval, ApprovalState, Rerun

    c = add(archive, {"a.py": "1"})
    archive.add_rerun(Rerun(c.id, 7, True, {"m": 0.5}, {"t": 0.4}))
    archive.add_rerun(Rerun(c.id, 3, False, {}, {}, "boom"))
    archive.add_rerun(Rerun(c.id, 7, True, {"m": 0.6}, {"t": 0.5}))
    assert [(r.seed, r.ok) for r in archive.reruns(c.id)] == [(3, False), (7, True)]
    assert archive.reruns(c.id)[1].metrics == {"m": 0.6}
    d = add(archive, {"a.py": "2"})
    archive.put_approval(Approval(c.id, ApprovalState.PENDING, {"gain": 0.1}, 1.0))
    archive.put_approval(Approval(d.id, ApprovalState.CONFIRMING, {}, 2.0))
    archive.put_approval(
        Approval(c.id, ApprovalState.APPROVED, {"gain": 0.1}, 1.0, 3.0, "ana", "looks right")
    )
    assert [a.candidate_id for a in archive.approvals()] == [c.id, d.id]
    (done,) = archive.approvals(states=[ApprovalState.APPROVED])
    assert (done.who, done.reason, done.decided_at, done.evidence) == (
        "ana",
        "looks right",
        3.0,
        {"gain": 0.1},
    )


def test_per_example_scores_are_kept_with_candidates_and_reruns(archive: Archive) -> None:
    blob = archive.put_blob(pack_examples({"acc": [1.0, 0.0, 0.5]}))
    c = add(archive, {"a.py": "1"})
    c = archive.update(c.id, status=Status.SUCCEEDED, metrics={"acc": 0.5}, examples=blob)
    archive.add_rerun(Rerun(c.id, 7, True, {"acc": 0.5}, {}, "", blob))
    assert archive.get(c.id).examples == blob and archive.reruns(c.id)[0].examples == blob
    assert list(unpack_examples(archive.get_blob(blob))["acc"]) == [1.0, 0.0, 0.5]
