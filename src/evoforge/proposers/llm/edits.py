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

:func:`apply_answer` applies either and checks the result; every refusal is an
:class:`EditRejected` whose message is the precise reason (for several fences:
which fence, and what it lacks), recorded with the raw answer. Line ends are
normalised first (CRLF and CR become LF); ``<think>`` sections of reasoning models
are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from evoforge.candidate import Files
from evoforge.program import (
    EvolveBlockError,
    blocks_of,
    frame_of,
    frame_violations,
    program_blocks,
    replace_block,
    syntax_errors,
)

OUTSIDE = "edit touches code outside the evolve blocks"
_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.S)
_EDIT = re.compile(
    r"^[ \t]*<{5,}[ \t]*SEARCH[^\n]*\n(.*?)^[ \t]*={5,}[ \t]*\n(.*?)^[ \t]*>{5,}[ \t]*REPLACE[^\n]*$",
    re.M | re.S,
)
_OPEN = re.compile(r"^[ \t]*<{5,}[ \t]*SEARCH", re.M)
_DIVIDER = re.compile(r"^[ \t]*={5,}[ \t]*$", re.M)
_CLOSE = re.compile(r"^[ \t]*>{5,}[ \t]*REPLACE", re.M)
_FENCE_LINE = re.compile(r"^[ \t]*```", re.M)
_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"^\s*#\s*EVOLVE-BLOCK-(START|END)\b", re.M)
_HEADER = re.compile(r"([\w./-]+)\s+block\s+(\d+)", re.I)


class EditRejected(ValueError):
    """The answer cannot become a valid child; the message says why."""


@dataclass(frozen=True)
class Edit:
    search: str
    replace: str
    path: str | None = None


@dataclass(frozen=True)
class Rewrite:
    text: str
    """Fence content: a block's inside, a block with its markers, or a whole file."""
    path: str | None = None
    block: int | None = None
    """0-based index of the block within ``path``."""
    fence: int = 0
    """1-based position among the answer's code fences (0: the answer is no fence)."""
    targets: tuple[tuple[str, int], ...] = ()
    """The blocks it was found to rewrite (set while applying)."""

    @property
    def label(self) -> str:
        return f"fence {self.fence}" if self.fence else "the answer"


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


# -- SEARCH/REPLACE ---------------------------------------------------------------


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


# -- rewrites ---------------------------------------------------------------------


def parse_rewrite(text: str, files: Files) -> list[Rewrite]:
    """The fenced code blocks of ``text`` with the block each one names (if any)."""
    found: list[Rewrite] = []
    pos = 0
    for n, m in enumerate(_code_fences(text), 1):
        header = _last_line(text[pos : m.start()])
        pos = m.end()
        named = _HEADER.search(header)
        if named and named.group(1) in files:
            found.append(Rewrite(m.group(1), named.group(1), int(named.group(2)) - 1, n))
        else:
            found.append(Rewrite(m.group(1), _path_before(header, files), fence=n))
    if not found and _MARKER.search(text):
        found.append(Rewrite(text))  # markers without a fence: the whole answer is the code
    return found


def apply_rewrite(files: Files, rewrites: list[Rewrite]) -> dict[str, str]:
    """``files`` with the blocks the rewrites give; blocks not given stay as they are."""
    blocks = _block_texts(files)
    order = list(blocks)
    given: dict[tuple[str, int], str] = {}
    named: list[Rewrite] = []
    loose: list[tuple[Rewrite, list[str]]] = []
    for rw in rewrites:
        inner = _insides(rw, files)
        if rw.path is not None and rw.block is not None:
            where = f"{rw.label} ({rw.path} block {rw.block + 1})"
            if len(inner) != 1:
                raise EditRejected(f"{where} holds {len(inner)} blocks: give one block per fence")
            targets = [(rw.path, rw.block)]
            if targets[0] not in blocks:
                count = sum(1 for k in order if k[0] == rw.path)
                raise EditRejected(
                    f"{where}: {rw.path} has {count} evolve block(s), no block {rw.block + 1}"
                )
        elif rw.path is not None and len(inner) == sum(1 for k in order if k[0] == rw.path):
            targets = [k for k in order if k[0] == rw.path]
        else:
            loose.append((rw, inner))
            continue
        for key, new in zip(targets, inner, strict=True):
            first = next((o for o in named if key in o.targets), None)
            if first is not None:
                raise EditRejected(
                    f"{key[0]} block {key[1] + 1} is rewritten twice ({first.label} and "
                    f"{rw.label}): give each block once"
                )
            given[key] = new
        named.append(replace(rw, targets=tuple(targets)))
    insides = [text for _, inner in loose for text in inner]
    if loose:
        if given or len(insides) != len(order):
            raise EditRejected(_unplaced(loose, named, order))
        given = dict(zip(order, insides, strict=True))
    blocks.update(given)
    return _rebuild(files, blocks)


def _unplaced(
    loose: list[tuple[Rewrite, list[str]]], named: list[Rewrite], order: list[tuple[str, int]]
) -> str:
    """Why fences that name no block cannot be placed: which ones, and what is wrong."""
    fix = "write 'PATH block N' before each fence"
    for rw, inner in loose:
        if rw.path is not None:
            count = sum(1 for k in order if k[0] == rw.path)
            return (
                f"{rw.label} names {rw.path}, which has {_n(count, 'evolve block')}, but "
                f"holds {len(inner)}: write '{rw.path} block N' before it"
            )
    which = _fences([rw for rw, _ in loose])
    one = len(loose) == 1
    if named:
        others = "; ".join(f"{rw.label} names {_blocks(rw.targets)}" for rw in named)
        return (
            f"{which} {'names' if one else 'name'} no block while {others}: {fix} "
            "(code that is no new block, an example say, belongs outside fences)"
        )
    given = sum(len(inner) for _, inner in loose)
    blocks = _n(len(order), "evolve block")
    if given > len(order):
        return (
            f"{which} {'holds' if one else 'hold'} {_n(given, 'block')} of code for the "
            f"program's {blocks}, so which is the new code is ambiguous: {fix}"
        )
    return (
        f"{which} {'rewrites' if one else 'rewrite'} {given} of the program's {blocks} "
        f"without saying which: {fix}"
    )


def _fences(rewrites: list[Rewrite]) -> str:
    """ "fence 2", "fences 1 and 3", "fences 1, 2 and 3" (or "the answer")."""
    numbers = [str(rw.fence) for rw in rewrites if rw.fence]
    if not numbers:
        return "the answer"
    if len(numbers) == 1:
        return f"fence {numbers[0]}"
    return f"fences {', '.join(numbers[:-1])} and {numbers[-1]}"


def _blocks(targets: tuple[tuple[str, int], ...]) -> str:
    path = targets[0][0]
    if len(targets) == 1:
        return f"{path} block {targets[0][1] + 1}"
    return f"{path} (its {len(targets)} blocks)"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _insides(rw: Rewrite, files: Files) -> list[str]:
    """The block insides a fence gives, checking a whole file's frame is unchanged."""
    text = rw.text
    if not _MARKER.search(text):
        return [text]
    try:
        found = blocks_of(rw.path or "<answer>", text)
    except EvolveBlockError as exc:
        raise EditRejected(f"the answer's EVOLVE-BLOCK markers are unbalanced: {exc}") from None
    lines = text.splitlines()
    inside = {i for b in found for i in range(b.start, b.end + 1)}
    outside = [ln for i, ln in enumerate(lines) if i not in inside and ln.strip()]
    if outside:
        target = _whole_file_target(rw, files, len(found))
        if _norm(frame_of(text)) != _norm(frame_of(files[target], target)):
            raise EditRejected(f"{OUTSIDE} (the rewritten {target} changes lines outside them)")
    return [b.text for b in found]


def _whole_file_target(rw: Rewrite, files: Files, n_blocks: int) -> str:
    if rw.path is not None:
        return rw.path
    fits = [p for p in sorted(files) if len(blocks_of(p, files[p])) == n_blocks]
    if len(files) == 1:
        return next(iter(files))
    if len(fits) == 1:
        return fits[0]
    raise EditRejected(
        "a fence holds a whole file but does not say which: write its path before it"
    )


# -- shared -------------------------------------------------------------------------


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


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _norm(lines: list[str]) -> list[str]:
    out = [ln.rstrip() for ln in lines]
    while out and not out[-1]:
        out.pop()
    return out
