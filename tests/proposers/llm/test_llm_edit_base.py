"""What both edit formats share: blocks by (path, index), rebuilding, names and fences."""

from __future__ import annotations

from edit_answers import edit

from evoforge.proposers.llm.edit_base import (
    EditRejected,
    _block_texts,
    _code_fences,
    _path_before,
    _rebuild,
)

TWO_FILES = {
    "a.py": "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n",
    "b.py": "# EVOLVE-BLOCK-START\ny = 1\n# EVOLVE-BLOCK-END\n#\n"
    "# EVOLVE-BLOCK-START\nz\n# EVOLVE-BLOCK-END\n",
}


def test_blocks_are_keyed_by_path_and_index_within_the_file() -> None:
    assert _block_texts(TWO_FILES) == {
        ("a.py", 0): "x = 1\n",
        ("b.py", 0): "y = 1\n",
        ("b.py", 1): "z\n",
    }


def test_rebuild_replaces_only_the_blocks_that_changed() -> None:
    blocks = _block_texts(TWO_FILES)
    assert _rebuild(TWO_FILES, blocks) == TWO_FILES
    blocks[("b.py", 1)] = "w\n"
    child = _rebuild(TWO_FILES, blocks)
    assert child["a.py"] == TWO_FILES["a.py"]
    assert child["b.py"] == TWO_FILES["b.py"].replace("\nz\n", "\nw\n")


def test_a_file_is_named_on_the_last_line_before_an_edit_or_fence() -> None:
    assert _path_before("Change this.\n**b.py**:\n```python\n", TWO_FILES) == "b.py"
    assert _path_before("`a.py`\n", TWO_FILES) == "a.py"
    assert _path_before("in a.py\n", TWO_FILES) is None  # the line is the name alone
    assert _path_before("c.py\n", TWO_FILES) is None
    assert _path_before("a.py\nthen this\n", TWO_FILES) is None


def test_fences_that_hold_search_replace_edits_are_not_code() -> None:
    text = "```python\nx = 2\n```\n```\n" + edit("x\n", "y\n") + "```\n"
    assert [m.group(1) for m in _code_fences(text)] == ["x = 2\n"]


def test_a_refusal_is_a_value_error() -> None:
    assert issubclass(EditRejected, ValueError)
