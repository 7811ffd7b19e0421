"""The ``diff`` format: SEARCH/REPLACE edits of the insides of evolve blocks.

Each SEARCH text must occur exactly once in the evolve blocks (trailing spaces
aside); a line naming a program file just before an edit limits it to that file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evoforge.candidate import Files
from evoforge.proposers.llm.edit_base import (
    _MARKER,
    _OPEN,
    OUTSIDE,
    EditRejected,
    _block_texts,
    _path_before,
    _rebuild,
)

_EDIT = re.compile(
    r"^[ \t]*<{5,}[ \t]*SEARCH[^\n]*\n(.*?)^[ \t]*={5,}[ \t]*\n(.*?)^[ \t]*>{5,}[ \t]*REPLACE[^\n]*$",
    re.M | re.S,
)
_DIVIDER = re.compile(r"^[ \t]*={5,}[ \t]*$", re.M)
_CLOSE = re.compile(r"^[ \t]*>{5,}[ \t]*REPLACE", re.M)


@dataclass(frozen=True)
class Edit:
    search: str
    replace: str
    path: str | None = None


def parse_diff(text: str, files: Files) -> list[Edit]:
    """The SEARCH/REPLACE edits of ``text``, in order; EditRejected if one is malformed."""
    edits: list[Edit] = []
    pos = 0
    for m in _EDIT.finditer(text):
        edits.append(Edit(m.group(1), m.group(2), _path_before(text[pos : m.start()], files)))
        pos = m.end()
    opened = len(_OPEN.findall(text))
    if opened > len(edits):
        raise EditRejected(
            f"malformed SEARCH/REPLACE edit: {opened} opened, {len(edits)} complete; "
            f"{_incomplete(text)}"
        )
    return edits


def _incomplete(text: str) -> str:
    """What the first SEARCH that opens no complete edit lacks."""
    complete = [m.span() for m in _EDIT.finditer(text)]
    opens = [m.start() for m in _OPEN.finditer(text)]
    for n, start in enumerate(opens, 1):
        if any(a <= start < b for a, b in complete):
            continue
        end = next((o for o in opens if o > start), len(text))
        part = text[start:end]
        divider = _DIVIDER.search(part)
        if divider is None:
            return f"edit {n} has no '=======' line after its SEARCH text"
        if not _CLOSE.search(part, divider.end()):
            return f"edit {n} has no '>>>>>>> REPLACE' line (the answer may be cut off)"
        return f"edit {n}: '=======' and '>>>>>>> REPLACE' must be on lines of their own"
    return "each needs '=======' and '>>>>>>> REPLACE' on lines of their own"


def apply_diff(files: Files, edits: list[Edit]) -> dict[str, str]:
    """``files`` with each edit applied, in order, to the inside of the evolve blocks."""
    blocks = _block_texts(files)
    for n, edit in enumerate(edits, 1):
        label = f"edit {n}" if len(edits) > 1 else "the edit"
        if not edit.search.strip():
            raise EditRejected(f"{label} has an empty SEARCH text: copy the lines to replace")
        if _MARKER.search(edit.search) or _MARKER.search(edit.replace):
            raise EditRejected(f"{OUTSIDE} ({label} includes an EVOLVE-BLOCK marker line)")
        where = [k for k in blocks if edit.path in (None, k[0])]
        hits = [(k, span) for k in where for span in _find(blocks[k], edit.search)]
        if len(hits) > 1:
            raise EditRejected(
                f"SEARCH text of {label} matches {len(hits)} places in the evolve blocks: "
                "include more lines to make it unique"
            )
        if not hits:
            first = edit.search.strip().splitlines()[0][:80]
            if any(_find(files[p], edit.search) for p in files if edit.path in (None, p)):
                raise EditRejected(f"{OUTSIDE} (SEARCH text of {label} is outside them: {first!r})")
            raise EditRejected(f"SEARCH text not found in the evolve blocks ({label}: {first!r})")
        key, (start, end) = hits[0]
        old = blocks[key]
        new = edit.replace
        if new and not new.endswith("\n") and end < len(old):
            new += "\n"
        blocks[key] = old[:start] + new + old[end:]
    return _rebuild(files, blocks)


def _find(text: str, search: str) -> list[tuple[int, int]]:
    """Spans of whole lines of ``text`` equal to ``search``: exact, else ignoring trailing spaces."""
    exact = [
        (m.start(), m.start() + len(search))
        for m in re.finditer(re.escape(search), text)
        if m.start() == 0 or text[m.start() - 1] == "\n"
    ]
    if exact:
        return exact
    want = [line.rstrip() for line in search.strip("\n").split("\n")]
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    spans = []
    for i in range(len(lines) - len(want) + 1):
        if all(lines[i + j].rstrip() == w for j, w in enumerate(want)):
            spans.append((offsets[i], offsets[i + len(want)]))
    return spans
