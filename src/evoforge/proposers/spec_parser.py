"""Read the SPEC of an ``# evolve: SPEC`` annotation into its parameter spec.

The grammar is in :mod:`evoforge.proposers.params`; a malformed spec raises
:class:`~evoforge.proposers.params.ParamSpecError` with the reason.
"""

from __future__ import annotations

import ast
import re

from evoforge.proposers.params import (
    Bool,
    Choice,
    Fixed,
    FloatRange,
    IntRange,
    NumList,
    Param,
    ParamSpecError,
)
from evoforge.proposers.values import Number, _is_int, _is_number, _same


def parse_spec(text: str) -> Param | Fixed:
    """The spec of an annotation (the text after ``evolve:``); ParamSpecError if malformed."""
    text = text.strip()
    m = re.fullmatch(r"([a-z]+)\s*(.*)", text, flags=re.S)
    kind, rest = (m.group(1), m.group(2).strip()) if m else ("", text)
    if kind in ("bool", "fixed"):
        if rest:
            raise ParamSpecError(f"`{kind}` takes no arguments, got {rest!r}")
        return Bool() if kind == "bool" else Fixed()
    if kind == "choice":
        options = _literal_list(rest, "choice")
        if not options or not all(isinstance(o, bool | int | float | str) for o in options):
            raise ParamSpecError("choice[...] needs one or more str/int/float/bool literals")
        if len(options) < 2 or any(_same(a, b) for i, a in enumerate(options) for b in options[:i]):
            raise ParamSpecError("choice[...] needs at least two different options")
        return Choice(tuple(o for o in options if isinstance(o, bool | int | float | str)))
    if kind in ("int", "float", "log"):
        lo, hi = _bounds(rest, kind, integer=kind == "int")
        if kind == "int":
            return IntRange(int(lo), int(hi))
        if kind == "log" and lo <= 0:
            raise ParamSpecError(f"log[{lo}, {hi}]: the low end must be positive")
        return FloatRange(float(lo), float(hi), log=kind == "log")
    if kind in ("ints", "floats"):
        lm = re.fullmatch(r"(\[[^\]]*\])\s*len\s*(\[[^\]]*\])", rest)
        if not lm:
            raise ParamSpecError(f"{kind} needs the form {kind}[lo, hi] len[a, b], got {text!r}")
        lo, hi = _bounds(lm.group(1), kind, integer=kind == "ints")
        a, b = _bounds(lm.group(2), "len", integer=True, allow_equal=True)
        if a < 0:
            raise ParamSpecError(f"len[{a}, {b}]: lengths cannot be negative")
        return NumList(lo, hi, int(a), int(b), integer=kind == "ints")
    known = "choice, int, float, log, bool, ints, floats, fixed"
    raise ParamSpecError(f"unknown kind {kind or text!r}; known kinds: {known}")


def _literal_list(text: str, kind: str) -> list[object]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ParamSpecError(f"{kind}{text}: arguments must be a [...] list of literals") from None
    if not isinstance(value, list):
        raise ParamSpecError(f"{kind}{text}: arguments must be a [...] list of literals")
    return value


def _bounds(
    text: str, kind: str, *, integer: bool, allow_equal: bool = False
) -> tuple[Number, Number]:
    values = _literal_list(text, kind)
    check = _is_int if integer else _is_number
    if len(values) != 2 or not all(check(v) for v in values):
        what = "ints" if integer else "numbers"
        raise ParamSpecError(f"{kind}{text}: needs exactly two {what} [lo, hi]")
    lo, hi = values
    assert isinstance(lo, int | float) and isinstance(hi, int | float)
    if hi < lo or (hi == lo and not allow_equal):
        raise ParamSpecError(f"{kind}{text}: the low end must be below the high end")
    return lo, hi
