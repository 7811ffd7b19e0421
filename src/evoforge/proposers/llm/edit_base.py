"""What the two edit formats share: the refusal, finding markers, fences and file names
in an answer, and the program's blocks keyed by (path, index within the file)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from evoforge.candidate import Files
from evoforge.program import program_blocks, replace_block

OUTSIDE = "edit touches code outside the evolve blocks"
_OPEN = re.compile(r"^[ \t]*<{5,}[ \t]*SEARCH", re.M)
_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"^\s*#\s*EVOLVE-BLOCK-(START|END)\b", re.M)


class EditRejected(ValueError):
    """The answer cannot become a valid child; the message says why."""


def _block_texts(files: Files) -> dict[tuple[str, int], str]:
    """(path, index within the file) -> inside text, in program order."""
    out: dict[tuple[str, int], str] = {}
    per_file: dict[str, int] = {}
    for b in program_blocks(files):
        index = per_file.get(b.path, 0)
        out[(b.path, index)] = b.text
        per_file[b.path] = index + 1
    return out


def _code_fences(text: str) -> list[re.Match[str]]:
    return [m for m in _FENCE.finditer(text) if not _OPEN.search(m.group(1))]


def _rebuild(files: Files, blocks: Mapping[tuple[str, int], str]) -> dict[str, str]:
    original = _block_texts(files)
    child = dict(files)
    for (path, index), text in blocks.items():
        if text != original[(path, index)]:
            child[path] = replace_block(child[path], path, index, text)
    return child


def _path_before(text: str, files: Files) -> str | None:
    """A program file named on the last line before an edit or fence (fence openers skipped)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    while lines and lines[-1].startswith("```"):
        lines.pop()
    line = lines[-1].strip("`*#:> \t") if lines else ""
    return line if line in files else None
