"""The architecture as data in the program: a module-level ``ARCH = {...}`` literal
inside an evolve block, read with :func:`ast.literal_eval` (never executed) and
written back in place, every other byte of the program kept."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from evoforge.candidate import Files
from evoforge.domains.nas.cell import problem
from evoforge.domains.nas.space import Arch
from evoforge.program import EvolveBlockError, program_blocks


class ArchError(ValueError):
    """The program has no readable, valid architecture literal."""


@dataclass(frozen=True)
class Found:
    path: str
    first: int  # 0-based line of the assignment
    last: int  # 0-based, inclusive
    arch: Arch


def find_arch(files: Files, name: str = "ARCH") -> Found:
    """The ``name = {...}`` assignment in an evolve block, and its value."""
    try:
        blocks = program_blocks(files)
    except EvolveBlockError as exc:
        raise ArchError(str(exc)) from None
    trees: dict[str, ast.Module] = {}
    for block in blocks:
        if block.path not in trees:
            try:
                trees[block.path] = ast.parse(files[block.path])
            except SyntaxError as exc:
                raise ArchError(f"{block.path}: {exc}") from None
        for node in trees[block.path].body:
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            if not (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == [name]
                and block.start < first
                and last < block.end
            ):
                continue
            try:
                arch = ast.literal_eval(node.value)
            except ValueError:
                raise ArchError(f"{block.path}:{first + 1}: {name} must be a literal") from None
            if why := problem(arch):
                raise ArchError(f"{block.path}:{first + 1}: {name}: {why}")
            return Found(block.path, first, last, arch)
    raise ArchError(f"no `{name} = {{...}}` architecture literal in an evolve block")


FIXED = "  # evolve: fixed  # the architecture search edits it; the mutator leaves it"


def render(arch: Arch, name: str = "ARCH") -> str:
    """``name = {...}`` on one line, keys in the order of the cell module's docstring, as
    a ``# evolve: fixed`` line: the built-in mutator's moves on numbers would give
    architectures the builder refuses (a stage ``[2, 48, 48]``)."""
    body = ", ".join(f"{k!r}: {arch[k]!r}" for k in ("conv", "stem", "stages", "cell"))
    return f"{name} = {{{body}}}".replace("'", '"') + FIXED + "\n"


def with_arch(files: Files, found: Found, arch: Arch, name: str = "ARCH") -> dict[str, str]:
    """A copy of ``files`` whose literal (where :func:`find_arch` found it) is ``arch``."""
    lines = files[found.path].splitlines(keepends=True)
    lines[found.first : found.last + 1] = [render(arch, name)]
    return {**files, found.path: "".join(lines)}
