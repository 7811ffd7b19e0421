"""Turn a model's answer into a child program, touching evolve blocks only.

Two answer formats:

``diff`` (SEARCH/REPLACE)::

    <<<<<<< SEARCH
    A = 0.5
    =======
    A = 1.5
    >>>>>>> REPLACE

  Each SEARCH text must occur exactly once in the evolve blocks (trailing spaces
  aside). A line naming a program file just before an edit limits it to that file.

``rewrite``: a line ``PATH block N`` (N counts the file's blocks from 1), then a
  fenced code block with the block's new content, markers optional. A fence that
  holds a whole file is accepted when its code outside the blocks is unchanged.

:func:`apply_answer` applies either (:mod:`.diff`, :mod:`.rewrite`) and checks the
result; every refusal is an :class:`~.edit_base.EditRejected` whose message is the
precise reason (for several fences: which fence, and what it lacks), recorded with
the raw answer. Line ends are normalised first (CRLF and CR become LF); ``<think>``
sections of reasoning models are ignored.
"""

from __future__ import annotations

import re

from evoforge.candidate import Files
from evoforge.program import frame_violations, syntax_errors
from evoforge.proposers.llm.diff import apply_diff, parse_diff
from evoforge.proposers.llm.edit_base import _MARKER, _OPEN, OUTSIDE, EditRejected, _code_fences
from evoforge.proposers.llm.rewrite import apply_rewrite, parse_rewrite

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.S)
_FENCE_LINE = re.compile(r"^[ \t]*```", re.M)


def apply_answer(
    answer: str, files: Files, *, seed: Files, edit_format: str
) -> tuple[dict[str, str], str]:
    """The child written by ``answer`` and the format it used ("diff" or "rewrite").

    The other format is accepted too when the preferred one is absent. Raises
    EditRejected when the answer is empty, has no code, does not apply, changes
    code outside the blocks (against ``seed``), does not parse, or changes nothing.
    """
    text = _THINK.sub("", answer.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise EditRejected("empty answer")
    has_diff = bool(_OPEN.search(text))
    has_code = bool(_code_fences(text) or (_MARKER.search(text) and not has_diff))
    if has_diff and (edit_format == "diff" or not has_code):
        child, used = apply_diff(files, parse_diff(text, files)), "diff"
    elif has_code:
        child, used = apply_rewrite(files, parse_rewrite(text, files)), "rewrite"
    elif len(_FENCE_LINE.findall(text)) % 2:
        raise EditRejected("a code fence is opened and never closed (``` on a line of its own)")
    else:
        want = "SEARCH/REPLACE edits" if edit_format == "diff" else "fenced code blocks"
        raise EditRejected(f"no code in the answer (expected {want})")
    if child == dict(files):
        raise EditRejected("child identical to parent")
    problems = frame_violations(seed, child)
    if problems:
        raise EditRejected(f"{OUTSIDE}: {'; '.join(problems)}")
    errors = syntax_errors(child)
    if errors:
        raise EditRejected(f"the edited program does not parse: {'; '.join(errors)}")
    return child, used
