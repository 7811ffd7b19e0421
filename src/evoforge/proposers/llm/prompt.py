"""The prompt: the parent's code, its search metrics, inspirations, failures, rules.

Built from four templates (``system.md``, ``user.md``, and the answer-format
instructions ``diff.md`` / ``rewrite.md``) with ``$name`` placeholders
(:class:`string.Template`; ``$$`` is a dollar sign). The defaults ship in
``templates/``; an experiment may replace any of them with files of the same
name in its own folder (``[proposer.llm] templates``).

Only search metrics reach the prompt: the loop strips held-out metrics from every
record a proposer sees, and nothing here reads ``heldout``. Candidate output
(stdout and stderr tails) is shown as feedback, truncated.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from evoforge.candidate import Candidate
from evoforge.program import Block, program_blocks
from evoforge.proposers._base import Feedback, Parent

NAMES = ("system.md", "user.md", "diff.md", "rewrite.md")
PLACEHOLDERS = frozenset(
    {"objective", "direction", "better", "program", "blocks", "metrics", "output"}
    | {"inspirations", "failures", "constraints", "format"}
)
_TAIL = 800
_ALONE = re.compile(r"\$(?:(\w+)|\{(\w+)\})")
_DIFF_TAIL = 1500
_BLOCK_MAX = 4000


class TemplateError(ValueError):
    """A template file is missing, unknown or uses a placeholder that does not exist."""


@dataclass(frozen=True)
class Templates:
    system: str
    user: str
    diff: str
    rewrite: str


def load_templates(override: Path | None = None) -> Templates:
    """The default templates, each replaced by ``override/<name>`` where that file exists."""
    default = resources.files("evoforge.proposers.llm") / "templates"
    texts = {name: (default / name).read_text(encoding="utf-8") for name in NAMES}
    if override is not None:
        if not override.is_dir():
            raise TemplateError(f"{override}: prompt template folder does not exist")
        for path in sorted(override.iterdir()):
            if path.name not in NAMES:
                raise TemplateError(
                    f"{path}: not a prompt template (known names: {', '.join(NAMES)})"
                )
            texts[path.name] = path.read_text(encoding="utf-8")
            _check(texts[path.name], str(path))
    return Templates(texts["system.md"], texts["user.md"], texts["diff.md"], texts["rewrite.md"])


def _check(text: str, where: str) -> None:
    template = string.Template(text)
    if not template.is_valid():
        raise TemplateError(f"{where}: malformed placeholder (write $$ for a dollar sign)")
    unknown = sorted(set(template.get_identifiers()) - PLACEHOLDERS)
    if unknown:
        raise TemplateError(
            f"{where}: unknown placeholder(s) {', '.join('$' + u for u in unknown)} "
            f"(known: {', '.join('$' + p for p in sorted(PLACEHOLDERS))})"
        )


def build_messages(
    parent: Parent,
    feedback: Feedback,
    templates: Templates,
    *,
    edit_format: str,
    inspirations: int = 2,
    others: Sequence[Parent] = (),
) -> list[dict[str, str]]:
    """System and user messages asking for a child of ``parent``.

    ``others`` (e.g. a second parent from the selector) join the inspiration pool
    with ``feedback.best`` and ``feedback.inspirations``.
    """
    blocks = ", ".join(
        f"{b.path} block {i} (lines {b.start + 2}-{b.end})"
        for b, i in _numbered(program_blocks(parent.files))
    )
    values = {
        "objective": feedback.objective,
        "direction": feedback.direction,
        "better": "high" if feedback.direction == "maximize" else "low",
        "program": _program(parent.files),
        "blocks": blocks or "none",
        "metrics": _metrics(parent.candidate.metrics),
        "output": _section(
            "Its output (last lines)", _fence(parent.candidate.stdout_tail[-_TAIL:])
        ),
        "inspirations": _inspirations(parent, feedback, others, inspirations),
        "failures": _failures(feedback.recent_failures),
        "constraints": _constraints(parent.files),
    }
    fmt = templates.diff if edit_format == "diff" else templates.rewrite
    values["format"] = _fill(fmt, values)
    return [
        {"role": "system", "content": _fill(templates.system, values)},
        {"role": "user", "content": _fill(templates.user, values)},
    ]


def as_text(messages: Sequence[Mapping[str, str]]) -> str:
    """The messages as one readable text, as stored with the candidate."""
    return "\n\n".join(f"=== {m['role']} ===\n{m['content'].rstrip()}" for m in messages) + "\n"


def _fill(text: str, values: Mapping[str, str]) -> str:
    # A template line holding only an empty placeholder (no failures yet...) goes, and
    # so does a blank line after a blank line; the values (code) are never reflowed.
    kept = [
        line
        for line in text.splitlines(keepends=True)
        if not ((m := _ALONE.fullmatch(line.strip())) and not values.get(m.group(1) or m.group(2)))
    ]
    lines = [ln for i, ln in enumerate(kept) if ln.strip() or i == 0 or kept[i - 1].strip()]
    return string.Template("".join(lines)).safe_substitute(values).strip() + "\n"


def _program(files: Mapping[str, str]) -> str:
    return "\n".join(f"### {path}\n{_fence(files[path], _lang(path))}" for path in sorted(files))


def _metrics(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k} = {v:.6g}" for k, v in sorted(metrics.items())) or "none yet"


def _inspirations(parent: Parent, feedback: Feedback, others: Sequence[Parent], limit: int) -> str:
    pool: list[Parent] = []
    seen = {parent.candidate.code_hash}
    for p in [*([feedback.best] if feedback.best else []), *feedback.inspirations, *others]:
        if p.candidate.code_hash not in seen:
            seen.add(p.candidate.code_hash)
            pool.append(p)
    chosen = _diverse(parent, pool, limit)
    parts = []
    for p in chosen:
        body = "\n".join(
            f"{b.path} block {i}:\n{_fence(b.text[:_BLOCK_MAX], _lang(b.path))}"
            for b, i in _numbered(program_blocks(p.files))
        )
        parts.append(f"### Candidate #{p.candidate.id} ({_metrics(p.candidate.metrics)})\n{body}")
    return _section("Other programs of this run, for ideas (their evolve blocks)", "\n".join(parts))


def _diverse(parent: Parent, pool: list[Parent], limit: int) -> list[Parent]:
    """The best first, then greedily the ones least like the parent and those already chosen."""
    if limit <= 0 or not pool:
        return []
    chosen = [pool[0]]
    rest = pool[1:]
    while rest and len(chosen) < limit:
        seen = [_block_text(parent), *(_block_text(c) for c in chosen)]

        def novelty(p: Parent, seen: list[str] = seen) -> float:
            text = _block_text(p)
            return min(1 - difflib.SequenceMatcher(None, text, s).quick_ratio() for s in seen)

        pick = max(rest, key=novelty)
        chosen.append(pick)
        rest.remove(pick)
    return chosen


def _failures(failures: Sequence[Candidate]) -> str:
    parts = []
    for c in failures:
        lines = [f"### Candidate #{c.id} failed: {c.failure.splitlines()[0] if c.failure else '?'}"]
        if c.flags:
            lines.append(f"Flags: {', '.join(c.flags)}")
        if c.diff:
            lines.append("Its change:\n" + _fence(c.diff[-_DIFF_TAIL:], "diff"))
        if c.stderr_tail.strip():
            lines.append("Its stderr (last lines):\n" + _fence(c.stderr_tail[-_TAIL:]))
        parts.append("\n".join(lines))
    return _section("Recent failures: do not repeat them", "\n".join(parts))


def _constraints(files: Mapping[str, str]) -> str:
    return "\n".join(
        [
            "- Change only code between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END; every other "
            "byte, the marker lines included, must stay as it is.",
            f"- The program's files are {', '.join(sorted(files))}; no file may be added or removed.",
            "- The result must be valid Python and run within the same time and memory limits.",
            "- The program runs with no network access and sees only its own input files.",
        ]
    )


def _section(title: str, body: str) -> str:
    return f"## {title}\n\n{body.rstrip()}" if body.strip() else ""


def _fence(text: str, lang: str = "") -> str:
    if not text.strip():
        return ""
    body = text if text.endswith("\n") else text + "\n"
    ticks = "````" if "```" in body else "```"
    return f"{ticks}{lang}\n{body}{ticks}"


def _lang(path: str) -> str:
    return "python" if path.endswith(".py") else ""


def _numbered(blocks: Sequence[Block]) -> list[tuple[Block, int]]:
    """Each block with its 1-based number within its file (how answers name blocks)."""
    out: list[tuple[Block, int]] = []
    per_file: dict[str, int] = {}
    for b in blocks:
        per_file[b.path] = per_file.get(b.path, 0) + 1
        out.append((b, per_file[b.path]))
    return out


def _block_text(p: Parent) -> str:
    return "".join(b.text for b in program_blocks(p.files))
