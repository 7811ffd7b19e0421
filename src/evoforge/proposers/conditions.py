"""Conditional parameters: ``# evolve: SPEC when NAME in [...]``.

A declared parameter may be active only for some values of another::

    MODEL = "svm"      # evolve: choice["svm", "gb", "rf"]
    MAX_DEPTH = 3      # evolve: int[1, 12] when MODEL in ["gb", "rf"]
    C = 1.0            # evolve: log[0.01, 100] when MODEL == "svm"

A parameter whose condition does not hold (or whose parent is itself inactive) is
*inactive*: the mutator does not change it, the Optuna proposer does not sample it
(Optuna sees a conditional space), and a child that differs from an earlier program
only in inactive parameters is the same program (:func:`functional_hash`): the loop
records it as a duplicate and does not run it.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from evoforge.candidate import Files
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.values import Value, _same

_WHEN = re.compile(r"^(?P<spec>.*?(?:\]|\bbool|\bfixed))\s+when\s+(?P<cond>.+)$", re.S)
_COND = re.compile(r"^(?P<name>[A-Za-z_][\w.]*)\s*(?P<op>==|\bin\b)\s*(?P<rest>.+)$", re.S)


@dataclass(frozen=True)
class Condition:
    name: str
    values: tuple[Value, ...]

    def holds(self, value: Value) -> bool:
        return any(_same(value, v) for v in self.values)

    def __str__(self) -> str:
        if len(self.values) == 1:
            return f"{self.name} == {self.values[0]!r}"
        return f"{self.name} in {list(self.values)!r}"


def split_condition(text: str) -> tuple[str, Condition | None]:
    """An annotation's spec text and its ``when`` condition (None when it has none)."""
    m = _WHEN.match(text.strip())
    if m is None:
        if re.search(r"\swhen\s", f" {text} "):
            raise ParamSpecError(f"cannot read the condition in {text.strip()!r}")
        return text, None
    cond = _COND.match(m.group("cond").strip())
    if cond is None:
        raise ParamSpecError(
            f"`when {m.group('cond').strip()}`: a condition is `when NAME in [...]` "
            "or `when NAME == literal`"
        )
    try:
        value = ast.literal_eval(cond.group("rest").strip())
    except (ValueError, SyntaxError):
        raise ParamSpecError(
            f"`when {m.group('cond').strip()}`: the values must be literals"
        ) from None
    values = value if cond.group("op") == "in" else [value]
    if not isinstance(values, list | tuple) or not values:
        raise ParamSpecError(f"`when ... in {value!r}`: needs a non-empty [...] list")
    if not all(isinstance(v, bool | int | float | str) for v in values):
        raise ParamSpecError("a condition's values must be str/int/float/bool literals")
    return m.group("spec"), Condition(cond.group("name"), tuple(values))


class _Sited(Protocol):  # what this module needs of a site (evoforge.proposers.sites.Site)
    @property
    def value(self) -> Value: ...

    @property
    def when(self) -> Condition | None: ...

    @property
    def spec(self) -> object: ...

    @property
    def path(self) -> str: ...

    @property
    def line(self) -> int: ...


def condition_problems(named: Mapping[str, _Sited]) -> list[str]:
    """Why the conditions of declared parameters (by name) are wrong, if they are."""
    problems = []
    for name, site in named.items():
        cond = site.when
        if cond is None:
            continue
        where = f"{site.path}:{site.line}: {name}: `when {cond}`"
        parent = named.get(cond.name)
        if parent is None:
            problems.append(f"{where}: {cond.name} is not a declared parameter")
            continue
        problem = getattr(parent.spec, "problem", None)
        bad = [v for v in cond.values if problem is not None and problem(v)]
        if bad:
            problems.append(f"{where}: {cond.name} cannot be {bad[0]!r}")
        seen, at = {name}, cond.name
        while at in named and (up := named[at].when) is not None:
            if up.name in seen or at in seen:
                problems.append(f"{where}: the `when` conditions form a cycle")
                break
            seen.add(at)
            at = up.name
    return problems


def inactive(named: Mapping[str, _Sited], values: Mapping[str, Value] | None = None) -> set[str]:
    """The names whose condition fails for ``values`` (default: the program's own)."""
    current = {n: s.value for n, s in named.items()}
    current.update(values or {})
    out: set[str] = set()
    memo: dict[str, bool] = {}

    def active(name: str, depth: int = 0) -> bool:
        if name not in memo:
            cond = named[name].when if name in named else None
            memo[name] = cond is None or (
                depth < len(named)
                and cond.name in named
                and active(cond.name, depth + 1)
                and cond.holds(current[cond.name])
            )
        return memo[name]

    for name in named:
        if not active(name):
            out.add(name)
    return out


def parents_first(named: Mapping[str, _Sited]) -> list[str]:
    """The names with every parameter after those its condition names."""
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str, depth: int = 0) -> None:
        if name in placed or depth > len(named):
            return
        cond = named[name].when
        if cond is not None and cond.name in named:
            place(cond.name, depth + 1)
        placed.add(name)
        order.append(name)

    for name in named:
        place(name)
    return order


def functional_hash(files: Files, spans: Sequence[tuple[str, int, int, int, int]]) -> str:
    """A content address of the program that ignores the literals at ``spans`` (the
    inactive parameters' sites: path, line, col, end line, end col)."""
    by_path: dict[str, list[tuple[int, int, int, int]]] = {}
    for path, line, col, end_line, end_col in spans:
        by_path.setdefault(path, []).append((line, col, end_line, end_col))
    h = hashlib.sha256()
    for path in sorted(files):
        source = files[path]
        if path in by_path:
            starts = [0, *(m.end() for m in re.finditer(r"\r\n?|\n", source))]  # as ast's
            for first, col, last, end_col in sorted(by_path[path], reverse=True):
                a, b = starts[first - 1] + col, starts[last - 1] + end_col
                source = source[:a] + "\0inactive\0" + source[b:]
        h.update(path.encode())
        h.update(b"\0")
        h.update(source.encode())
        h.update(b"\0")
    return h.hexdigest()
