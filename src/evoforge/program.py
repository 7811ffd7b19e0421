"""Programs and their evolve blocks.

Only the lines between ``# EVOLVE-BLOCK-START`` and ``# EVOLVE-BLOCK-END`` may
change. Everything outside them (the markers included) is the *frame*, and a
child's frame must be byte-identical to the seed's.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from evoforge.candidate import Files

START = "# EVOLVE-BLOCK-START"
END = "# EVOLVE-BLOCK-END"
_MARKER = re.compile(r"^\s*#\s*EVOLVE-BLOCK-(START|END)\b")


class EvolveBlockError(ValueError):
    """Markers are unbalanced, nested, or missing."""


@dataclass(frozen=True)
class Block:
    """One evolve block of one file; lines are 0-based, ``start`` is the START marker."""

    path: str
    start: int
    end: int
    text: str
    """The editable lines between the markers, each ending with a newline."""


def blocks_of(path: str, source: str) -> list[Block]:
    """The evolve blocks of one file, checking the markers are balanced."""
    lines = source.splitlines(keepends=True)
    found: list[Block] = []
    open_at: int | None = None
    for i, line in enumerate(lines):
        m = _MARKER.match(line)
        if not m:
            continue
        if m.group(1) == "START":
            if open_at is not None:
                raise EvolveBlockError(
                    f"{path}:{i + 1}: EVOLVE-BLOCK-START inside the block opened at line "
                    f"{open_at + 1} (blocks cannot nest)"
                )
            open_at = i
        else:
            if open_at is None:
                raise EvolveBlockError(f"{path}:{i + 1}: EVOLVE-BLOCK-END with no START before it")
            found.append(Block(path, open_at, i, "".join(lines[open_at + 1 : i])))
            open_at = None
    if open_at is not None:
        raise EvolveBlockError(f"{path}:{open_at + 1}: EVOLVE-BLOCK-START is never closed")
    return found


def program_blocks(files: Files) -> list[Block]:
    out: list[Block] = []
    for path in sorted(files):
        out.extend(blocks_of(path, files[path]))
    return out


def frame_of(source: str, path: str = "<program>") -> list[str]:
    """The file with each block's inside replaced by one placeholder line."""
    lines = source.splitlines(keepends=True)
    frame: list[str] = []
    pos = 0
    for block in blocks_of(path, source):
        frame.extend(lines[pos : block.start + 1])
        frame.append("\0BLOCK\0")
        pos = block.end
    frame.extend(lines[pos:])
    return frame


def frame_violations(seed: Files, child: Files) -> list[str]:
    """Why ``child`` is not a valid edit of ``seed``; empty when it is.

    A valid child has the same files, the same number of blocks per file, and
    every byte outside the blocks identical to the seed.
    """
    problems: list[str] = []
    if set(seed) != set(child):
        added = sorted(set(child) - set(seed))
        removed = sorted(set(seed) - set(child))
        if added:
            problems.append(f"files added: {', '.join(added)}")
        if removed:
            problems.append(f"files removed: {', '.join(removed)}")
    for path in sorted(set(seed) & set(child)):
        if seed[path] == child[path]:
            continue
        try:
            child_frame = frame_of(child[path], path)
        except EvolveBlockError as exc:
            problems.append(str(exc))
            continue
        seed_frame = frame_of(seed[path], path)
        if child_frame != seed_frame:
            line = _first_difference(seed_frame, child_frame)
            problems.append(
                f"{path}: code outside the evolve blocks changed (near frame line {line})"
            )
    return problems


def _first_difference(a: list[str], b: list[str]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i + 1
    return min(len(a), len(b)) + 1


def syntax_errors(files: Files) -> list[str]:
    """Python files of the program that do not parse, with the error."""
    problems: list[str] = []
    for path in sorted(files):
        if not path.endswith(".py"):
            continue
        try:
            ast.parse(files[path], filename=path)
        except SyntaxError as exc:
            problems.append(f"{path}:{exc.lineno}: syntax error: {exc.msg}")
    return problems


def replace_block(source: str, path: str, index: int, new_text: str) -> str:
    """``source`` with the inside of its ``index``-th block replaced by ``new_text``."""
    block = blocks_of(path, source)[index]
    lines = source.splitlines(keepends=True)
    if new_text and not new_text.endswith("\n"):
        new_text += "\n"
    return "".join(lines[: block.start + 1]) + new_text + "".join(lines[block.end :])


def unified_diff(old: Files, new: Files, *, context: int = 3) -> str:
    """A unified diff between two programs, file by file."""
    chunks: list[str] = []
    for path in sorted(set(old) | set(new)):
        a = old.get(path, "").splitlines(keepends=True)
        b = new.get(path, "").splitlines(keepends=True)
        if a == b:
            continue
        chunks.extend(
            difflib.unified_diff(a, b, fromfile=f"a/{path}", tofile=f"b/{path}", n=context)
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def load_files(root: str | object, paths: list[str]) -> dict[str, str]:
    from pathlib import Path

    base = Path(str(root))
    return {p: (base / p).read_text(encoding="utf-8") for p in paths}


def as_dict(files: Mapping[str, str]) -> dict[str, str]:
    return dict(files)
