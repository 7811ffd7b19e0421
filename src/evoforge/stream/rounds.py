"""An improvement round: an ordinary bounded run on a window of the stream.

A round is an experiment folder of its own (``STREAM/rounds/r0001/``): the
champion's program files as its seed, evoforge's window task (``task.py`` and
``window.npz``: the training window, the newest batches and the memory set) and
an ``evoforge.toml`` written from the stream's config (its proposer, limits,
budget, sandbox and promotion rules; the forgetting guard as the gate metric).
It runs with the run machinery unchanged, under ``rounds/r0001/runs/``; a round
cut short by a dead watcher is resumed, never started twice. It begins from the
champion and the last round's best others (``[stream] elites``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evoforge.archive import ApprovalState, SQLiteArchive
from evoforge.candidate import Candidate, Files
from evoforge.config import CONFIG_NAME, Config, StreamSection
from evoforge.config.stream import stream_task_section
from evoforge.config.toml_text import toml_text
from evoforge.governance.rundir import ARCHIVE, RUNS, RunDir
from evoforge.loop_state import Stats
from evoforge.proposers._base import Feedback, Parent, Proposal, Proposer
from evoforge.stream.store import StreamStore
from evoforge.stream.window_task import ROUND_TASK, Window

RESUMABLE = ("running", "stopped")
"""Run states of a round cut short (its driver died, or was stopped): resumed."""


@dataclass(frozen=True)
class RoundResult:
    run: Path
    state: str
    challenger: Files | None
    """The round's champion when it is not the seed (the stream's champion), else None."""
    evidence: Mapping[str, Any]
    elites: list[Files]
    candidates: list[dict[str, Any]]
    """Every candidate of the round's run, as the stream's archive keeps them."""


def round_window(store: StreamStore, stream: StreamSection, upto: int, *, seed: int) -> Window:
    """Train on the window's older batches, judge on the newest ``newest`` batches and
    on a memory set sampled from the ``memory`` batches before them (held out of training)."""
    seqs = [b.seq for b in store.batches() if b.seq <= upto]
    newest, older = seqs[-stream.newest :], seqs[: -stream.newest]
    train_seqs = older[-(stream.window - stream.newest) :]
    memory_seqs = older[-stream.memory :] if stream.memory else []
    rng = np.random.default_rng([seed, upto])
    held: dict[int, np.ndarray] = {}
    if memory_seqs:
        per = max(1, stream.memory_rows // len(memory_seqs))
        for s in memory_seqs:
            n = store.load(s)[1].shape[0]
            held[s] = rng.choice(n, size=min(per, n // 2), replace=False)
    xs, ys, ages = [], [], []
    for age, s in enumerate(reversed(train_seqs)):
        x, y = store.load(s)
        keep = np.ones(len(y), dtype=bool)
        if s in held:
            keep[held[s]] = False
        xs.append(x[keep])
        ys.append(y[keep])
        ages.append(np.full(int(keep.sum()), age, dtype=np.int64))
    ex, ey, part = [], [], []
    for s in newest:
        x, y = store.load(s)
        ex.append(x)
        ey.append(y)
        part.append(np.zeros(len(y), dtype=np.int64))
    for s, rows in held.items():
        x, y = store.load(s)
        ex.append(x[rows])
        ey.append(y[rows])
        part.append(np.ones(len(rows), dtype=np.int64))
    return Window(
        np.concatenate(xs[::-1]), np.concatenate(ys[::-1]), np.concatenate(ages[::-1]),
        np.concatenate(ex), np.concatenate(ey), np.concatenate(part),
    )  # fmt: skip


def prepare_round(
    folder: Path,
    config: Config,
    stream: StreamSection,
    seed_files: Files,
    window: Window,
    *,
    hidden: list[Path],
) -> None:
    """Write the round's experiment folder (once: a resumed round keeps its own)."""
    if (folder / CONFIG_NAME).is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for rel, text in seed_files.items():
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    window.save(folder / "window.npz")
    (folder / "task.py").write_text(
        ROUND_TASK.format(metric=stream.metric, hidden=[str(p) for p in hidden]), encoding="utf-8"
    )
    tmp = folder / (CONFIG_NAME + ".tmp")
    tmp.write_text(round_toml(config, stream), encoding="utf-8")
    tmp.replace(folder / CONFIG_NAME)  # last: its presence says the folder is complete


def round_toml(config: Config, stream: StreamSection) -> str:
    data = config.model_dump(mode="json", exclude={"stream"}, exclude_none=True)
    data["task"] = stream_task_section(stream)
    # Inside a round the challenger is chosen automatically; the stream's own approval
    # mode applies to the stream's promotion, after the shadow batches.
    data["promotion"] = {
        **data["promotion"],
        "approval": "auto",
        "gate_tolerance": stream.forget_tolerance,
    }
    # The memory set's drop is judged by the forgetting guard, with its own tolerance.
    drop = max(float(data["detectors"]["heldout_drop"]), stream.forget_tolerance)
    data["detectors"] = {**data["detectors"], "heldout_drop": drop}
    head = "# Written by `evoforge watch` for one improvement round; the stream's config is its source.\n"
    return head + toml_text(data)


def round_run(folder: Path) -> RunDir | None:
    runs = folder / RUNS
    found = sorted(r for r in runs.iterdir() if (r / ARCHIVE).is_file()) if runs.is_dir() else []
    return RunDir(found[-1]) if found else None


def round_result(run: RunDir, *, elites: int) -> RoundResult:
    """What a finished round found: its champion if not the seed, with the evidence
    of its promotion, and its best other candidates (for the next round's start)."""
    with SQLiteArchive(run.archive, readonly=True) as archive:
        state = str(archive.get_meta("state", ""))
        champ = archive.champion()
        config = archive.get_meta("config") or {}
        objective = str(config.get("task", {}).get("objective", ""))
        maximize = config.get("task", {}).get("direction", "maximize") == "maximize"
        challenger: Files | None = None
        evidence: dict[str, Any] = {}
        pending = archive.approvals(states=[ApprovalState.PENDING])
        if champ is not None and champ.id != 1:
            challenger = archive.get_code(champ.code_hash)
            history = archive.champion_history()
            evidence = {"round_candidate": champ.id, "reason": history[-1].reason}
            evidence.update(_evidence_of(archive, champ.id))
        elif pending:  # flagged by a gaming detector: a person decides, at the stream's level
            best = archive.get(pending[-1].candidate_id)
            challenger = archive.get_code(best.code_hash)
            evidence = {"round_candidate": best.id, "reason": "flagged: waits for a person"}
            evidence.update(_evidence_of(archive, best.id))
            evidence["flags"] = list(best.flags)
        top = archive.top(objective, maximize=maximize, limit=elites + 2) if objective else []
        others = [c for c in top if champ is None or c.code_hash != champ.code_hash]
        rows = [
            {"id": c.id, "parents": list(c.parent_ids), "code_hash": c.code_hash,
             "status": c.status.value, "operator": c.operator or c.proposer,
             "metrics": dict(c.metrics), "heldout": dict(c.heldout)}
            for c in archive.candidates()
        ]  # fmt: skip
        return RoundResult(
            run.path, state, challenger, evidence,
            [archive.get_code(c.code_hash) for c in others[:elites]], rows,
        )  # fmt: skip


def _evidence_of(archive: SQLiteArchive, cid: int) -> dict[str, Any]:
    approvals = [a for a in archive.approvals() if a.candidate_id == cid]
    if not approvals:
        return {}
    ev = dict(approvals[-1].evidence)
    keep = ("gain", "stderr", "threshold", "gate_gain", "gate_ok", "per_example", "runs", "flags")
    return {k: ev[k] for k in keep if k in ev}


class WarmStart(Proposer):
    """The round's proposer: first the given programs (the last round's elites), then
    the configured proposer. The elites are evaluated on this round's window like any
    child, so nothing scored on older data is carried over."""

    name = "warm-start"

    def __init__(self, inner: Proposer, elites: Sequence[Files]) -> None:
        self.inner = inner
        self.elites = [dict(e) for e in elites]
        self.given = 0
        self.wants_context = inner.wants_context

    @property
    def operators(self) -> tuple[str, ...]:
        return ("elite", *self.inner.operators)

    @property
    def arity(self) -> int:
        return self.inner.arity

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if self.given < len(self.elites):
            self.given += 1
            return Proposal(self.elites[self.given - 1], "elite", note="the last round's elite")
        return self.inner.propose(parents, feedback, rng)

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        if child.operator != "elite":
            self.inner.tell(child, parents, feedback)

    def observe(self, child: Candidate, feedback: Feedback) -> None:
        self.inner.observe(child, feedback)

    def state(self) -> Mapping[str, Any]:
        return {"given": self.given, "inner": dict(self.inner.state())}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.given = int(state.get("given", 0))
        self.inner.load_state(state.get("inner", {}))

    def progress(self) -> str:
        return self.inner.progress()

    def close(self) -> None:
        self.inner.close()


@dataclass
class RoundProgress:
    """One line per finished candidate of a round (the round is a run: this is its display)."""

    say: Callable[[str], None]
    name: str
    objective: str

    def update(self, stats: Stats, finished: Candidate | None) -> None:
        if finished is None:
            return
        value = finished.metrics.get(self.objective)
        shown = f"{self.objective} {value:.4f}" if value is not None else finished.status.value
        best = "" if stats.best is None else f", best {stats.best:.4f}"
        self.say(
            f"  {self.name} #{finished.id} {finished.operator or finished.proposer}: {shown}{best}"
        )


def evidence_line(ev: Mapping[str, Any]) -> str:
    gain = ev.get("gain")
    parts = [] if gain is None else [f"gain {float(gain):+.4f} on the newest batches"]
    for name, value in dict(ev.get("gate_gain") or {}).items():
        parts.append(f"{name} {float(value):+.4f}")
    return ", ".join(parts) or "no figures recorded"


def audit_head(run: Path) -> list[object] | None:
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as a:
        head = a.get_meta("audit_head")
    return None if head is None else list(head)
