"""The prompt holds what a proposer may know, and templates can be replaced per experiment."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_support import SEED, feedback, model, parent, section

from evoforge.candidate import Candidate, Status
from evoforge.config import ConfigError
from evoforge.proposers.llm import TemplateError, build_messages, load_templates
from evoforge.proposers.llm.prompt import as_text
from evoforge.proposers.llm.proposer import build_llm_proposer
from evoforge.proposers.mutate import Mutator


def variant(a: str) -> dict[str, str]:
    return {"program.py": SEED.replace("A = 0.5", f"A = {a}")}


def user_prompt(**kw: object) -> str:
    messages = build_messages(parent(), feedback(**kw), load_templates(), edit_format="diff")
    assert [m["role"] for m in messages] == ["system", "user"]
    return messages[1]["content"]


def test_the_prompt_holds_code_blocks_metrics_rules_and_format() -> None:
    text = user_prompt()
    assert "`neg_mse` should be as high as possible" in text
    assert "```python\n" + SEED in text
    assert "program.py block 1 (lines 6-8)" in text
    assert "neg_mse = -3" in text
    assert "no file may be added or removed" in text
    assert "<<<<<<< SEARCH" in text and "$" not in text


def test_inspirations_show_other_programs_blocks_best_first() -> None:
    best = parent(cid=9, files=variant("1.4"), score=-0.1)
    text = user_prompt(best=best, inspirations=[parent(cid=7, files=variant("0.9"), score=-1.0)])
    assert text.index("Candidate #9 (neg_mse = -0.1)") < text.index("Candidate #7")
    assert "A = 1.4" in text and "A = 0.9" in text


def test_inspirations_skip_the_parent_and_prefer_what_differs() -> None:
    same = parent(cid=5)  # the parent's own code
    near = parent(cid=6, files=variant("0.51"), score=-2.9)
    far = parent(cid=8, files={"program.py": SEED.replace("B = 0.0", "B = -1.75")}, score=-2.0)
    best = parent(cid=9, files=variant("1.4"), score=-0.1)
    messages = build_messages(
        parent(),
        feedback(best=best, inspirations=[same, near, far]),
        load_templates(),
        edit_format="diff",
        inspirations=2,
    )
    text = messages[1]["content"]
    assert "Candidate #9" in text and "Candidate #8" in text
    assert "Candidate #6" not in text and "Candidate #5" not in text


def test_failures_show_reason_flags_change_and_stderr_tail() -> None:
    failed = Candidate(
        id=11,
        code_hash="x",
        status=Status.FAILED,
        failure="exit code 1",
        flags=("nonfinite",),
        diff="-A = 0.5\n+A = 1e400\n",
        stderr_tail="x" * 5000 + "\nOverflowError: math range error\n",
    )
    text = user_prompt(recent_failures=[failed])
    assert "Candidate #11 failed: exit code 1" in text and "Flags: nonfinite" in text
    assert "+A = 1e400" in text and "OverflowError: math range error" in text
    assert "x" * 900 not in text  # tails are truncated


def test_the_rewrite_format_names_the_blocks() -> None:
    messages = build_messages(parent(), feedback(), load_templates(), edit_format="rewrite")
    assert "`PATH block N` (the blocks are: program.py block 1" in messages[1]["content"]
    assert "SEARCH" not in messages[1]["content"]
    assert as_text(messages).startswith("=== system ===\n")


def test_a_template_folder_replaces_only_the_files_it_has(tmp_path: Path) -> None:
    (tmp_path / "user.md").write_text("Score $objective ($direction), costs $$5.\n$program")
    templates = load_templates(tmp_path)
    text = build_messages(parent(), feedback(), templates, edit_format="diff")[1]["content"]
    assert text.startswith("Score neg_mse (maximize), costs $5.\n### program.py")
    assert templates.system == load_templates().system


def test_template_mistakes_are_reported(tmp_path: Path) -> None:
    (tmp_path / "user.md").write_text("Hello $objectiv")
    with pytest.raises(TemplateError, match=r"unknown placeholder\(s\) \$objectiv"):
        load_templates(tmp_path)
    (tmp_path / "user.md").unlink()
    (tmp_path / "usr.md").write_text("x")
    with pytest.raises(TemplateError, match="not a prompt template"):
        load_templates(tmp_path)


def test_building_for_an_experiment_checks_templates_and_key_variables(tmp_path: Path) -> None:
    config = section(model("http://127.0.0.1:9/v1"), templates="prompts")
    with pytest.raises(ConfigError, match="prompt template folder does not exist"):
        build_llm_proposer(config, experiment=tmp_path, fallback=Mutator(), env={"REPLAY_KEY": "k"})
    (tmp_path / "prompts").mkdir()
    with pytest.raises(ConfigError, match="REPLAY_KEY not set"):
        build_llm_proposer(config, experiment=tmp_path, fallback=Mutator(), env={})
    built = build_llm_proposer(
        config, experiment=tmp_path, fallback=Mutator(), env={"REPLAY_KEY": "k"}
    )
    assert built.name == "llm" and built.wants_context
