"""Programs and answers for the edit tests, and answers applied as the proposer does."""

from __future__ import annotations

import pytest

from evoforge.proposers.llm.edit_base import EditRejected
from evoforge.proposers.llm.edits import apply_answer

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
