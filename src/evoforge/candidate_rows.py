"""A run's candidates as table rows: what ``evoforge list`` prints and the Python API
returns (as records, or as a pandas DataFrame).

A row holds the candidate's lineage, who made it, its status, the values of its
declared parameters (read from its code, so every proposer's children have them),
its search and held-out metrics, its flags and its cost. Flat column names follow
MLflow's ``search_runs`` frames: ``params.NAME``, ``metrics.NAME`` (search metrics)
and ``heldout.NAME`` (held-out metrics: recorded, never used for selection).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evoforge.archive import Archive
from evoforge.candidate import Candidate
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.sites import declared_values
from evoforge.proposers.values import Value

FIXED_COLUMNS = (
    "id", "parent", "proposer", "operator", "status", "champion", "promoted",
    "wall_s", "cpu_s", "flags", "failure",
)  # fmt: skip


@dataclass(frozen=True)
class CandidateRow:
    id: int
    parents: tuple[int, ...]
    proposer: str
    operator: str
    status: str
    params: Mapping[str, Value]
    metrics: Mapping[str, float]
    heldout: Mapping[str, float]
    flags: tuple[str, ...]
    wall_s: float
    cpu_s: float
    failure: str
    champion: bool
    """The run's current champion."""
    promoted: bool
    """Champion at some time (the history of promotions and rollbacks)."""
    code_hash: str

    def flat(self) -> dict[str, Any]:
        """One flat record: the fixed columns, then ``params.*``, ``metrics.*``, ``heldout.*``."""
        out: dict[str, Any] = {
            "id": self.id,
            "parent": self.parents[0] if self.parents else None,
            "proposer": self.proposer,
            "operator": self.operator,
            "status": self.status,
            "champion": self.champion,
            "promoted": self.promoted,
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "flags": " ".join(self.flags),
            "failure": self.failure.splitlines()[0] if self.failure else "",
        }
        out.update({f"params.{k}": _plain(v) for k, v in self.params.items()})
        out.update({f"metrics.{k}": v for k, v in self.metrics.items()})
        out.update({f"heldout.{k}": v for k, v in self.heldout.items()})
        return out


def candidate_rows(archive: Archive) -> list[CandidateRow]:
    """Every recorded candidate of the run, in id order."""
    champion = archive.champion()
    promoted = {move.candidate_id for move in archive.champion_history()}
    values: dict[str, Mapping[str, Value]] = {}
    rows = []
    for cand in archive.candidates():
        if cand.code_hash not in values:
            values[cand.code_hash] = _params(archive, cand)
        rows.append(
            CandidateRow(
                id=cand.id, parents=cand.parent_ids, proposer=cand.proposer,
                operator=cand.operator, status=str(cand.status),
                params=values[cand.code_hash], metrics=dict(cand.metrics),
                heldout=dict(cand.heldout), flags=cand.flags, wall_s=cand.wall_s,
                cpu_s=cand.cpu_s, failure=cand.failure,
                champion=champion is not None and champion.id == cand.id,
                promoted=cand.id in promoted, code_hash=cand.code_hash,
            )
        )  # fmt: skip
    return rows


def columns(rows: Iterable[CandidateRow]) -> list[str]:
    """The columns of :meth:`CandidateRow.flat` over all rows, in a stable order."""
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    heldout: dict[str, None] = {}
    for row in rows:
        params.update(dict.fromkeys(f"params.{k}" for k in row.params))
        metrics.update(dict.fromkeys(f"metrics.{k}" for k in sorted(row.metrics)))
        heldout.update(dict.fromkeys(f"heldout.{k}" for k in sorted(row.heldout)))
    return [*FIXED_COLUMNS, *params, *sorted(metrics), *sorted(heldout)]


def to_csv(rows: Sequence[CandidateRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.flat().items()})
    return out.getvalue()


def to_json(rows: Sequence[CandidateRow]) -> str:
    """One JSON list of flat records (NaN and infinities as null: strict JSON)."""
    return json.dumps([_json_safe(row.flat()) for row in rows], indent=1)


def _params(archive: Archive, cand: Candidate) -> Mapping[str, Value]:
    try:
        return declared_values(archive.get_code(cand.code_hash))
    except (ParamSpecError, SyntaxError, ValueError, KeyError):  # a broken child: no values
        return {}


def _plain(value: Value) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _json_safe(record: Mapping[str, Any]) -> dict[str, Any]:
    def fix(v: Any) -> Any:
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return None
        return v

    return {k: fix(v) for k, v in record.items()}
