"""A site's values: their source text, and how option values compare."""

from __future__ import annotations

import pytest

from evoforge.proposers.values import Value, _same, render


@pytest.mark.parametrize(
    ("value", "like", "text"),
    [
        (1e-06, "", "1e-6"),
        (2.5e20, "", "2.5e20"),
        (0.001, "", "0.001"),
        (-4, "", "-4"),
        (True, "", "True"),
        ("it's", '"a"', '"it\'s"'),
        ('say "x"', '"a"', "'say \"x\"'"),
        ((1, 2.5), "[0]", "[1, 2.5]"),
        ((3,), "(1, 2)", "(3,)"),
        ((3, 4), "1, 2", "3, 4"),
    ],
)
def test_render(value: Value, like: str, text: str) -> None:
    assert render(value, like) == text


def test_option_values_differ_by_type() -> None:
    assert _same(1, 1) and _same(0.5, 0.5) and _same("a", "a")
    assert not _same(True, 1) and not _same(1, True)
    assert not _same("1", 1)
