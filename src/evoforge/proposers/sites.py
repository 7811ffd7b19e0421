"""Sites: the literals of evolve blocks a proposer may change, and edits to them.

Every literal number, boolean and numeric list inside an evolve block is a
*site*; its range is its ``# evolve:`` annotation (:mod:`evoforge.proposers.params`)
or, unannotated, the default rules. Not sites: f-strings, subscripts (indices
encode structure, not a setting), type annotations, and every literal on a
``# evolve: fixed`` line.

Edits are text splices at the exact source spans ``ast`` reports, so every
other byte (formatting, comments, the frame) is kept.

Two entry points view a program as a search space of named parameters, for
proposers that choose values themselves (a black-box optimizer such as Optuna):
:func:`declared_space` lists the annotated parameters with their specs, and
:func:`set_values` writes chosen values back. :func:`find_sites` and
:func:`apply` are the site-level view the built-in mutator uses.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass

from evoforge.candidate import Files, code_hash
from evoforge.program import EvolveBlockError, blocks_of
from evoforge.proposers.conditions import (
    Condition,
    condition_problems,
    functional_hash,
    inactive,
    split_condition,
)
from evoforge.proposers.params import (
    _FREE_LIST_MAX_LEN,
    Fixed,
    FreeBool,
    FreeList,
    FreeNumber,
    Param,
    ParamSpecError,
)
from evoforge.proposers.spec_parser import parse_spec
from evoforge.proposers.values import Number, Value, _is_int, _is_number, render


@dataclass(frozen=True)
class Site:
    """One literal of a program; lines 1-based, columns 0-based characters, end exclusive."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    value: Value
    spec: Param
    text: str
    """The literal's source text (its quote or bracket style is kept on change)."""
    name: str = ""
    """The target of a ``NAME = literal`` line, else ""."""
    when: Condition | None = None
    """The annotation's ``when`` condition (:mod:`evoforge.proposers.conditions`)."""

    @property
    def key(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


def find_sites(files: Files) -> list[Site]:
    """Every site of the program in path and source order; ParamSpecError on a bad annotation."""
    sites, problems = _scan(files)
    if problems:
        raise ParamSpecError("; ".join(problems))
    return sites


def check_annotations(files: Files) -> list[str]:
    """Every problem of the program's annotations as ``path:line: what``; empty when fine."""
    return _scan(files)[1]


def declared_space(files: Files) -> dict[str, Param]:
    """The program's declared parameters as a search space: name -> spec.

    Only ``NAME = literal`` lines with an ``# evolve: SPEC`` annotation count;
    unannotated literals and ``fixed`` lines are left out. A name is the
    assignment target as written (``LR``, ``self.lr``), or ``path:NAME`` when the
    same name is declared in more than one file. Entries follow path, then source
    order. Specs are :class:`~evoforge.proposers.params.Choice`, ``IntRange``,
    ``FloatRange``, ``Bool`` or ``NumList``; each can ``sample`` a value and say
    why one is not allowed (``problem``). The names are the keys
    :func:`set_values` accepts. ParamSpecError when an annotation is malformed.
    """
    return {name: site.spec for name, site in _named(find_sites(files)).items()}


def active_sites(sites: list[Site]) -> list[Site]:
    """``sites`` without the declared parameters whose ``when`` condition fails."""
    if not any(s.when for s in sites):
        return sites
    named = _named(sites)
    off = {named[n].key for n in inactive(named)}
    return [s for s in sites if s.key not in off]


def program_key(files: Files) -> str:
    """The program's content address with its inactive parameters left out: two
    programs that differ only there have the same key (a child that changes only an
    inactive parameter is a duplicate). Without conditions: the code hash."""
    try:
        sites = find_sites(files)
    except ParamSpecError:
        return code_hash(files)
    if not any(s.when for s in sites):
        return code_hash(files)
    named = _named(sites)
    spans = [
        (s.path, s.line, s.col, s.end_line, s.end_col) for n in inactive(named) if (s := named[n])
    ]
    return functional_hash(files, spans) if spans else code_hash(files)


def declared_values(files: Files) -> dict[str, Value]:
    """The declared parameters' current values, by the names of :func:`declared_space`."""
    return {name: site.value for name, site in _named(find_sites(files)).items()}


def set_values(files: Files, values: Mapping[str, Value | list[Number]]) -> dict[str, str]:
    """A copy of ``files`` with the named declared parameters set to ``values``.

    Names are those of :func:`declared_space`; parameters not named keep their
    values, and every other byte of the program is kept. Numeric lists may be
    given as tuples or lists; ints where the spec is ``int``, any number for
    ``float``/``log``. ``files`` is not modified. KeyError when a name is not a
    declared parameter; ValueError when a value breaks its parameter's spec;
    ParamSpecError when an annotation is malformed.
    """
    named = _named(find_sites(files))
    unknown = sorted(set(values) - set(named))
    if unknown:
        close = [m for u in unknown for m in difflib.get_close_matches(u, list(named), n=1)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"no declared parameter named {', '.join(unknown)}{hint}")
    for name, value in values.items():  # said by the name the caller used
        value = tuple(value) if isinstance(value, list) else value
        if why := named[name].spec.problem(value):
            raise ValueError(f"{name}: {why}")
    return apply(files, {named[n].key: v for n, v in values.items()})


def apply(files: Files, values: Mapping[str, Value | list[Number]]) -> dict[str, str]:
    """``files`` with each site (by :attr:`Site.key`) set to its new value.

    ValueError when a key names no site or a value breaks the site's spec.
    """
    sites = {s.key: s for s in find_sites(files)}
    out = dict(files)
    edits: dict[str, list[tuple[Site, str]]] = {}
    for key, value in values.items():
        site = sites.get(key)
        if site is None:
            raise ValueError(f"{key}: no mutable site there")
        value = tuple(value) if isinstance(value, list) else value
        if why := site.spec.problem(value):
            raise ValueError(f"{key}: {why}")
        edits.setdefault(site.path, []).append((site, render(value, site.text)))
    for path, changes in edits.items():
        source = files[path]
        starts = _line_starts(source)
        for site, text in sorted(changes, key=lambda c: (c[0].line, c[0].col), reverse=True):
            a = starts[site.line - 1] + site.col
            b = starts[site.end_line - 1] + site.end_col
            pad = re.match(r" {2,}(?=#)", source[b:])
            if pad and site.line == site.end_line:
                start = starts[site.line - 1]
                old_col = b - start + pad.end()
                text += " " * _comment_pad(source, start, a - start + len(text), old_col, pad.end())
                b += pad.end()
            source = source[:a] + text + source[b:]
        out[path] = source
    return out


def _comment_pad(source: str, line_start: int, code_end: int, column: int, pad: int) -> int:
    """Spaces before a trailing comment after an edit.

    A comment padded by more than two spaces is aligned on purpose: it keeps its
    column. One padded by two (the usual style, or pushed right by a longer value)
    joins the column of its neighbours' aligned comments (padded by more than two)
    if they agree on one and it fits, so an aligned block realigns once a value is
    short again. Never fewer than two.
    """
    if pad > 2:
        return max(2, column - code_end)
    prev_start = source.rfind("\n", 0, max(0, line_start - 1)) + 1
    line_end = source.find("\n", line_start)
    near = [source[prev_start : max(0, line_start - 1)] if line_start else ""]
    if line_end >= 0:
        near.append(source[line_end + 1 :].partition("\n")[0])
    columns = {m.end() - 1 for text in near if (m := re.search(r"\S {3,}#", text))}
    if len(columns) == 1 and (aligned := columns.pop()) >= code_end + 2:
        return aligned - code_end
    return 2


def _named(sites: list[Site]) -> dict[str, Site]:
    declared = [s for s in sites if s.name and s.spec.declared]
    paths: dict[str, set[str]] = {}
    for s in declared:
        paths.setdefault(s.name, set()).add(s.path)
    return {(s.name if len(paths[s.name]) == 1 else f"{s.path}:{s.name}"): s for s in declared}


def _scan(files: Files) -> tuple[list[Site], list[str]]:
    sites: list[Site] = []
    problems: list[str] = []
    for path in sorted(files):
        if path.endswith(".py"):
            found, why = _scan_file(path, files[path])
            sites.extend(found)
            problems.extend(why)
    if any(s.when for s in sites):
        problems.extend(condition_problems(_named(sites)))
    return sites, problems


def _scan_file(path: str, source: str) -> tuple[list[Site], list[str]]:
    try:
        tree = ast.parse(source, filename=path)
        blocks = blocks_of(path, source)
        notes = _annotations(source)
    except SyntaxError as exc:
        return [], [f"{path}:{exc.lineno}: syntax error: {exc.msg}"]
    except EvolveBlockError as exc:
        return [], [str(exc)]
    except RecursionError:
        return [], [f"{path}: nested too deeply to parse"]
    except tokenize.TokenError as exc:
        return [], [f"{path}: {exc}"]
    block_at = {n: i for i, b in enumerate(blocks) for n in range(b.start + 2, b.end + 1)}
    problems: list[str] = []
    specs: dict[int, Param | Fixed] = {}
    conditions: dict[int, Condition] = {}
    for line, text in notes.items():
        try:
            if line not in block_at:
                raise ParamSpecError("`# evolve:` annotation outside an evolve block")
            spec_text, cond = split_condition(text)
            specs[line] = parse_spec(spec_text)
            if cond is not None:
                if isinstance(specs[line], Fixed):
                    raise ParamSpecError("`fixed` never changes: it takes no `when`")
                conditions[line] = cond
        except ParamSpecError as exc:
            problems.append(f"{path}:{line}: {exc}")
    fixed = {n for n, s in specs.items() if isinstance(s, Fixed)}
    starts = _line_starts(source)
    sites: list[Site] = []
    used: set[int] = set()
    names: dict[str, int] = {}
    for node, name, first, last in sorted(_collect(tree), key=_position):
        end_line = node.end_lineno or node.lineno
        if block_at.get(node.lineno, -1) != block_at.get(end_line, -2):
            continue
        if fixed.intersection(range(first, last + 1)):
            continue
        value = _literal(node)
        assert value is not None
        annotated = [n for n in range(first, last + 1) if n in specs] if name else []
        spec: Param | Fixed | None
        if annotated:
            used.update(annotated)
            spec = specs[annotated[0]]
            where = f"{path}:{annotated[0]}"
            if name in names:
                problems.append(
                    f"{where}: {name} is declared twice (lines {names[name]} and {annotated[0]})"
                )
            names[name] = annotated[0]
            if why := spec.problem(value) if isinstance(spec, Param) else None:
                problems.append(f"{where}: {name}: {why}")
                continue
        else:
            spec = _free_spec(value, node)
        if not isinstance(spec, Param):
            continue
        col = _char_col(source, starts, node.lineno, node.col_offset)
        end_col = _char_col(source, starts, end_line, node.end_col_offset or 0)
        text = source[starts[node.lineno - 1] + col : starts[end_line - 1] + end_col]
        when = conditions.get(annotated[0]) if annotated else None
        sites.append(Site(path, node.lineno, col, end_line, end_col, value, spec, text, name, when))
    for line in sorted(set(specs) - used - fixed):
        problems.append(
            f"{path}:{line}: an `# evolve:` spec must trail a line that assigns a literal "
            f"to a name (NAME = literal)"
        )
    return sites, sorted(problems, key=_line_order)


def _position(found: tuple[ast.expr, str, int, int]) -> tuple[int, int]:
    return found[0].lineno, found[0].col_offset


def _collect(tree: ast.AST) -> list[tuple[ast.expr, str, int, int]]:
    """Literal nodes as (node, assigned name or "", first and last line of the statement)."""
    out: list[tuple[ast.expr, str, int, int]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.JoinedStr):
            continue
        if isinstance(node, ast.Subscript):  # indices and slices are structure, not settings
            stack.append(node.value)
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _literal(node.value) is not None and _is_dotted(targets[0]):
                name = ast.unparse(targets[0]) if len(targets) == 1 else ""
                out.append((node.value, name, node.lineno, node.end_lineno or node.lineno))
                continue
        if isinstance(node, ast.expr) and _literal(node) is not None:
            out.append((node, "", node.lineno, node.end_lineno or node.lineno))
            continue
        for field, child in ast.iter_fields(node):
            if field not in ("annotation", "returns"):
                items = child if isinstance(child, list) else [child]
                stack.extend(item for item in items if isinstance(item, ast.AST))
    return out


def _is_dotted(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _literal(node: ast.AST) -> Value | None:
    """The value of a literal site node (constant, signed number, numeric list), else None."""
    if isinstance(node, ast.Constant):
        v = node.value
        return v if isinstance(v, str | bool) or _is_number(v) else None
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and _is_number(node.operand.value)
    ):
        v = node.operand.value
        assert _is_number(v)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.List | ast.Tuple):
        numbers = [x for x in map(_literal, node.elts) if _is_number(x)]
        return tuple(numbers) if len(numbers) == len(node.elts) else None
    return None


def _free_spec(value: Value, node: ast.expr) -> Param | None:
    if isinstance(value, bool):
        return FreeBool()
    if isinstance(value, int):
        return FreeNumber(integer=True)
    if isinstance(value, float):
        return FreeNumber(integer=False) if value != 0 else None  # zero has no scale to keep
    if isinstance(value, tuple) and value:
        # A long list is more likely data than a setting: it keeps its length.
        resizable = isinstance(node, ast.List) and len(value) <= _FREE_LIST_MAX_LEN
        return FreeList(integer=all(_is_int(x) for x in value), resizable=resizable)
    return None


_ANNOTATION = re.compile(r"#\s*evolve\s*:(.*)", flags=re.S)


def _annotations(source: str) -> dict[int, str]:
    """Line -> spec text of each ``# evolve:`` comment, a trailing ``# remark`` removed."""
    out: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and (m := _ANNOTATION.match(tok.string)):
            out[tok.start[0]] = _strip_remark(m.group(1))
    return out


def _strip_remark(text: str) -> str:
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return text[:i]
    return text


def _line_order(problem: str) -> tuple[str, int]:
    path, _, rest = problem.partition(":")
    line = rest.partition(":")[0]
    return path, int(line) if line.isdigit() else 0


def _line_starts(source: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer(r"\r\n?|\n", source))]


def _char_col(source: str, starts: list[int], line: int, byte_col: int) -> int:
    """``ast`` columns count UTF-8 bytes; splices need characters."""
    text = source[starts[line - 1] : starts[line - 1] + byte_col]
    if text.isascii():
        return byte_col
    return len(source[starts[line - 1] :].encode()[:byte_col].decode(errors="replace"))
