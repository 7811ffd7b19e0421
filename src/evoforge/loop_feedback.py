"""What a proposer is shown of the run: parents with their code, and the feedback beside them.

Held-out metrics, and flags built from them, never reach a proposer: every record it
is shown passes through ``for_proposer``, the one place they are stripped.
"""

from __future__ import annotations

from dataclasses import replace

from evoforge.archive import Archive
from evoforge.candidate import Candidate, Files, Status
from evoforge.config import Direction
from evoforge.gates.detectors import visible_flags
from evoforge.proposers._base import Feedback, Parent


def for_proposer(c: Candidate) -> Candidate:
    """The record without what a proposer must not see."""
    return replace(c, heldout={}, flags=visible_flags(c.flags))


def as_parent(archive: Archive, c: Candidate) -> Parent:
    return Parent(for_proposer(c), archive.get_code(c.code_hash))


def proposer_feedback(
    archive: Archive, *, objective: str, maximize: bool, seed: Files, context: bool
) -> Feedback:
    """The objective and the seed; with ``context``, the best, a few others and recent failures."""
    direction = Direction.MAXIMIZE if maximize else Direction.MINIMIZE
    if not context:
        return Feedback(objective=objective, direction=direction, seed=seed)
    top = archive.top(objective, maximize=maximize, limit=3)
    # Beside the best, a few recent successes (often other islands, other ideas).
    seen = {c.id for c in top}
    recent_ok = [c for c in archive.recent(island=None, limit=8) if c.id not in seen]
    recent = archive.candidates(statuses=(Status.FAILED,), since_id=max(0, archive.size() - 30))
    return Feedback(
        objective=objective,
        direction=direction,
        seed=seed,
        best=as_parent(archive, top[0]) if top else None,
        inspirations=[as_parent(archive, c) for c in [*top[1:], *recent_ok[-2:]]],
        recent_failures=[for_proposer(c) for c in recent[-3:]],
    )
