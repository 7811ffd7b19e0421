"""The constraint gate's static scan of the code inside one file's evolve blocks.

Only nodes that start on a line inside a block are judged; the frame around the
blocks is the user's trusted code. The frame still informs the judgement: import
aliases are collected from the whole file (the frame may ``import os as o`` and a
block call ``o.system``), and names the frame binds at module level may not be
rebound by a block.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from evoforge.gates._forbidden import (
    ATTRIBUTE_REASONS,
    CALL_REASONS,
    IMPORT_REASONS,
    SPECIAL_METHOD_REASON,
    SPECIAL_METHODS,
)
from evoforge.program import EvolveBlockError, blocks_of

_ABSOLUTE = re.compile(r"^(?:/[\w.~-]|~/)")
_CLIMBING = re.compile(r"(?:^|/)\.\.(?:/|$)")
_ATTR_FUNCS = ("getattr", "setattr", "delattr", "hasattr")


@dataclass(frozen=True)
class ScanRules:
    """The policy as the scan needs it (built by the gate from its ConstraintPolicy)."""

    forbid_imports: tuple[str, ...]
    allow_imports: tuple[str, ...]
    forbid_calls: tuple[str, ...]
    path_needles: tuple[str, ...]
    """Strings no literal in a block may contain (forbidden paths and file names)."""
    task_modules: tuple[str, ...]
    """Module names of the task's code (``task`` for ``task.py``)."""


def scan_file(path: str, source: str, rules: ScanRules) -> list[str]:
    """Every reason the blocks of one Python file break the rules, as ``path:line: ...``
    in line order; empty when the file does not parse or its markers are broken
    (the region gate reports those)."""
    try:
        blocks = blocks_of(path, source)
        tree = ast.parse(source, filename=path)
    except (EvolveBlockError, SyntaxError, ValueError):
        return []
    inner = {n for b in blocks for n in range(b.start + 2, b.end + 1)}
    if not inner:
        return []
    found = _Scan(tree, inner, rules).run()
    return [f"{path}:{line}: {message}" for line, message in found]


class _Scan:
    """One pass over one file: what the frame binds and imports, then every judged node."""

    def __init__(self, tree: ast.Module, inner: set[int], rules: ScanRules) -> None:
        self.tree = tree
        self.inner = inner
        self.rules = rules
        self.found: dict[tuple[int, str], None] = {}
        self.aliases: dict[str, set[str]] = {}
        for node in ast.walk(tree):
            for name, module in _import_bindings(node):
                self.aliases.setdefault(name, set()).add(module)
        self.frame: dict[str, set[str | None]] = {}
        self.frame_code: set[str] = set()
        for line, name, bound_to, stmt in _module_bindings(tree.body):
            if line not in inner:
                self.frame.setdefault(name, set()).add(bound_to)
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    self.frame_code.add(name)
        # Nodes judged as part of a longer chain (the `os` of `os.system`) or as an
        # f-string piece after a placeholder (f"{x}/epoch" is no absolute path).
        self.chain_inner: set[int] = set()
        self.fstring_tail: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                self.chain_inner.add(id(node.value))
            elif isinstance(node, ast.JoinedStr):
                self.fstring_tail.update(id(v) for v in node.values[1:])

    def run(self) -> list[tuple[int, str]]:
        for node in ast.walk(self.tree):
            line = getattr(node, "lineno", None)
            if line in self.inner:
                self._node(node, line)
            if isinstance(node, ast.ClassDef):
                self._special_methods(node)
        for line, name, target, _ in _module_bindings(self.tree.body):
            if (
                line in self.inner
                and name in self.frame
                and target not in self.frame[name] - {None}
            ):
                self._add(line, f"rebinding '{name}' is forbidden (the frame defines it)")
        return sorted(self.found, key=lambda k: k[0])

    def _add(self, line: int, message: str) -> None:
        self.found.setdefault((line, message), None)

    def _node(self, node: ast.AST, line: int) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._imported(alias.name, line)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if alias.name == "*":
                    self._star(module, line)
                else:
                    self._imported(f"{module}.{alias.name}" if module else alias.name, line)
        elif isinstance(node, ast.Name | ast.Attribute):
            if isinstance(node, ast.Attribute) and node.attr in ATTRIBUTE_REASONS:
                why = ATTRIBUTE_REASONS[node.attr]
                self._add(line, f"'.{node.attr}' is forbidden ({why})")
            if (
                isinstance(node, ast.Name)
                and node.id.startswith("__")
                and node.id in ATTRIBUTE_REASONS
            ):
                self._add(line, f"'{node.id}' is forbidden ({ATTRIBUTE_REASONS[node.id]})")
            if id(node) not in self.chain_inner:
                self._reference(node, line)
        elif isinstance(node, ast.Call):
            self._attr_call(node, line)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            self._string(node, line)
        elif isinstance(node, ast.Global):
            for name in node.names:
                if name in self.frame:
                    self._add(line, f"'global {name}' is forbidden (the frame defines '{name}')")
        for target in _assigned(node):
            self._patch(target, line)

    # -- imports and references ------------------------------------------------

    def _imported(self, name: str, line: int) -> None:
        why = self._module_rule(name) or self._call_rule(name, via_import=True)
        if why:
            self._add(line, f"import of '{name}' is forbidden ({why})")

    def _star(self, module: str, line: int) -> None:
        why = self._module_rule(module)
        if why:
            self._add(line, f"import of '{module}' is forbidden ({why})")
        elif any(p.startswith(module + ".") for p in self.rules.forbid_calls):
            self._add(
                line, f"'from {module} import *' is forbidden (it hides which names are used)"
            )

    def _reference(self, node: ast.expr, line: int) -> None:
        for name, via_import in self._resolve(node):
            why = self._call_rule(name, via_import=via_import)
            if why is None and via_import:
                why = self._module_rule(name)
            if why:
                self._add(line, f"'{name}' is forbidden ({why})")
                return

    def _resolve(self, node: ast.expr) -> list[tuple[str, bool]]:
        """The dotted names ``node`` may stand for, and whether they come through an import."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return []
        rest = "".join(f".{p}" for p in reversed(parts))
        if node.id in self.aliases:
            return [(t + rest, True) for t in sorted(self.aliases[node.id])]
        return [(node.id + rest, False)]

    def _call_rule(self, name: str, *, via_import: bool) -> str | None:
        """Why ``name`` is a forbidden call; bare entries (builtins) match only names
        that no import binds, dotted entries only names that come through one."""
        prefixes = _prefixes(name)
        for pattern in self.rules.forbid_calls:
            if ("." in pattern) != via_import:
                continue
            candidates = prefixes if via_import else prefixes[:1]
            if any(p == pattern or fnmatchcase(p, pattern) for p in candidates):
                return CALL_REASONS.get(pattern, "forbidden by the policy")
        return None

    def _module_rule(self, name: str) -> str | None:
        """Why module ``name`` (or the name inside it) is forbidden; the longest
        matching entry of the forbidden and allowed lists wins, a grant on a tie."""
        forbid = [p for p in _prefixes(name) if p in self.rules.forbid_imports]
        task = [p for p in _prefixes(name)[:1] if p in self.rules.task_modules]
        allow = [p for p in _prefixes(name) if p in self.rules.allow_imports]
        worst = max(forbid + task, key=len, default=None)
        if worst is None or max(map(len, allow), default=-1) >= len(worst):
            return None
        if worst in task:
            return "it is the task's trusted code"
        return IMPORT_REASONS.get(worst, "forbidden by the policy")

    # -- calls, strings, patching ----------------------------------------------

    def _attr_call(self, node: ast.Call, line: int) -> None:
        func = node.func
        if not (isinstance(func, ast.Name) and func.id in _ATTR_FUNCS) or func.id in self.aliases:
            return
        if len(node.args) < 2:
            return
        target, name = node.args[0], node.args[1]
        literal = name.value if isinstance(name, ast.Constant) else None
        resolved = self._resolve(target)
        if func.id in ("setattr", "delattr"):
            if not isinstance(literal, str):
                self._add(
                    line, f"{func.id} with a computed name is forbidden (it can patch anything)"
                )
            elif resolved and (resolved[0][1] or resolved[0][0].split(".")[0] in self.frame_code):
                where = f"{resolved[0][0]}.{literal}"
                self._add(line, f"patching '{where}' is forbidden (with {func.id})")
        elif not isinstance(literal, str):
            modules = [n for n, via_import in resolved if via_import and self._sensitive(n)]
            if modules:
                self._add(
                    line,
                    f"{func.id} on '{modules[0]}' with a computed name is forbidden "
                    "(it hides which attribute is reached)",
                )
        else:
            for dotted, via_import in resolved:
                why = self._call_rule(f"{dotted}.{literal}", via_import=via_import)
                if why is None and via_import:
                    why = self._module_rule(f"{dotted}.{literal}")
                if why:
                    self._add(line, f"'{dotted}.{literal}' is forbidden ({why})")

    def _sensitive(self, module: str) -> bool:
        return self._module_rule(module) is not None or any(
            p.startswith(module + ".") for p in self.rules.forbid_calls
        )

    def _string(self, node: ast.Constant, line: int) -> None:
        value = node.value
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        shown = repr(text if len(text) <= 60 else text[:57] + "...")
        # One reason per string: the longest forbidden path it names, else its shape.
        needle = max((n for n in self.rules.path_needles if n in text), key=len, default=None)
        absolute = id(node) not in self.fstring_tail and _ABSOLUTE.match(text)
        if needle is not None:
            self._add(
                line,
                f"the string {shown} is forbidden (it names '{needle}', "
                "a path candidates must not reach)",
            )
        elif absolute or _CLIMBING.search(text):
            self._add(
                line,
                f"the path {shown} is forbidden (outside the scratch folder; use relative names)",
            )
        if text in ATTRIBUTE_REASONS:
            self._add(line, f"the string '{text}' is forbidden ({ATTRIBUTE_REASONS[text]})")
        elif text in SPECIAL_METHODS:
            self._add(line, f"the string '{text}' is forbidden ({SPECIAL_METHOD_REASON})")

    def _patch(self, target: ast.expr, line: int) -> None:
        if not isinstance(target, ast.Attribute):
            return
        for dotted, via_import in self._resolve(target):
            if via_import:
                self._add(line, f"patching '{dotted}' is forbidden (it assigns into an import)")
            elif dotted.split(".")[0] in self.frame_code:
                self._add(line, f"patching '{dotted}' is forbidden (the frame defines it)")

    def _special_methods(self, cls: ast.ClassDef) -> None:
        for stmt in cls.body:
            for line, name, _, _ in _module_bindings([stmt]):
                if line in self.inner and name in SPECIAL_METHODS:
                    self._add(
                        line,
                        f"defining '{name}' in class '{cls.name}' is forbidden "
                        f"({SPECIAL_METHOD_REASON})",
                    )


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _import_bindings(node: ast.AST) -> Iterator[tuple[str, str]]:
    """(bound name, dotted target) for each name an import statement binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, alias.name
            else:
                first = alias.name.split(".")[0]
                yield first, first
    elif isinstance(node, ast.ImportFrom):
        for alias in node.names:
            if alias.name != "*":
                module = node.module or ""
                full = f"{module}.{alias.name}" if module else alias.name
                yield alias.asname or alias.name, full


def _module_bindings(
    body: list[ast.stmt],
) -> Iterator[tuple[int, str, str | None, ast.stmt]]:
    """(line, name, import target or None, statement) for each module-level binding,
    looking into if/for/while/with/try bodies but not into functions or classes."""
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield stmt.lineno, stmt.name, None, stmt
            continue
        for name, target in _import_bindings(stmt):
            yield stmt.lineno, name, target, stmt
        for target_node in _assigned(stmt):
            if isinstance(target_node, ast.Name):
                yield stmt.lineno, target_node.id, None, stmt
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _module_bindings(inner)
        for handler in getattr(stmt, "handlers", []):
            yield from _module_bindings(handler.body)


def _assigned(node: ast.AST) -> list[ast.expr]:
    """The targets a statement assigns or deletes, tuples unpacked."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [node.target]
    elif isinstance(node, ast.With | ast.AsyncWith):
        targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
    flat: list[ast.expr] = []
    while targets:
        t = targets.pop()
        if isinstance(t, ast.Tuple | ast.List):
            targets.extend(t.elts)
        elif isinstance(t, ast.Starred):
            targets.append(t.value)
        else:
            flat.append(t)
    return flat
