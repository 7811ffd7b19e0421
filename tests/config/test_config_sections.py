"""The run's sections on their own: their checks, and the defaults they share with the parts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from evoforge.config import (
    BudgetSection,
    LimitsSection,
    ProgramSection,
    PromotionSection,
    TaskSection,
)
from evoforge.sandbox import Limits


def test_the_limits_section_builds_the_sandbox_limits_key_by_key() -> None:
    section = LimitsSection(wall_seconds=12.5, output_kb=3, threads=4)
    limits = section.limits()
    assert limits == Limits(wall_seconds=12.5, output_kb=3)
    assert limits.output_bytes == 3 * 1024
    assert LimitsSection().limits() == Limits()  # one set of defaults, the sandbox's


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.py", "sub/../../x.py"])
def test_program_files_must_stay_inside_the_experiment(path: str) -> None:
    with pytest.raises(ValidationError, match="inside the experiment folder"):
        ProgramSection(files=[path], command=["python", "p.py"])
    assert ProgramSection(files=["sub/p.py"], command=["x"]).files == ["sub/p.py"]


def test_the_objective_is_neither_a_test_nor_a_gate_metric() -> None:
    with pytest.raises(ValidationError, match="also listed in heldout"):
        TaskSection(objective="acc", heldout=["acc"])
    with pytest.raises(ValidationError, match="also listed in gate"):
        TaskSection(objective="acc", gate=["acc"])
    with pytest.raises(ValidationError, match="both heldout and gate"):
        TaskSection(objective="acc", heldout=["t"], gate=["t"])
    assert TaskSection(objective="acc", heldout=["t"], gate=["g"]).gate == ["g"]


def test_a_budget_needs_an_end() -> None:
    with pytest.raises(ValidationError, match="a run needs an end"):
        BudgetSection(candidates=None)
    assert BudgetSection(candidates=None, wall_minutes=5).wall_minutes == 5


def test_the_old_name_of_the_gate_tolerance_is_still_read() -> None:
    assert PromotionSection.model_validate({"heldout_tolerance": 0.2}).gate_tolerance == 0.2


def test_sections_are_frozen() -> None:
    with pytest.raises(ValidationError):
        TaskSection(objective="acc").objective = "other"
