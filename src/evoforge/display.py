"""Progress while a run goes: a live bar and table on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from evoforge.candidate import Candidate, Status
from evoforge.loop_state import Stats
from evoforge.textsafe import one_line


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class LiveDisplay:
    """A rich progress bar and a table of the run's figures, redrawn in place."""

    def __init__(self, *, objective: str, console: Console | None = None) -> None:
        self.objective = objective
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]candidates"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._task = self._progress.add_task("run", total=None)
        self._live: Live | None = None
        self._last: list[str] = []

    def __enter__(self) -> LiveDisplay:
        self._live = Live(
            self._render(None), console=self.console, refresh_per_second=4, transient=False
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, stats: Stats, finished: Candidate | None) -> None:
        self._progress.update(self._task, total=stats.budget, completed=stats.evaluated)
        if finished is not None:
            self._last = ([line_for(finished, self.objective), *self._last])[:5]
        if self._live is not None:
            self._live.update(self._render(stats))

    def _render(self, stats: Stats | None) -> Group:
        table = Table(show_header=True, header_style="bold", box=None)
        for col in (
            "done",
            "in flight",
            f"best {self.objective}",
            "champion held-out",
            "per min",
            "failed",
            "rejected",
        ):
            table.add_column(col)
        if stats is not None:
            held = Text(", ".join(f"{k}={v:.4g}" for k, v in stats.best_heldout.items()) or "-")
            table.add_row(
                f"{stats.evaluated}/{stats.budget or '-'}",
                str(stats.in_flight),
                _fmt(stats.best),
                held,
                f"{stats.per_minute(time.time()):.1f}",
                str(stats.failed),
                str(stats.rejected + stats.duplicates),
            )
        note = [stats.proposer_note] if stats is not None and stats.proposer_note else []
        # Text, not str: rich would read a str as markup, and these lines hold the
        # candidates' failures and notes ("[link=...]" and the like must print as typed).
        lines = [Text(one_line(line)) for line in (*note, *self._last)]
        return Group(self._progress, table, *lines)


class LineDisplay:
    """One line per finished candidate: for logs, CI and pipes; and the proposer's
    progress line when it changed, at most every ``note_every`` seconds."""

    def __init__(
        self, *, objective: str, stream: TextIO | None = None, note_every: float = 15.0
    ) -> None:
        self.objective = objective
        self.stream = stream or sys.stderr
        self.note_every = note_every
        self._note = ""
        self._note_at = 0.0

    def __enter__(self) -> LineDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, stats: Stats, finished: Candidate | None) -> None:
        now = time.time()
        note = stats.proposer_note
        if note and note != self._note and now - self._note_at >= self.note_every:
            self._note, self._note_at = note, now
            line = f"[{stats.evaluated}/{stats.budget or '-'}] {one_line(note)}"
            print(line, file=self.stream, flush=True)
        if finished is None:
            return
        budget = stats.budget or "-"
        print(
            f"[{stats.evaluated}/{budget}] {line_for(finished, self.objective)}"
            f" | best {_fmt(stats.best)} | {stats.per_minute(time.time()):.1f}/min",
            file=self.stream,
            flush=True,
        )


def line_for(c: Candidate, objective: str) -> str:
    """The candidate's line, escaped: its failure reason is built from its own output."""
    if c.status == Status.SUCCEEDED:
        what = f"{objective}={_fmt(c.score(objective))}"
    else:
        what = f"{c.status.value}: {c.failure.splitlines()[0][:100] if c.failure else ''}"
    flags = f" [flags: {', '.join(c.flags)}]" if c.flags else ""
    return one_line(f"#{c.id} {c.proposer}/{c.operator} {what} ({c.wall_s:.1f}s){flags}")


def make_display(objective: str) -> LiveDisplay | LineDisplay:
    if sys.stderr.isatty():
        return LiveDisplay(objective=objective)
    return LineDisplay(objective=objective)
