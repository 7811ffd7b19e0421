"""Writing TOML: the small part of it a config dump needs (tables, lists of tables,
scalars, lists). The standard library reads TOML but does not write it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def toml_text(data: Mapping[str, Any], prefix: str = "") -> str:
    """TOML for nested tables of scalars and lists (what a config dump holds)."""
    plain = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_list(v)}
    out = [f"{k} = {toml_value(v)}" for k, v in plain.items()]
    for k, v in data.items():
        name = f"{prefix}.{k}" if prefix else k
        if _is_table(v):
            out += ["", f"[{name}]", toml_text(v, name).rstrip("\n")]
        elif _is_table_list(v):
            for row in v:
                out += ["", f"[[{name}]]", toml_text(row, name).rstrip("\n")]
    return "\n".join(out) + "\n"


def _is_table(v: object) -> bool:
    return isinstance(v, Mapping)


def _is_table_list(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise ValueError(f"cannot write {v!r} as TOML")
