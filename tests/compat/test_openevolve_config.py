"""OpenEvolve's config.yaml translated: known keys mapped into a TOML that reads back,
wrong types refused, keys without a counterpart ignored with why, unknown keys collected."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from evoforge.compat.openevolve_config import (
    Imported,
    OpenEvolveError,
    map_config,
    read_yaml,
    setting,
)


def translate(data: dict[str, Any], *, use_llm: bool = True) -> tuple[dict[str, Any], Imported]:
    out = Imported(Path("dest"))
    return tomllib.loads(map_config(data, out, name="exp", use_llm=use_llm)), out


def test_mapped_keys_land_in_their_sections_and_read_back() -> None:
    data = {"max_iterations": 7, "random_seed": 4,
            "evaluator": {"timeout": 2.5, "parallel_evaluations": 999, "memory_limit_mb": None},
            "database": {"num_islands": 3, "migration_rate": 0.25}}  # fmt: skip
    toml, out = translate(data)
    assert toml["experiment"] == {"name": "exp", "seed": 4}
    assert toml["budget"] == {"candidates": 7} and toml["limits"] == {"wall_seconds": 2.5}
    assert toml["run"] == {"workers": 256}  # clamped to what evoforge runs
    assert toml["selection"] == {"islands": 3, "migration_rate": 0.25}
    assert toml["program"]["command"] == ["{python}", "_evoforge_openevolve_runner.py"]
    assert out.mapped["evaluator.parallel_evaluations"] == "run.workers = 256"
    assert out.ignored["evaluator.memory_limit_mb"] == "null: evoforge's default is kept"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"max_iterations": 5.0}, "max_iterations must be an integer"),
        ({"evaluator": {"timeout": True}}, "evaluator.timeout must be a number"),
        ({"evaluator": {"cascade_thresholds": [0.5, "x"]}}, "must be a list of numbers"),
    ],
)
def test_a_mapped_key_of_the_wrong_type_is_refused(data: dict[str, Any], error: str) -> None:
    with pytest.raises(OpenEvolveError, match=error):
        translate(data)


def test_keys_without_a_counterpart_are_ignored_and_unknown_ones_collected() -> None:
    data = {"log_level": "INFO", "prompt": {"system_message": "x"}, "mystery": 1,
            "database": {"elite_selection_ratio": 0.1, "popsize": 3}}  # fmt: skip
    _, out = translate(data)
    assert out.ignored["log_level"] == "no counterpart"
    assert "own prompts" in out.ignored["prompt"]
    assert "aging tournament" in out.ignored["database.elite_selection_ratio"]
    assert out.unknown == ["mystery", "database.popsize"]
    assert out.notes == ["no LLM configured: the built-in mutator proposes"]


def test_the_llm_section_keeps_env_key_names_and_never_a_literal_key() -> None:
    llm = {"api_base": "http://h/v1", "api_key": "sk-literal", "temperature": 0.3,
           "models": [{"name": "a", "api_key": "${A_KEY}"}, {"name": "b", "weight": 2}],
           "primary_model": "c", "retries": 2, "temprature": 1}  # fmt: skip
    toml, out = translate({"llm": llm})
    section = toml["proposer"]["llm"]
    assert toml["proposer"]["kind"] == "llm"
    assert [(m["name"], m["api_key_env"], m["weight"]) for m in section["models"]] == [
        ("a", "A_KEY", 1.0), ("b", "OPENAI_API_KEY", 2.0), ("c", "OPENAI_API_KEY", 1.0),
    ]  # fmt: skip
    assert (section["temperature"], section["retries"]) == (0.3, 2)
    assert "sk-literal" not in map_config({"llm": llm}, Imported(Path("d")), name="e", use_llm=True)
    assert "llm api_key holds a literal key: not copied; set OPENAI_API_KEY" in out.notes
    assert out.unknown == ["llm.temprature"]


def test_the_built_in_mutator_stays_without_usable_models_or_with_no_llm() -> None:
    toml, out = translate({"llm": {"models": [{"name": "m"}]}})  # no api_base anywhere
    assert toml["proposer"] == {"kind": "mutate"}
    assert out.ignored["llm"] == "the built-in mutator is used"
    assert "llm model 'm' has no api_base: left out" in out.notes
    toml, out = translate(
        {"llm": {"api_base": "http://h", "models": [{"name": "m"}]}}, use_llm=False
    )
    assert toml["proposer"] == {"kind": "mutate"}
    assert out.ignored["llm"] == "the built-in mutator is used (--no-llm)"


def test_read_yaml_accepts_only_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    assert read_yaml(path) == {}  # missing
    path.write_text("")
    assert read_yaml(path) == {}
    path.write_text("a: {b: 1}\n")
    assert read_yaml(path) == {"a": {"b": 1}}
    path.write_text("- 1\n")
    with pytest.raises(OpenEvolveError, match="must be a mapping of keys, got list"):
        read_yaml(path)


def test_setting_follows_dotted_keys_or_gives_the_default() -> None:
    data = {"evaluator": {"timeout": 5}, "llm": "not a mapping"}
    assert setting(data, "evaluator.timeout") == 5
    assert setting(data, "evaluator.missing", 1) == 1
    assert setting(data, "llm.models", []) == []
