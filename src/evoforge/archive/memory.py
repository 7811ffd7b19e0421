"""An archive held in memory, for tests and throwaway runs."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterable
from typing import Any

from evoforge.archive._base import (
    Approval,
    ApprovalState,
    Archive,
    ChampionMove,
    Rerun,
    check_fields,
    check_update,
)
from evoforge.candidate import Candidate, Files, Status, code_hash


class MemoryArchive(Archive):
    def __init__(self) -> None:
        self._code: dict[str, dict[str, str]] = {}
        self._blobs: dict[str, str] = {}
        self._cands: list[Candidate] = []
        self._moves: list[ChampionMove] = []
        self._meta: dict[str, Any] = {}
        self._reruns: dict[tuple[int, int], Rerun] = {}
        self._approvals: dict[int, Approval] = {}

    def put_code(self, files: Files) -> str:
        h = code_hash(files)
        self._code.setdefault(h, dict(files))
        return h

    def get_code(self, code_hash: str) -> dict[str, str]:
        return dict(self._code[code_hash])

    def put_blob(self, text: str) -> str:
        h = hashlib.sha256(text.encode()).hexdigest()
        self._blobs.setdefault(h, text)
        return h

    def get_blob(self, blob_hash: str) -> str:
        return self._blobs[blob_hash]

    def add(self, candidate: Candidate) -> Candidate:
        if candidate.code_hash not in self._code:
            raise KeyError(f"code {candidate.code_hash[:12]} is not stored")
        created = candidate.created_at or time.time()
        rec = dataclasses.replace(candidate, id=len(self._cands) + 1, created_at=created)
        self._cands.append(rec)
        return rec

    def update(self, candidate_id: int, **fields: Any) -> Candidate:
        check_fields(fields)
        current = self.get(candidate_id)
        check_update(current, fields)
        rec = dataclasses.replace(current, **fields)
        self._cands[candidate_id - 1] = rec
        return rec

    def get(self, candidate_id: int) -> Candidate:
        if not 1 <= candidate_id <= len(self._cands):
            raise KeyError(f"no candidate {candidate_id}")
        return self._cands[candidate_id - 1]

    def candidates(
        self, *, statuses: Iterable[Status] | None = None, since_id: int = 0
    ) -> list[Candidate]:
        wanted = None if statuses is None else set(statuses)
        return [c for c in self._cands[since_id:] if wanted is None or c.status in wanted]

    def size(self) -> int:
        return len(self._cands)

    def find_code(self, code_hash: str) -> Candidate | None:
        for c in self._cands:
            if c.code_hash == code_hash and c.status != Status.REJECTED:
                return c
        return None

    def recent(self, *, island: int | None, limit: int) -> list[Candidate]:
        done = [
            c
            for c in self._cands
            if c.status == Status.SUCCEEDED and (island is None or c.island == island)
        ]
        done.sort(key=lambda c: (c.finished_at or 0.0, c.id))
        return done[-limit:]

    def top(self, objective: str, *, maximize: bool, limit: int = 1) -> list[Candidate]:
        scored = [
            c
            for c in self._cands
            if c.status == Status.SUCCEEDED
            and objective in c.metrics
            and c.metrics[objective] == c.metrics[objective]  # NaN never ranks
        ]
        scored.sort(
            key=lambda c: (-c.metrics[objective] if maximize else c.metrics[objective], c.id)
        )
        return scored[:limit]

    def counts(self) -> dict[Status, int]:
        out = dict.fromkeys(Status, 0)
        for c in self._cands:
            out[c.status] += 1
        return out

    def move_champion(self, candidate_id: int, *, action: str, reason: str) -> ChampionMove:
        self.get(candidate_id)
        move = ChampionMove(len(self._moves) + 1, candidate_id, action, reason, time.time())
        self._moves.append(move)
        return move

    def champion_history(self) -> list[ChampionMove]:
        return list(self._moves)

    def add_rerun(self, rerun: Rerun) -> None:
        self._reruns[(rerun.candidate_id, rerun.seed)] = rerun

    def reruns(self, candidate_id: int) -> list[Rerun]:
        return sorted(
            (r for (c, _), r in self._reruns.items() if c == candidate_id), key=lambda r: r.seed
        )

    def put_approval(self, approval: Approval) -> None:
        self._approvals.pop(approval.candidate_id, None)
        self._approvals[approval.candidate_id] = approval

    def approvals(self, *, states: Iterable[ApprovalState] | None = None) -> list[Approval]:
        wanted = None if states is None else {ApprovalState(s) for s in states}
        rows = sorted(self._approvals.values(), key=lambda a: (a.requested_at, a.candidate_id))
        return [a for a in rows if wanted is None or a.state in wanted]

    def set_meta(self, key: str, value: Any) -> None:
        self._meta[key] = value

    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._meta.get(key, default)
