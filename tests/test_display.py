"""Progress lines: one per finished candidate, and the proposer's own line, throttled;
candidate text escaped; rates over every session of the run."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from evoforge.candidate import Candidate, Status
from evoforge.display import LineDisplay, LiveDisplay
from evoforge.loop_state import Stats


def test_the_proposers_progress_is_printed_when_it_changes_and_not_too_often() -> None:
    out = io.StringIO()
    display = LineDisplay(objective="score", stream=out, note_every=3600)
    stats = Stats(budget=10, proposer_note="search: 1,000 algorithms")
    display.update(stats, None)
    display.update(stats, None)  # unchanged: not repeated
    stats.proposer_note = "search: 2,000 algorithms"
    display.update(stats, None)  # changed, but too soon after the last one
    assert out.getvalue().splitlines() == ["[0/10] search: 1,000 algorithms"]
    display.note_every = 0.0
    display.update(stats, None)
    assert out.getvalue().splitlines()[-1] == "[0/10] search: 2,000 algorithms"


def test_a_finished_candidate_gets_its_line() -> None:
    out = io.StringIO()
    display = LineDisplay(objective="score", stream=out)
    done = Candidate(id=3, code_hash="h", proposer="automl", operator="improvement",
                     status=Status.SUCCEEDED, metrics={"score": 0.5})  # fmt: skip
    display.update(Stats(budget=None, evaluated=1), done)
    assert "#3 automl/improvement score=0.5" in out.getvalue()


HOSTILE_FAILURE = "exit code 1: \x1b[2J\x1b[H[bold]best 0.99[/bold] [link=http://x]y[/link]\u202e"


def _failed(failure: str) -> Candidate:
    return Candidate(id=4, code_hash="h", proposer="mutate", operator="point",
                     status=Status.FAILED, failure=failure)  # fmt: skip


def test_candidate_lines_print_the_candidates_control_characters_escaped() -> None:
    out = io.StringIO()
    display = LineDisplay(objective="score", stream=out, note_every=0.0)
    display.update(Stats(budget=10, evaluated=1, proposer_note="llm: \x1b]0;title\x07"), None)
    display.update(Stats(budget=10, evaluated=1), _failed(HOSTILE_FAILURE))
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "llm: \\x1b]0;title\\x07" in text
    assert "failed: exit code 1: \\x1b[2J\\x1b[H[bold]best 0.99[/bold]" in text


def test_the_live_table_prints_candidate_text_as_typed_not_as_rich_markup() -> None:
    console = Console(file=io.StringIO(), width=300, color_system=None, force_terminal=False)
    display = LiveDisplay(objective="score", console=console)
    stats = Stats(budget=10, evaluated=1, proposer_note="note [red]x[/red]")
    display.update(stats, _failed(HOSTILE_FAILURE))
    console.print(display._render(stats))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in text and "\u202e" not in text
    assert "[bold]best 0.99[/bold] [link=http://x]y[/link]\\u202e" in text
    assert "note [red]x[/red]" in text


def test_the_rate_counts_the_time_of_earlier_sessions_of_a_resumed_run() -> None:
    # 30 candidates: 20 in a first session of 9 minutes, 10 in this one, 1 minute old.
    now = time.time()
    stats = Stats(budget=40, evaluated=30, started_at=now - 60, elapsed_before=540)
    assert stats.per_minute(now) == pytest.approx(3.0, rel=1e-3)
    out = io.StringIO()
    LineDisplay(objective="score", stream=out).update(stats, _failed("exit code 1"))
    assert "| 3.0/min" in out.getvalue()
