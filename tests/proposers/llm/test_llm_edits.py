"""Answers become children only by editing evolve blocks; every refusal says why."""

from __future__ import annotations

from edit_answers import FILES, ONE_BLOCK, apply, edit, rejected

from evoforge.program import frame_violations
from evoforge.proposers.llm.edits import apply_answer


def test_a_search_replace_edit_changes_the_block_only() -> None:
    answer = "Raise A.\n" + edit("A = 0.5  # evolve: float[-5.0, 5.0]\n", "A = 1.5\n")
    child, used = apply_answer(answer, FILES, seed=FILES, edit_format="diff")
    assert used == "diff"
    assert "A = 1.5\nB = 0.0\n" in child["program.py"]
    assert frame_violations(FILES, child) == []


def test_prose_without_code_is_rejected() -> None:
    assert "no code in the answer" in rejected("I would raise A a little, to about 1.0.")


def test_an_empty_answer_is_rejected() -> None:
    assert rejected("  \n") == "empty answer"
    assert rejected("<think>hmm, maybe A") == "empty answer"


def test_a_child_that_does_not_parse_is_rejected() -> None:
    why = rejected(edit("B = 0.0\n", "B = (0.0\n"))
    assert why.startswith("the edited program does not parse: program.py:")


def test_a_child_identical_to_its_parent_is_rejected() -> None:
    assert rejected(edit("B = 0.0\n", "B = 0.0\n")) == "child identical to parent"


def test_reasoning_sections_are_ignored() -> None:
    answer = (
        "<think>\n" + edit("B = 0.0\n", "B = 9.0\n") + "</think>\n" + edit("B = 0.0\n", "B = 1.0\n")
    )
    assert "B = 1.0" in apply(answer)["program.py"]


def test_a_named_block_rewrite_replaces_that_block() -> None:
    answer = "Double g.\n\nprogram.py block 2\n```python\ndef g(x):\n    return 2 * x\n```\n"
    child, used = apply_answer(answer, FILES, seed=FILES, edit_format="rewrite")
    assert used == "rewrite"
    assert "    return 2 * x\n# EVOLVE-BLOCK-END\n" in child["program.py"]
    assert "A = 0.5" in child["program.py"]


def test_either_format_is_accepted_whatever_was_asked() -> None:
    assert "B = 4.0" in apply(edit("B = 0.0\n", "B = 4.0\n"), fmt="rewrite")["program.py"]
    answer = "main.py block 1\n```python\nA = 5\n```\n"
    assert "A = 5" in apply(answer, ONE_BLOCK, "diff")["main.py"]


def test_crlf_line_ends_are_normalised_before_parsing() -> None:
    crlf = edit("B = 0.0\n", "B = 6.0\n").replace("\n", "\r\n")
    child = apply("Raise B.\r\n" + crlf)
    assert "B = 6.0\n" in child["program.py"] and "\r" not in child["program.py"]
    rewrite = "main.py block 1\r\n```python\r\nA = 7\r\n```\r\n"
    assert "A = 7\n" in apply(rewrite, ONE_BLOCK, "rewrite")["main.py"]
    assert "A = 8\n" in apply(rewrite.replace("\r\n", "\r").replace("7", "8"), ONE_BLOCK)["main.py"]


def test_an_unclosed_fence_is_rejected_as_unclosed() -> None:
    why = rejected("main.py block 1\n```python\nA = 2\n", ONE_BLOCK, "rewrite")
    assert why.startswith("a code fence is opened and never closed")
