"""SEARCH/REPLACE edits: each applies once, to the insides of the evolve blocks."""

from __future__ import annotations

from edit_answers import FILES, apply, edit, rejected
from hypothesis import given
from hypothesis import strategies as st

from evoforge.program import frame_violations
from evoforge.proposers.llm.diff import Edit, apply_diff, parse_diff


def test_several_edits_in_fences_apply_in_order() -> None:
    answer = (
        "```\n"
        + edit("B = 0.0\n", "B = 2.0\n")
        + "```\n```python\n"
        + edit("    return x\n", "    return x * B\n")
        + "```\n"
    )
    child = apply(answer)
    assert "B = 2.0" in child["program.py"]
    assert "    return x * B\n" in child["program.py"]


def test_trailing_spaces_do_not_defeat_a_match() -> None:
    child = apply(edit("B = 0.0   \n", "B = 3.0\n"))
    assert "B = 3.0\n" in child["program.py"]


def test_search_text_that_does_not_match_is_rejected() -> None:
    assert "SEARCH text not found in the evolve blocks" in rejected(edit("C = 7\n", "C = 8\n"))


def test_search_matches_whole_lines_only() -> None:
    assert "not found" in rejected(edit("0.0\n", "1.0\n"))


def test_an_edit_of_the_frame_is_rejected() -> None:
    why = rejected(edit("import json\n", "import os\n"))
    assert why.startswith("edit touches code outside the evolve blocks")


def test_an_edit_that_moves_a_marker_is_rejected() -> None:
    why = rejected(edit("B = 0.0\n# EVOLVE-BLOCK-END\n", "B = 1.0\n# EVOLVE-BLOCK-END\nC = 1\n"))
    assert "outside the evolve blocks" in why


def test_an_ambiguous_search_is_rejected() -> None:
    files = {"p.py": "# EVOLVE-BLOCK-START\nx = 1\nx = 1\n# EVOLVE-BLOCK-END\n"}
    assert "matches 2 places" in rejected(edit("x = 1\n", "x = 2\n"), files)


def test_a_malformed_edit_is_rejected() -> None:
    assert "malformed" in rejected("<<<<<<< SEARCH\nB = 0.0\n=======\nB = 1.0\n")


def test_an_empty_search_is_rejected() -> None:
    assert "empty SEARCH" in rejected(edit("\n", "B = 1.0\n"))


def test_a_file_named_before_an_edit_limits_it_to_that_file() -> None:
    files = {
        "a.py": "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n",
        "b.py": "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n",
    }
    assert "matches 2 places" in rejected(edit("x = 1\n", "x = 2\n"), files)
    child = apply("b.py\n```python\n" + edit("x = 1\n", "x = 2\n") + "```\n", files)
    assert child["a.py"] == files["a.py"]
    assert "x = 2" in child["b.py"]


@given(st.integers(-1000, 1000), st.sampled_from(["A", "B"]))
def test_any_applied_edit_keeps_the_frame(value: int, name: str) -> None:
    old = "A = 0.5  # evolve: float[-5.0, 5.0]\n" if name == "A" else "B = 0.0\n"
    child = apply(edit(old, f"{name} = {value}\n"))
    assert frame_violations(FILES, child) == []
    assert f"{name} = {value}\n" in child["program.py"]


def test_an_incomplete_edit_says_what_it_lacks() -> None:
    no_divider = "<<<<<<< SEARCH\nB = 0.0\nB = 1.0\n>>>>>>> REPLACE\n"
    assert rejected(no_divider).endswith("edit 1 has no '=======' line after its SEARCH text")
    second_cut = edit("B = 0.0\n", "B = 1.0\n") + "<<<<<<< SEARCH\nA = 0.5\n=======\nA = 1\n"
    why = rejected(second_cut)
    assert why.startswith("malformed SEARCH/REPLACE edit: 2 opened, 1 complete;")
    assert why.endswith("edit 2 has no '>>>>>>> REPLACE' line (the answer may be cut off)")


def test_parse_diff_reads_edits_in_order_with_the_file_named_before_each() -> None:
    files = {"a.py": "", "b.py": ""}
    text = "a.py\n" + edit("x = 1\n", "x = 2\n") + "and then\n" + edit("y\n", "z\n")
    assert parse_diff(text, files) == [Edit("x = 1\n", "x = 2\n", "a.py"), Edit("y\n", "z\n")]


def test_apply_diff_replaces_whole_lines_inside_a_block() -> None:
    child = apply_diff(FILES, [Edit("B = 0.0\n", "B = 5.0")])
    assert "B = 5.0\n# EVOLVE-BLOCK-END\n" in child["program.py"]
