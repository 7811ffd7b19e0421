"""Answers become children only by editing evolve blocks; every refusal says why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evoforge.program import frame_violations
from evoforge.proposers.llm.edits import EditRejected, apply_answer

PROGRAM = '''"""A program."""
import json

# EVOLVE-BLOCK-START
A = 0.5  # evolve: float[-5.0, 5.0]
B = 0.0
# EVOLVE-BLOCK-END


def f(x):
    return A * x + B


# EVOLVE-BLOCK-START
def g(x):
    return x
# EVOLVE-BLOCK-END
'''
FILES = {"program.py": PROGRAM}
ONE_BLOCK = {"main.py": "x = 1\n# EVOLVE-BLOCK-START\nA = 1\n# EVOLVE-BLOCK-END\nprint(A)\n"}


def edit(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def apply(answer: str, files: dict[str, str] = FILES, fmt: str = "diff") -> dict[str, str]:
    child, _ = apply_answer(answer, files, seed=files, edit_format=fmt)
    return child


def rejected(answer: str, files: dict[str, str] = FILES, fmt: str = "diff") -> str:
    with pytest.raises(EditRejected) as info:
        apply_answer(answer, files, seed=files, edit_format=fmt)
    return str(info.value)


def test_a_search_replace_edit_changes_the_block_only() -> None:
    answer = "Raise A.\n" + edit("A = 0.5  # evolve: float[-5.0, 5.0]\n", "A = 1.5\n")
    child, used = apply_answer(answer, FILES, seed=FILES, edit_format="diff")
    assert used == "diff"
    assert "A = 1.5\nB = 0.0\n" in child["program.py"]
    assert frame_violations(FILES, child) == []


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


def test_a_file_named_before_an_edit_limits_it_to_that_file() -> None:
    files = {
        "a.py": "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n",
        "b.py": "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n",
    }
    assert "matches 2 places" in rejected(edit("x = 1\n", "x = 2\n"), files)
    child = apply("b.py\n```python\n" + edit("x = 1\n", "x = 2\n") + "```\n", files)
    assert child["a.py"] == files["a.py"]
    assert "x = 2" in child["b.py"]


def test_a_named_block_rewrite_replaces_that_block() -> None:
    answer = "Double g.\n\nprogram.py block 2\n```python\ndef g(x):\n    return 2 * x\n```\n"
    child, used = apply_answer(answer, FILES, seed=FILES, edit_format="rewrite")
    assert used == "rewrite"
    assert "    return 2 * x\n# EVOLVE-BLOCK-END\n" in child["program.py"]
    assert "A = 0.5" in child["program.py"]


def test_a_rewrite_with_markers_and_no_name_fits_a_one_block_program() -> None:
    answer = "```python\n# EVOLVE-BLOCK-START\nA = 2\n# EVOLVE-BLOCK-END\n```\n"
    assert apply(answer, ONE_BLOCK, "rewrite")["main.py"].count("A = 2\n") == 1


def test_a_whole_file_rewrite_is_accepted_when_its_frame_is_unchanged() -> None:
    whole = ONE_BLOCK["main.py"].replace("A = 1", "A = 3")
    assert "A = 3" in apply(f"```python\n{whole}```", ONE_BLOCK, "rewrite")["main.py"]
    changed = whole.replace("print(A)", "print(A, 'pwned')")
    assert "outside the evolve blocks" in rejected(f"```python\n{changed}```", ONE_BLOCK, "rewrite")


def test_unnamed_rewrites_must_cover_every_block() -> None:
    answer = "```python\nB = 1\n```\n"
    assert rejected(answer, fmt="rewrite") == (
        "fence 1 rewrites 1 of the program's 2 evolve blocks without saying which: "
        "write 'PATH block N' before each fence"
    )


def test_a_rewrite_of_a_block_that_does_not_exist_is_rejected() -> None:
    answer = "program.py block 3\n```python\nx = 1\n```\n"
    assert "no block 3" in rejected(answer, fmt="rewrite")


def test_either_format_is_accepted_whatever_was_asked() -> None:
    assert "B = 4.0" in apply(edit("B = 0.0\n", "B = 4.0\n"), fmt="rewrite")["program.py"]
    answer = "main.py block 1\n```python\nA = 5\n```\n"
    assert "A = 5" in apply(answer, ONE_BLOCK, "diff")["main.py"]


@given(st.integers(-1000, 1000), st.sampled_from(["A", "B"]))
def test_any_applied_edit_keeps_the_frame(value: int, name: str) -> None:
    old = "A = 0.5  # evolve: float[-5.0, 5.0]\n" if name == "A" else "B = 0.0\n"
    child = apply(edit(old, f"{name} = {value}\n"))
    assert frame_violations(FILES, child) == []
    assert f"{name} = {value}\n" in child["program.py"]


def test_crlf_line_ends_are_normalised_before_parsing() -> None:
    crlf = edit("B = 0.0\n", "B = 6.0\n").replace("\n", "\r\n")
    child = apply("Raise B.\r\n" + crlf)
    assert "B = 6.0\n" in child["program.py"] and "\r" not in child["program.py"]
    rewrite = "main.py block 1\r\n```python\r\nA = 7\r\n```\r\n"
    assert "A = 7\n" in apply(rewrite, ONE_BLOCK, "rewrite")["main.py"]
    assert "A = 8\n" in apply(rewrite.replace("\r\n", "\r").replace("7", "8"), ONE_BLOCK)["main.py"]


def test_an_unnamed_fence_beside_a_named_one_is_rejected_naming_both() -> None:
    answer = "main.py block 1\n```python\nA = 2\n```\nRun it:\n```bash\npython main.py\n```\n"
    assert rejected(answer, ONE_BLOCK, "rewrite") == (
        "fence 2 names no block while fence 1 names main.py block 1: write 'PATH block N' "
        "before each fence (code that is no new block, an example say, belongs outside fences)"
    )


def test_more_unnamed_fences_than_blocks_are_rejected_as_ambiguous() -> None:
    answer = "```python\nA = 2\n```\nor else\n```python\nA = 3\n```\n"
    why = rejected(answer, ONE_BLOCK, "rewrite")
    assert why.startswith("fences 1 and 2 hold 2 blocks of code for the program's 1 evolve block")
    assert "ambiguous" in why


def test_a_fence_naming_a_file_but_not_its_block_says_how_many_the_file_has() -> None:
    why = rejected("program.py\n```python\nB = 1\n```\n", fmt="rewrite")
    assert why == (
        "fence 1 names program.py, which has 2 evolve blocks, but holds 1: "
        "write 'program.py block N' before it"
    )


def test_a_block_rewritten_twice_names_both_fences() -> None:
    answer = "main.py block 1\n```python\nA = 2\n```\nmain.py block 1\n```python\nA = 3\n```\n"
    assert rejected(answer, ONE_BLOCK, "rewrite") == (
        "main.py block 1 is rewritten twice (fence 1 and fence 2): give each block once"
    )


def test_a_fence_with_several_blocks_for_one_named_block_says_how_many() -> None:
    two = "# EVOLVE-BLOCK-START\nA = 2\n# EVOLVE-BLOCK-END\n" * 2
    why = rejected(f"main.py block 1\n```python\n{two}```\n", ONE_BLOCK, "rewrite")
    assert why == "fence 1 (main.py block 1) holds 2 blocks: give one block per fence"


def test_an_unclosed_fence_is_rejected_as_unclosed() -> None:
    why = rejected("main.py block 1\n```python\nA = 2\n", ONE_BLOCK, "rewrite")
    assert why.startswith("a code fence is opened and never closed")


def test_an_incomplete_edit_says_what_it_lacks() -> None:
    no_divider = "<<<<<<< SEARCH\nB = 0.0\nB = 1.0\n>>>>>>> REPLACE\n"
    assert rejected(no_divider).endswith("edit 1 has no '=======' line after its SEARCH text")
    second_cut = edit("B = 0.0\n", "B = 1.0\n") + "<<<<<<< SEARCH\nA = 0.5\n=======\nA = 1\n"
    why = rejected(second_cut)
    assert why.startswith("malformed SEARCH/REPLACE edit: 2 opened, 1 complete;")
    assert why.endswith("edit 2 has no '>>>>>>> REPLACE' line (the answer may be cut off)")
