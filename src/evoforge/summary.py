"""Greppable ``key: value`` summaries of a run, shared by run, resume, status and best."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evoforge.archive import Archive
from evoforge.candidate import Candidate, Status


def run_summary(
    archive: Archive, *, run_path: str, state: str | None = None
) -> list[tuple[str, str]]:
    config: Mapping[str, Any] = archive.get_meta("config", {})
    objective = str(config.get("task", {}).get("objective", ""))
    counts = archive.counts()
    evaluated = counts[Status.SUCCEEDED] + counts[Status.FAILED]
    budget = config.get("budget", {}).get("candidates")
    elapsed = float(archive.get_meta("elapsed_s", 0.0))
    rows: list[tuple[str, str]] = [
        ("run", run_path),
        ("state", state or str(archive.get_meta("state", "unknown"))),
        ("candidates", f"{evaluated}" + (f"/{budget}" if budget else "")),
        ("succeeded", str(counts[Status.SUCCEEDED])),
        ("failed", str(counts[Status.FAILED])),
        ("rejected", str(counts[Status.REJECTED])),
        ("duplicates", str(counts[Status.DUPLICATE])),
        ("pending", str(counts[Status.PENDING] + counts[Status.RUNNING])),
        ("elapsed_seconds", f"{elapsed:.1f}"),
        ("candidates_per_minute", f"{evaluated / (elapsed / 60):.2f}" if elapsed > 0 else "-"),
    ]
    sandbox = archive.get_meta("sandbox", {})
    if sandbox:
        weak = [k for k, v in sandbox.items() if not str(v).startswith("on")]
        rows.append(("sandbox", "all layers on" if not weak else "missing: " + ", ".join(weak)))
    if archive.size() > 0:
        rows.extend(_figures("seed", archive.get(1), objective))
    champ = archive.champion()
    if champ is not None:
        rows.append(("champion", f"#{champ.id}"))
        rows.extend(_figures("champion", champ, objective))
    return rows


def _figures(prefix: str, c: Candidate, objective: str) -> list[tuple[str, str]]:
    if c.status != Status.SUCCEEDED:
        return [(f"{prefix}_status", c.status.value)]
    rows = [(f"{prefix}_{k}", f"{v:.6g}") for k, v in sorted(c.metrics.items())]
    rows += [(f"{prefix}_{k}", f"{v:.6g} (held-out)") for k, v in sorted(c.heldout.items())]
    del objective
    return rows


def format_rows(rows: list[tuple[str, str]]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in rows)
