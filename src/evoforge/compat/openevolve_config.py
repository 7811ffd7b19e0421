"""OpenEvolve's ``config.yaml``, translated into an ``evoforge.toml``.

The meaningful keys are mapped (see :data:`MAPPED`); OpenEvolve keys with no
counterpart are listed as ignored with the reason (:data:`IGNORED`); keys OpenEvolve
does not know are collected in :attr:`Imported.unknown` for the importer to refuse or
list. The LLM section becomes ``[proposer.llm]`` when it names models (``use_llm=False``
keeps the built-in mutator); with no LLM configured the built-in mutator is used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evoforge.compat.openevolve_runner import COMPAT_MODE, PROGRAM, RUNNER
from evoforge.config import CONFIG_NAME, ConfigError
from evoforge.config.toml_text import toml_value

MARKER = "openevolve-import.txt"
"""The file of an imported experiment that lists what became of each key."""

MAPPED: Mapping[str, str] = {
    "max_iterations": "budget.candidates",
    "random_seed": "experiment.seed",
    "evaluator.timeout": "limits.wall_seconds",
    "evaluator.memory_limit_mb": "limits.memory_mb",
    "evaluator.parallel_evaluations": "run.workers",
    "evaluator.cascade_evaluation": "task: cascade stages run in the sandbox",
    "evaluator.cascade_thresholds": "task: cascade thresholds",
    "database.population_size": "selection.population",
    "database.num_islands": "selection.islands",
    "database.migration_rate": "selection.migration_rate",
}
_LLM_KEYS = {
    "api_base", "api_key", "models", "temperature", "top_p", "max_tokens", "timeout",
    "retries", "retry_delay", "primary_model", "primary_model_weight", "secondary_model",
    "secondary_model_weight", "evaluator_models", "system_message", "name", "weight",
}  # fmt: skip
IGNORED: Mapping[str, str] = {
    "checkpoint_interval": "evoforge records every candidate durably",
    "log_level": "no counterpart",
    "log_dir": "runs are kept under the experiment's runs/",
    "language": "evoforge runs Python programs",
    "file_suffix": "evoforge runs Python programs",
    "diff_based_evolution": "the built-in mutator edits literals; the LLM format is [proposer.llm].edit_format",
    "allow_full_rewrites": "see [proposer.llm].edit_format",
    "max_code_length": "see [constraints].max_changed_lines",
    "early_stopping_patience": "no counterpart",
    "convergence_threshold": "no counterpart",
    "early_stopping_metric": "no counterpart",
    "max_tasks_per_child": "no counterpart",
    "prompt": "evoforge writes its own prompts ([proposer.llm].templates)",
    "evolution_trace": "the archive keeps every candidate with lineage",
    "database.random_seed": "the run's seed (experiment.seed) drives selection",
    "evaluator.max_retries": "see [run].max_attempts",
    "evaluator.cpu_limit": "see [limits].cpu_seconds",
    "evaluator.distributed": "no counterpart",
    "evaluator.use_llm_feedback": "no LLM judges candidates in evoforge",
    "evaluator.llm_feedback_weight": "no LLM judges candidates in evoforge",
    "evaluator.enable_artifacts": "stdout/stderr tails are kept instead",
    "evaluator.max_artifact_storage": "stdout/stderr tails are kept instead",
    **{
        f"database.{k}": "evoforge's selection is an aging tournament over islands"
        for k in (
            "db_path", "in_memory", "log_prompts", "archive_size", "elite_selection_ratio",
            "exploration_ratio", "exploitation_ratio", "diversity_metric", "feature_dimensions",
            "feature_bins", "migration_interval", "artifacts_base_path", "artifact_size_threshold",
            "cleanup_old_artifacts", "artifact_retention_days", "diversity_reference_size",
        )
    },
}  # fmt: skip


class OpenEvolveError(ConfigError):
    """The folder cannot be imported; the message says which file or key and why."""


@dataclass
class Imported:
    """What an import wrote, and what became of each key of ``config.yaml``."""

    experiment: Path
    mapped: dict[str, str] = field(default_factory=dict)
    """OpenEvolve key -> what it became (``evoforge.key = value``)."""
    ignored: dict[str, str] = field(default_factory=dict)
    """OpenEvolve key -> why it has no effect."""
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def report(self) -> str:
        """``key: value`` lines: what was mapped, ignored and unknown."""
        lines = [f"experiment: {self.experiment}", f"compat_mode: {COMPAT_MODE}"]
        lines += [f"mapped: {k} -> {v}" for k, v in self.mapped.items()]
        lines += [f"ignored: {k} ({v})" for k, v in self.ignored.items()]
        lines += [f"unknown: {k} (not an OpenEvolve key; ignored)" for k in self.unknown]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in ``path``, ``{}`` when it is missing or empty; OpenEvolveError when
    it is not YAML or not a mapping."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise OpenEvolveError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OpenEvolveError(
            f"{path}: the top level must be a mapping of keys, got {type(data).__name__}"
        )
    return data


def setting(data: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """The value at ``dotted`` (``"evaluator.timeout"``) in ``data``, or ``default``."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def map_config(data: Mapping[str, Any], out: Imported, *, name: str, use_llm: bool) -> str:
    """The ``evoforge.toml`` text for ``data`` (experiment ``name``); what became of each
    key is added to ``out``. OpenEvolveError for a mapped key with a wrong type."""
    sections: dict[str, dict[str, Any]] = {
        "experiment": {"name": name, "seed": 0},
        "program": {"files": [PROGRAM], "command": ["{python}", RUNNER]},
        "task": {"module": "task.py", "objective": "combined_score", "direction": "maximize"},
        "limits": {"wall_seconds": 300},
        "budget": {"candidates": 100},
        "run": {},
        "selection": {},
        "proposer": {"kind": "mutate"},
    }
    for key, value in _flatten(data):
        top = key.split(".")[0]
        if key in MAPPED:
            _apply(key, value, sections, out)
        elif top == "llm":
            if key.split(".")[1] not in _LLM_KEYS:
                out.unknown.append(key)
        elif key in IGNORED or top in IGNORED:
            out.ignored[key] = IGNORED.get(key) or IGNORED[top]
        else:
            out.unknown.append(key)
    llm = data.get("llm")
    if isinstance(llm, Mapping) and llm:
        section = _llm_section(llm, out) if use_llm else None
        if section is not None:
            sections["proposer"] = {"kind": "llm", "llm": section}
            out.mapped["llm"] = f"[proposer.llm] with {len(section['models'])} model(s)"
        else:
            out.ignored["llm"] = "the built-in mutator is used" + ("" if use_llm else " (--no-llm)")
    else:
        out.notes.append("no LLM configured: the built-in mutator proposes")
    return _toml(sections)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and key.split(".")[0] in ("database", "evaluator"):
            items.extend(_flatten(v, key + "."))
        elif key.count(".") == 0 and key == "llm" and isinstance(v, Mapping):
            items.extend((f"llm.{sub}", sv) for sub, sv in v.items())
        else:
            items.append((key, v))
    return items


def _apply(key: str, value: Any, sections: dict[str, dict[str, Any]], out: Imported) -> None:
    target = MAPPED[key]
    if key == "evaluator.cascade_evaluation":
        out.mapped[key] = f"{target} = {bool(value)}"
        return
    if key == "evaluator.cascade_thresholds":
        if not isinstance(value, list) or not all(_is_number(t) for t in value):
            raise OpenEvolveError(f"config.yaml: {key} must be a list of numbers, got {value!r}")
        out.mapped[key] = f"{target} = {value}"
        return
    if value is None:
        out.ignored[key] = "null: evoforge's default is kept"
        return
    integer = key not in ("evaluator.timeout", "database.migration_rate")
    if not _is_number(value) or (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        raise OpenEvolveError(f"config.yaml: {key} must be {kind}, got {value!r}")
    if key == "evaluator.parallel_evaluations":
        value = max(1, min(int(value), 256))
    section, option = target.split(".")
    sections[section][option] = value
    out.mapped[key] = f"{target} = {value}"


def _llm_section(llm: Mapping[str, Any], out: Imported) -> dict[str, Any] | None:
    models = [m for m in llm.get("models") or [] if isinstance(m, Mapping) and m.get("name")]
    for which in ("primary", "secondary"):
        if llm.get(f"{which}_model"):
            weight = llm.get(f"{which}_model_weight") or 1.0
            models.append({"name": llm[f"{which}_model"], "weight": weight})
    if not models:
        return None
    base = llm.get("api_base")
    entries = []
    for m in models:
        url = m.get("api_base") or base
        if not url:
            out.notes.append(f"llm model {m['name']!r} has no api_base: left out")
            continue
        key = m.get("api_key") or llm.get("api_key")
        env = _env_name(key)
        if key and not env:
            out.notes.append("llm api_key holds a literal key: not copied; set OPENAI_API_KEY")
        entries.append({
            "name": str(m["name"]), "base_url": str(url), "api_key_env": env or "OPENAI_API_KEY",
            "weight": float(m.get("weight") or 1.0),
        })  # fmt: skip
    if not entries:
        return None
    section: dict[str, Any] = {"models": entries}
    for oe, ours in (("temperature", "temperature"), ("max_tokens", "max_output_tokens"),
                     ("timeout", "timeout_seconds"), ("retries", "retries"),
                     ("retry_delay", "backoff_seconds")):  # fmt: skip
        if _is_number(llm.get(oe)):
            section[ours] = llm[oe]
    return section


def _env_name(key: Any) -> str:
    m = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", str(key or ""))
    return m.group(1) if m else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _toml(sections: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [
        "# Generated by `evoforge` from an OpenEvolve folder (compatibility mode: the",
        "# evaluator runs inside the sandbox and reports its own metrics; no hidden labels).",
        f"# What was mapped, ignored or unknown: see {MARKER}.",
    ]
    for name, options in sections.items():
        plain = {k: v for k, v in options.items() if not isinstance(v, Mapping)}
        lines += ["", f"[{name}]", *(f"{k} = {_value(v)}" for k, v in plain.items())]
        for sub, table in options.items():
            if isinstance(table, Mapping):
                lists = {
                    k: v
                    for k, v in table.items()
                    if isinstance(v, list) and v and isinstance(v[0], Mapping)
                }
                lines += ["", f"[{name}.{sub}]"]
                lines += [f"{k} = {_value(v)}" for k, v in table.items() if k not in lists]
                for k, rows in lists.items():
                    for row in rows:
                        lines += [
                            "",
                            f"[[{name}.{sub}.{k}]]",
                            *(f"{a} = {_value(b)}" for a, b in row.items()),
                        ]
    return "\n".join(lines) + "\n"


def _value(v: Any) -> str:
    try:
        return toml_value(v)
    except ValueError:
        raise OpenEvolveError(f"cannot write {v!r} into {CONFIG_NAME}") from None
