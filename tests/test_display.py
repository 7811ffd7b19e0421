"""Progress lines: one per finished candidate, and the proposer's own line, throttled."""

from __future__ import annotations

import io

from evoforge.candidate import Candidate, Status
from evoforge.display import LineDisplay
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
