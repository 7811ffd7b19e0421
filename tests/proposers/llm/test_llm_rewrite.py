"""Rewrites: fences give blocks' new contents; a fence placed nowhere says why."""

from __future__ import annotations

from edit_answers import FILES, ONE_BLOCK, apply, rejected

from evoforge.proposers.llm.rewrite import Rewrite, apply_rewrite, parse_rewrite


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


def test_parse_rewrite_reads_each_fence_with_the_block_it_names() -> None:
    text = "program.py block 2\n```python\nx = 1\n```\nthen\n```\ny = 2\n```\n"
    assert parse_rewrite(text, FILES) == [
        Rewrite("x = 1\n", "program.py", 1, 1),
        Rewrite("y = 2\n", None, fence=2),
    ]


def test_apply_rewrite_keeps_blocks_not_given() -> None:
    child = apply_rewrite(FILES, [Rewrite("def g(x):\n    return -x\n", "program.py", 1, 1)])
    assert "    return -x\n" in child["program.py"]
    assert child["program.py"].startswith(FILES["program.py"].split("def f")[0])
