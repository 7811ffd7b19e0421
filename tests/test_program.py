from __future__ import annotations

import pytest

from evoforge.program import (
    EvolveBlockError,
    blocks_of,
    frame_violations,
    replace_block,
    syntax_errors,
    unified_diff,
)

SEED = """import os

# EVOLVE-BLOCK-START
X = 1
Y = 2
# EVOLVE-BLOCK-END

def f():
    return X + Y
"""


def test_blocks_found_with_text() -> None:
    (block,) = blocks_of("a.py", SEED)
    assert block.text == "X = 1\nY = 2\n"
    assert (block.start, block.end) == (2, 5)


def test_nested_and_stray_markers_are_errors() -> None:
    nested = "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EvolveBlockError, match=r"a\.py:2: .*cannot nest"):
        blocks_of("a.py", nested)
    with pytest.raises(EvolveBlockError, match=r"a\.py:1: EVOLVE-BLOCK-END with no START"):
        blocks_of("a.py", "# EVOLVE-BLOCK-END\n")


def test_edit_inside_block_is_allowed() -> None:
    child = {"a.py": replace_block(SEED, "a.py", 0, "X = 5\nY = 7\nZ = 0\n")}
    assert frame_violations({"a.py": SEED}, child) == []


def test_edit_outside_block_is_rejected() -> None:
    child = {"a.py": SEED.replace("return X + Y", "return 42")}
    (problem,) = frame_violations({"a.py": SEED}, child)
    assert "outside the evolve blocks changed" in problem


def test_removed_marker_and_extra_file_are_rejected() -> None:
    child = {"a.py": SEED.replace("# EVOLVE-BLOCK-END\n", ""), "b.py": "x"}
    problems = frame_violations({"a.py": SEED}, child)
    assert any("files added: b.py" in p for p in problems)
    assert any("never closed" in p for p in problems)


def test_whitespace_change_outside_is_rejected() -> None:
    child = {"a.py": SEED.replace("import os\n", "import os \n")}
    assert frame_violations({"a.py": SEED}, child)


def test_syntax_errors_and_diff() -> None:
    bad = {"a.py": SEED.replace("X = 1", "X = (")}
    assert syntax_errors(bad) and "a.py:" in syntax_errors(bad)[0]
    d = unified_diff({"a.py": SEED}, {"a.py": SEED.replace("X = 1", "X = 3")})
    assert "-X = 1" in d and "+X = 3" in d
