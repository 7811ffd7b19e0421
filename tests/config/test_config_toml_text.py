"""Writing TOML: what is written reads back the same; what TOML cannot hold is refused."""

from __future__ import annotations

import tomllib

import pytest

from evoforge.config.toml_text import toml_text, toml_value


def test_tables_lists_of_tables_and_scalars_read_back_the_same() -> None:
    data = {"a": 1, "b": {"c": [1.5, "x"], "d": {"e": False}}, "f": [{"g": 'q"uote'}, {"g": "n"}]}
    assert tomllib.loads(toml_text(data)) == data


def test_a_value_toml_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot write"):
        toml_value(object())
