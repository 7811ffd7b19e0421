"""``[proposer.llm]`` in evoforge.toml: accepted as documented, refused with clear errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from evoforge.config import ConfigError, parse_config

BASE: dict[str, Any] = {
    "program": {"files": ["program.py"], "command": ["{python}", "program.py"]},
    "task": {"objective": "score"},
}
MODEL = {
    "name": "gpt-4o-mini",
    "base_url": "https://api.openai.com/v1",
    "api_key_env": "OPENAI_API_KEY",
}


def config(proposer: dict[str, Any]) -> Any:
    return parse_config({**BASE, "proposer": proposer})


def refused(proposer: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        config(proposer)
    return str(info.value)


def test_an_llm_section_parses_with_defaults() -> None:
    c = config(
        {"kind": "llm", "llm": {"models": [MODEL, {**MODEL, "label": "mini-2", "weight": 2}]}}
    )
    llm = c.proposer.llm
    assert llm.edit_format == "diff" and llm.on_budget == "end" and llm.max_cost is None
    assert [m.key for m in llm.models] == ["gpt-4o-mini", "mini-2"]


def test_the_answer_size_cap_defaults_to_a_mebibyte_and_must_be_positive() -> None:
    assert config({"kind": "llm", "llm": {"models": [MODEL]}}).proposer.llm.max_answer_kb == 1024
    capped = config({"kind": "llm", "llm": {"models": [MODEL], "max_answer_kb": 64}})
    assert capped.proposer.llm.max_answer_kb == 64
    assert "proposer.llm.max_answer_kb" in refused(
        {"kind": "llm", "llm": {"models": [MODEL], "max_answer_kb": 0}}
    )


def test_kind_and_table_must_agree() -> None:
    assert "needs a [proposer.llm] table" in refused({"kind": "llm"})
    assert 'set kind = "llm"' in refused({"llm": {"models": [MODEL]}})


def test_a_key_pasted_where_its_variable_name_belongs_is_refused() -> None:
    why = refused({"kind": "llm", "llm": {"models": [{**MODEL, "api_key_env": "sk-abc123-xyz"}]}})
    assert "proposer.llm.models.0.api_key_env" in why and "never the key itself" in why


def test_mistakes_name_the_key() -> None:
    assert "proposer.llm.models.0.base_url" in refused(
        {"kind": "llm", "llm": {"models": [{**MODEL, "base_url": "localhost:8000"}]}}
    )
    assert "unknown key" in refused({"kind": "llm", "llm": {"models": [MODEL], "temprature": 0.2}})
    assert "models named twice" in refused({"kind": "llm", "llm": {"models": [MODEL, MODEL]}})
    assert "no model has a price" in refused(
        {"kind": "llm", "llm": {"models": [MODEL], "max_cost": 5}}
    )
    assert "inside the experiment folder" in refused(
        {"kind": "llm", "llm": {"models": [MODEL], "templates": "/etc"}}
    )
    assert "evoforge sets them" in refused(
        {"kind": "llm", "llm": {"models": [{**MODEL, "extra_body": {"model": "x"}}]}}
    )
    assert "proposer.llm.models" in refused({"kind": "llm", "llm": {"models": []}})


def test_the_readme_configs_parse() -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    section = readme.read_text().split("\n## LLM proposers\n", 1)[1].split("\n## ", 1)[0]
    snippets = re.findall(r"```toml\n(.*?)```", section, re.S)
    assert len(snippets) >= 5
    for snippet in snippets:
        if not snippet.startswith("[proposer]"):
            snippet = '[proposer]\nkind = "llm"\n' + snippet
        parsed = config(tomllib.loads(snippet)["proposer"])
        assert parsed.proposer.llm.models


def test_kind_auto_parses_its_table_and_refuses_what_does_not_fit() -> None:
    c = config({"kind": "auto", "auto": {"members": ["tpe", "local"], "discount": 0.9}})
    assert c.proposer.auto is not None and c.proposer.auto.members == ["tpe", "local"]
    assert c.proposer.auto.cost == "seconds" and c.proposer.kinds == {"auto"}
    assert 'set kind = "auto"' in refused({"kind": "mutate", "auto": {"members": ["tpe"]}})
    assert "members named twice: tpe" in refused(
        {"kind": "auto", "auto": {"members": ["tpe", "tpe"]}}
    )
    assert "tpee" in refused({"kind": "auto", "auto": {"members": ["tpee"]}})
    assert "needs a [proposer.llm] table" in refused({"kind": "auto", "auto": {"members": ["llm"]}})
    assert "discount" in refused({"kind": "auto", "auto": {"discount": 0}})
    with_llm = config({"kind": "auto", "llm": {"models": [MODEL]}})
    assert with_llm.proposer.kinds == {"auto", "llm"}
    with_search = config({"kind": "auto", "automl": {"preset": "linear"}})
    assert with_search.proposer.kinds == {"auto", "automl"}
    assert "needs a [proposer.automl] table" in refused(
        {"kind": "auto", "auto": {"members": ["automl"]}}
    )
