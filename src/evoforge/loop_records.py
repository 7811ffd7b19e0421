"""The records the loop writes, built from what it holds: a child from its parents, the
outcome of an evaluation, a proposal's prompt and answer (kept as blobs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.archive import Archive
from evoforge.candidate import Candidate, Evaluation, Files, Status


def child_of(
    parents: Sequence[Candidate], *, code_hash: str, island: int, proposer: str, **fields: Any
) -> Candidate:
    """A new child's record (its id assigned when added): lineage from ``parents``."""
    return Candidate(
        id=0,
        code_hash=code_hash,
        parent_ids=tuple(p.id for p in parents),
        generation=1 + max(p.generation for p in parents),
        island=island,
        proposer=proposer,
        **fields,
    )


def outcome(ev: Evaluation) -> dict[str, Any]:
    """The fields of a candidate's record its evaluation sets (beside the examples and the time)."""
    run = ev.run
    return {
        "status": Status.SUCCEEDED if ev.ok else Status.FAILED,
        "metrics": dict(ev.metrics),
        "heldout": dict(ev.heldout),
        "failure": ev.failure,
        "flags": ev.flags,
        "wall_s": run.wall_s if run else 0.0,
        "cpu_s": run.cpu_s if run else 0.0,
        "max_rss_kb": run.max_rss_kb if run else 0,
        "exit_code": run.exit_code if run else None,
        "stdout_tail": run.stdout_tail if run else "",
        "stderr_tail": run.stderr_tail if run else "",
    }


def store_meta(archive: Archive, meta: Mapping[str, Any]) -> dict[str, Any]:
    """A proposal's meta for its record: the prompt and the response stored as blobs."""
    extra = {k: v for k, v in meta.items() if k not in ("prompt", "response")}
    for key in ("prompt", "response"):
        if key in meta:
            extra[f"{key}_blob"] = archive.put_blob(str(meta[key]))
    return extra


def not_charged(archive: Archive, cid: int, *, failure: str | None = None) -> Candidate:
    """Back to pending, its attempt not counted: the run's fault, not the candidate's
    (``failure`` says why, when given)."""
    cand = archive.get(cid)
    why = {} if failure is None else {"failure": failure}
    return archive.update(cid, status=Status.PENDING, attempts=max(0, cand.attempts - 1), **why)


def seed_record(archive: Archive, files: Files) -> Candidate:
    """The seed program's record, added: candidate 1, the root of every lineage."""
    code_hash = archive.put_code(files)
    return archive.add(Candidate(id=0, code_hash=code_hash, proposer="seed", operator="seed"))


def rejected_proposal(
    archive: Archive,
    parents: Sequence[Candidate],
    *,
    island: int,
    proposer: str,
    meta: Mapping[str, Any],
    failure: str,
    now: float,
) -> Candidate:
    """The record of a proposal that cost something but gave no usable child (kept with
    its prompt and raw answer); its code is its first parent's."""
    return child_of(
        parents, code_hash=parents[0].code_hash, island=island, proposer=proposer,
        operator=str(meta.get("operator", "")), status=Status.REJECTED, failure=failure,
        finished_at=now, extra=store_meta(archive, meta),
    )  # fmt: skip


def left_unfinished(
    archive: Archive, max_attempts: int, *, now: float
) -> tuple[list[Candidate], int]:
    """Candidates a crash or a stop left PENDING or RUNNING: those to run again, and how
    many had used their ``max_attempts`` (recorded as failed here)."""
    again, failed = [], 0
    for cand in archive.candidates(statuses=(Status.PENDING, Status.RUNNING)):
        if cand.attempts >= max_attempts:
            archive.update(
                cand.id, status=Status.FAILED, finished_at=now,
                failure=f"interrupted {cand.attempts} times (driver stopped or crashed while it ran)",
            )  # fmt: skip
            failed += 1
        else:
            again.append(cand)
    return again, failed
