"""Declared parameters as an Optuna search space: specs to distributions, trial params to
the values written into the code, and a program's own values back to trial params."""

from __future__ import annotations

import pytest
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from evoforge.proposers import ProposalError
from evoforge.proposers.optuna_space import distributions, params_of, trial_values
from evoforge.proposers.params import FloatRange, FreeNumber, Param
from evoforge.proposers.sites import declared_space
from evoforge.proposers.spec_parser import parse_spec

PROGRAM = {
    "p.py": (
        "# EVOLVE-BLOCK-START\n"
        "H = [8, 16]  # evolve: ints[1, 64] len[1, 3]\n"
        "LR = 0.01  # evolve: log[1e-4, 1.0]\n"
        "ON = True  # evolve: bool\n"
        "N = 3  # evolve: int[0, 10]\n"
        "M = 'a'  # evolve: choice['a', 'b']\n"
        "# EVOLVE-BLOCK-END\n"
    )
}


def space_of(files: dict[str, str]) -> dict[str, BaseDistribution]:
    return {
        k: d for name, spec in declared_space(files).items() for k, d in distributions(name, spec)
    }


def test_specs_map_to_optuna_distributions() -> None:
    def dists(spec: str) -> dict[str, object]:
        param = parse_spec(spec)
        assert isinstance(param, Param)
        return dict(distributions("P", param))

    assert dists('choice["a", "b"]') == {"P": CategoricalDistribution(("a", "b"))}
    assert dists("bool") == {"P": CategoricalDistribution((False, True))}
    assert dists("int[0, 10]") == {"P": IntDistribution(0, 10)}
    assert dists("int[4, 512]") == {"P": IntDistribution(4, 512, log=True)}
    assert dists("float[-1.0, 1.0]") == {"P": FloatDistribution(-1.0, 1.0)}
    assert dists("log[1e-4, 1.0]") == {"P": FloatDistribution(1e-4, 1.0, log=True)}
    assert dists("ints[1, 64] len[1, 3]") == {
        "P.len": IntDistribution(1, 3),
        **{f"P[{i}]": IntDistribution(1, 64, log=True) for i in range(3)},
    }
    assert "P.len" not in dists("floats[0.0, 1.0] len[2, 2]")


def test_an_undeclared_spec_has_no_distribution() -> None:
    with pytest.raises(ProposalError, match="X: no Optuna distribution for FreeNumber"):
        distributions("X", FreeNumber(integer=True))


def test_trial_params_become_one_value_per_parameter() -> None:
    space = declared_space(PROGRAM)
    params = {"H.len": 2, "H[0]": 3, "H[1]": 4, "H[2]": 5, "LR": 0.0123456, "ON": False,
              "N": 7.0, "M": "b"}  # fmt: skip
    values = trial_values(space, params)
    assert values == {"H": (3, 4), "LR": 0.01235, "ON": False, "N": 7, "M": "b"}
    assert type(values["N"]) is int


def test_a_list_of_fixed_length_uses_every_element() -> None:
    spec = parse_spec("floats[0.0, 1.0] len[2, 2]")
    assert isinstance(spec, Param)
    assert trial_values({"W": spec}, {"W[0]": 0.25, "W[1]": 0.5}) == {"W": (0.25, 0.5)}


def test_rounded_floats_are_kept_inside_their_range() -> None:
    space: dict[str, Param] = {"LR": FloatRange(0.12344, 0.5)}
    assert trial_values(space, {"LR": 0.12344}) == {"LR": 0.12344}
    assert trial_values(space, {"LR": 0.3333333}) == {"LR": 0.3333}


def test_a_programs_own_values_become_trial_params() -> None:
    assert params_of(PROGRAM, space_of(PROGRAM)) == {
        "H.len": 2, "H[0]": 8, "H[1]": 16, "LR": 0.01, "ON": True, "N": 3, "M": "a",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("N = 3  # evolve: int[0, 10]", "N = 30  # evolve: int[0, 50]"),
        ("N = 3  # evolve: int[0, 10]", "N = True  # evolve: choice[True, 3]"),
        ("ON = True  # evolve: bool", "ON = 1  # evolve: choice[1, 2]"),
        (
            "H = [8, 16]  # evolve: ints[1, 64] len[1, 3]",
            "H = [8, 16, 4, 2]  # evolve: ints[1, 64] len[1, 4]",
        ),
        ("LR = 0.01  # evolve: log[1e-4, 1.0]", "LR = 2.0  # evolve: log[1e-4, 4.0]"),
        ("M = 'a'  # evolve: choice['a', 'b']", "M = 'c'  # evolve: choice['b', 'c']"),
        ("N = 3  # evolve: int[0, 10]", "N = 3  # evolve: int[0, 10]\nK = 1  # evolve: int[0, 5]"),
    ],
)
def test_a_program_whose_values_do_not_fit_the_study_has_no_params(old: str, new: str) -> None:
    changed = {"p.py": PROGRAM["p.py"].replace(old, new)}
    assert changed != PROGRAM
    assert params_of(changed, space_of(PROGRAM)) is None


def test_a_program_with_a_bad_annotation_has_no_params() -> None:
    broken = {"p.py": PROGRAM["p.py"].replace("int[0, 10]", "int[10, 0]")}
    assert params_of(broken, space_of(PROGRAM)) is None
