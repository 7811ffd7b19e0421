"""Reading ``# evolve:`` specs: every kind, and the reason a malformed one is refused."""

from __future__ import annotations

import pytest

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
from evoforge.proposers.spec_parser import parse_spec


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ('choice["linear", "mlp", "cnn"]', Choice(("linear", "mlp", "cnn"))),
        ("choice[16, 32, 0.5, True]", Choice((16, 32, 0.5, True))),
        ("int[1, 200]", IntRange(1, 200)),
        ("int[-5, 5]", IntRange(-5, 5)),
        ("float[0.0, 0.99]", FloatRange(0.0, 0.99)),
        ("float[0, 1]", FloatRange(0.0, 1.0)),
        ("log[1e-5, 1.0]", FloatRange(1e-5, 1.0, log=True)),
        ("bool", Bool()),
        ("ints[8, 512] len[1, 4]", NumList(8, 512, 1, 4, integer=True)),
        ("floats[0.0, 1.0] len[0, 3]", NumList(0.0, 1.0, 0, 3, integer=False)),
        ("fixed", Fixed()),
        ("  int[1,200]  ", IntRange(1, 200)),
        ('choice["a#b", "c"]', Choice(("a#b", "c"))),
    ],
)
def test_parse_spec_reads_every_kind(text: str, spec: Param | Fixed) -> None:
    assert parse_spec(text) == spec


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("int[5, 1]", "low end must be below"),
        ("int[3, 3]", "low end must be below"),
        ("int[1.5, 3]", "two ints"),
        ("float[0, x]", "list of literals"),
        ("log[0, 1]", "must be positive"),
        ("choice['a']", "two different options"),
        ("choice['a', 'a']", "two different options"),
        ("choice[None, 1]", "str/int/float/bool"),
        ("ints[1, 9]", "ints[lo, hi] len[a, b]"),
        ("ints[1, 9] len[-1, 2]", "cannot be negative"),
        ("bool[1]", "takes no arguments"),
        ("integer[1, 2]", "unknown kind 'integer'"),
        ("", "unknown kind"),
    ],
)
def test_parse_spec_rejects_malformed(text: str, why: str) -> None:
    with pytest.raises(ParamSpecError, match=why.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(text)
