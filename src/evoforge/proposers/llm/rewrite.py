"""The ``rewrite`` format: fenced code blocks that give evolve blocks' new contents.

A line ``PATH block N`` (N counts the file's blocks from 1) before a fence names
the block it rewrites; markers in the fence are optional. A fence that holds a
whole file is accepted when its code outside the blocks is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from evoforge.candidate import Files
from evoforge.program import EvolveBlockError, blocks_of, frame_of
from evoforge.proposers.llm.edit_base import (
    _MARKER,
    OUTSIDE,
    EditRejected,
    _block_texts,
    _code_fences,
    _path_before,
    _rebuild,
)

_HEADER = re.compile(r"([\w./-]+)\s+block\s+(\d+)", re.I)


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


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _norm(lines: list[str]) -> list[str]:
    out = [ln.rstrip() for ln in lines]
    while out and not out[-1]:
        out.pop()
    return out
