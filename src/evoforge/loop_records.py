"""The records the loop writes, built from what it holds: a child from its parents, the
outcome of an evaluation, a proposal's prompt and answer (kept as blobs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.archive import Archive
from evoforge.candidate import Candidate, Evaluation, Status


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


def not_charged(archive: Archive, cid: int, *, failure: str) -> Candidate:
    """Back to pending, its attempt not counted: the run's fault, not the candidate's."""
    cand = archive.get(cid)
    return archive.update(
        cid, status=Status.PENDING, attempts=max(0, cand.attempts - 1), failure=failure
    )
