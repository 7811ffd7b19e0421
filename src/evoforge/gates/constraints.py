"""The constraint gate: a static check of a child's code before it runs.

It judges only the code inside the evolve blocks; the frame around them is the
user's trusted code (it may import os, open files, set seeds). It rejects a child
for, with every reason listed:

- changes in files the policy does not open to change, or more changed lines
  inside the blocks than the policy allows;
- forbidden imports (network, processes, native code, dynamic import, unpickling,
  introspection, signals and limits, bundled labelled data sets, the harness and
  the task's own module) and forbidden names, called or only referred to, through
  any import alias (``import os as o; o.system``) — see
  :mod:`evoforge.gates._forbidden` for each entry and its reason;
- escapes through special attributes (``__globals__``, ``__subclasses__``,
  ``f_back``...), ``getattr``/``setattr`` with computed names on sensitive modules;
- patching: assigning into an imported module or class (``time.time = ...``,
  ``setattr(np.random, ...)``), into a function or class the frame defines, or
  rebinding a module-level name the frame defines (``TRAIN_SECONDS_CAP = 1e9``);
- classes that define comparison, conversion or arithmetic methods (an object
  that "always equals" the label games a scorer that compares objects);
- string literals that name a forbidden path (the experiment, the task module,
  the run folder, the archive, hidden data, or their file names), absolute paths
  and paths climbing out with ``..``: candidates use relative names in their
  scratch folder.

This is a filter for the obvious, not a wall: a path joined from pieces, code
decoded at run time or an attribute reached through an object the check cannot
trace gets past it. The sandbox (no network, read-only mounts, a private scratch
folder, no view of the task or its labels) is the real defence; this gate makes
the attempts visible early, with a reason a person can read, and keeps honest
proposers from wasting runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import PurePosixPath

from evoforge.candidate import Files
from evoforge.config import ConstraintsSection
from evoforge.gates._base import Decision, PreRunGate
from evoforge.gates._code_scan import ScanRules, scan_file
from evoforge.gates._forbidden import DEFAULT_FORBIDDEN_CALLS, DEFAULT_FORBIDDEN_IMPORTS
from evoforge.program import EvolveBlockError, blocks_of

__all__ = [
    "DEFAULT_FORBIDDEN_CALLS",
    "DEFAULT_FORBIDDEN_IMPORTS",
    "ConstraintGate",
    "ConstraintPolicy",
    "changed_lines",
]


@dataclass(frozen=True)
class ConstraintPolicy:
    """What a child may change and which constructs its blocks may not contain."""

    files: tuple[str, ...] | None = None
    """Program files whose blocks may change (None: all)."""
    forbid_imports: tuple[str, ...] = DEFAULT_FORBIDDEN_IMPORTS
    """Module prefixes a block may not import or refer to ("http" covers "http.client")."""
    allow_imports: tuple[str, ...] = ()
    """Grants: a module prefix here wins over an equally long or shorter forbidden one."""
    forbid_calls: tuple[str, ...] = DEFAULT_FORBIDDEN_CALLS
    """Dotted names a block may not refer to; a bare name is a builtin; ``*`` is a wildcard."""
    forbidden_paths: tuple[str, ...] = ()
    """Paths no string literal in a block may contain, nor their file names
    (``archive.sqlite``); a ``.py`` path also forbids importing its module."""
    max_changed_lines: int | None = ConstraintsSection().max_changed_lines  # [constraints]'s
    """Most lines added plus removed inside the blocks, compared with the seed (None: no cap)."""


class ConstraintGate(PreRunGate):
    def __init__(self, policy: ConstraintPolicy | None = None) -> None:
        self.policy = policy or ConstraintPolicy()

    def check(self, child: Files, *, seed: Files) -> Decision:
        policy = self.policy
        reasons: list[str] = []
        if policy.files is not None:
            allowed = set(policy.files)
            for path in sorted(set(child) & set(seed)):
                if path not in allowed and child[path] != seed[path]:
                    reasons.append(
                        f"{path}: changes are forbidden in this file (the policy allows "
                        f"changes only in {', '.join(sorted(allowed)) or 'no file'})"
                    )
        rules = _scan_rules(policy)
        for path in sorted(child):
            if path.endswith(".py"):
                reasons.extend(scan_file(path, child[path], rules))
        if policy.max_changed_lines is not None:
            per_file = changed_lines(seed, child)
            total = sum(per_file.values())
            if total > policy.max_changed_lines:
                detail = ", ".join(f"{path}: {n}" for path, n in per_file.items() if n)
                reasons.append(
                    f"{total} lines changed inside the evolve blocks ({detail}); "
                    f"the policy allows at most {policy.max_changed_lines}"
                )
        return Decision(tuple(reasons))


def changed_lines(seed: Files, child: Files) -> dict[str, int]:
    """Lines added plus removed inside the evolve blocks, per file present in both.

    Blocks are compared in order; when a file's block count differs (the region
    gate rejects that) its blocks are compared as one text.
    """
    counts: dict[str, int] = {}
    for path in sorted(set(seed) & set(child)):
        if seed[path] == child[path]:
            counts[path] = 0
            continue
        try:
            old = [b.text for b in blocks_of(path, seed[path])]
            new = [b.text for b in blocks_of(path, child[path])]
        except EvolveBlockError:
            continue
        pairs = list(zip(old, new, strict=True)) if len(old) == len(new) else []
        if not pairs:
            pairs = [("".join(old), "".join(new))]
        counts[path] = sum(_diff_size(a, b) for a, b in pairs)
    return counts


def _diff_size(old: str, new: str) -> int:
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return sum(
        (i2 - i1) + (j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )


def _scan_rules(policy: ConstraintPolicy) -> ScanRules:
    needles: list[str] = []
    modules: list[str] = []
    for raw in policy.forbidden_paths:
        text = str(raw).rstrip("/")
        if not text:
            continue
        needles.append(text)
        path = PurePosixPath(text)
        # File names are matched alone too ("archive.sqlite", "task.py"); folder
        # names are not, since short ones ("data", "runs") occur in ordinary strings.
        if path.suffix and path.name != text:
            needles.append(path.name)
        if path.suffix == ".py":
            modules.append(path.stem)
    return ScanRules(
        forbid_imports=tuple(policy.forbid_imports),
        allow_imports=tuple(policy.allow_imports),
        forbid_calls=tuple(policy.forbid_calls),
        path_needles=tuple(dict.fromkeys(needles)),
        task_modules=tuple(dict.fromkeys(modules)),
    )
