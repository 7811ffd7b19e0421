"""The `# evolve:` convention: finding sites, splicing values, how specs move values."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evoforge.proposers.params import (
    Bool,
    Choice,
    FloatRange,
    FreeBool,
    FreeList,
    FreeNumber,
    IntRange,
    NumList,
    ParamSpecError,
)
from evoforge.proposers.sites import (
    Site,
    apply,
    check_annotations,
    declared_space,
    find_sites,
    set_values,
)
from evoforge.proposers.values import Value

from proposer_helpers import MODEL, TRAIN


@pytest.fixture
def program() -> dict[str, str]:
    """Two files; one block at top level, one inside a function."""
    return {"train.py": TRAIN, "model.py": MODEL}


def block(*lines: str) -> dict[str, str]:
    body = "".join(line + "\n" for line in lines)
    return {"p.py": f"import os\n# EVOLVE-BLOCK-START\n{body}# EVOLVE-BLOCK-END\nprint(1)\n"}


def by_name(files: dict[str, str]) -> dict[str, Site]:
    return {s.name: s for s in find_sites(files) if s.name}


def test_a_remark_may_follow_the_spec() -> None:
    files = block(
        "EPOCHS = 3  # evolve: int[1, 200]  # more is slower",
        'M = "a#"  # evolve: choice["a#", "b"]',
    )
    assert declared_space(files) == {"EPOCHS": IntRange(1, 200), "M": Choice(("a#", "b"))}


# ---------------------------------------------------------------- check_annotations


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("EPOCHS = 3  # evolve: int[5, 1]", "p.py:3: int[5, 1]: the low end must be below"),
        ("EPOCHS = 3  # evolve: ranged[1, 2]", "p.py:3: unknown kind 'ranged'"),
        ("EPOCHS = 300  # evolve: int[1, 200]", "p.py:3: EPOCHS: value 300 is outside [1, 200]"),
        ("EPOCHS = 0.5  # evolve: int[1, 200]", "p.py:3: EPOCHS: value 0.5 is not an int"),
        ('MODEL = "rnn"  # evolve: choice["mlp", "cnn"]', "p.py:3: MODEL: value 'rnn' is not one"),
        ("FLAG = 1  # evolve: bool", "p.py:3: FLAG: value 1 is not a bool"),
        ("H = [4, 99]  # evolve: ints[1, 64] len[1, 3]", "p.py:3: H: element 99 is outside"),
        ("H = [4] * 2  # evolve: ints[1, 64] len[1, 3]", "p.py:3: an `# evolve:` spec must trail"),
        ("f(3)  # evolve: int[1, 5]", "p.py:3: an `# evolve:` spec must trail"),
    ],
)
def test_check_annotations_names_path_line_and_problem(line: str, why: str) -> None:
    problems = check_annotations(block(line))
    assert len(problems) == 1
    assert problems[0].startswith(why)
    with pytest.raises(ParamSpecError, match=r"p\.py:3: "):
        find_sites(block(line))


def test_check_annotations_is_empty_for_a_good_program(program: dict[str, str]) -> None:
    assert check_annotations(program) == []


def test_annotation_outside_a_block_and_duplicates_are_problems() -> None:
    files = block("LR = 0.1  # evolve: log[1e-3, 1]", "LR = 0.2  # evolve: log[1e-3, 1]")
    files["p.py"] += "X = 3  # evolve: int[1, 5]\n"
    problems = check_annotations(files)
    assert problems == [
        "p.py:4: LR is declared twice (lines 3 and 4)",
        "p.py:7: `# evolve:` annotation outside an evolve block",
    ]


def test_syntax_error_is_a_problem_not_a_crash() -> None:
    (problem,) = check_annotations(block("X = ("))
    assert problem.startswith("p.py:3: syntax error")


# ---------------------------------------------------------------- find_sites


def test_find_sites_reads_declared_and_free_literals(program: dict[str, str]) -> None:
    sites = find_sites(program)
    named = {s.name: s for s in sites if s.name}
    assert named["MODEL"].spec == Choice(("linear", "mlp", "cnn"))
    assert named["HIDDEN"].value == (32,)
    assert named["LR"].spec == FloatRange(1e-5, 1.0, log=True)
    assert named["width"].path == "model.py" and named["width"].spec == IntRange(8, 256)
    assert named["DROPOUT"].spec == FreeNumber(integer=False)
    assert named["OFFSET"].value == -3 and named["OFFSET"].text == "-3"
    assert "SEED" not in named  # fixed
    assert "SCALE" not in named  # frame
    unnamed = [(s.text, s.spec) for s in sites if not s.name]
    assert unnamed == [
        ("10", FreeNumber(integer=True)),
        ("32", FreeNumber(integer=True)),
        ("0.01", FreeNumber(integer=False)),
        ("True", FreeBool()),
        ("(0.9, 0.999)", FreeList(integer=False, resizable=False)),
    ]


@pytest.mark.parametrize(
    "line",
    [
        '"""docstring 3"""',
        'x = f"{y * 2:.3f}"',
        "x = y[0] + y[1:3] + y[-1]",
        'x = "text"',
        "x = None",
        "def f(a: Annotated[int, 3]) -> Annotated[int, 4]: pass",
        "x = 0.0",
        "x = []",
        "x = b'bytes'",
        "x = 2j",
        "x = 5  # evolve: fixed",
        "y = g(4, 5, k=6)  # evolve: fixed",
    ],
)
def test_non_sites_are_skipped(line: str) -> None:
    assert find_sites(block(line)) == []


def test_annotations_apply_to_self_attributes_and_annotated_assignments() -> None:
    files = block(
        "class Net:",
        "    def __init__(self):",
        "        self.lr = 0.1  # evolve: log[1e-4, 1]",
        "RATE: float = 0.5  # evolve: float[0, 1]",
    )
    assert declared_space(files) == {
        "self.lr": FloatRange(1e-4, 1.0, log=True),
        "RATE": FloatRange(0.0, 1.0),
    }
    files["p.py"] = files["p.py"].replace("RATE: float = 0.5", "RATE: float = 2.5")
    assert check_annotations(files) == ["p.py:6: RATE: value 2.5 is outside [0.0, 1.0]"]


def test_long_lists_and_tuples_keep_their_length_short_lists_may_resize() -> None:
    files = block(f"DATA = {list(range(20))}", "SHAPE = (3, 3)", "WIDTHS = [8, 16]")
    specs = {s.name: s.spec for s in find_sites(files)}
    assert specs == {
        "DATA": FreeList(integer=True, resizable=False),
        "SHAPE": FreeList(integer=True, resizable=False),
        "WIDTHS": FreeList(integer=True, resizable=True),
    }


def test_an_annotation_may_sit_on_any_line_of_a_multiline_literal() -> None:
    files = block("HIDDEN = [", "    32,", "    64,", "]  # evolve: ints[8, 512] len[1, 4]")
    (site,) = find_sites(files)
    assert site.value == (32, 64) and (site.line, site.end_line) == (3, 6)
    assert "HIDDEN = [16]  # evolve" in set_values(files, {"HIDDEN": [16]})["p.py"]


def test_a_program_too_deep_to_parse_is_a_problem() -> None:
    deep = block("x = " + " + ".join(["1"] * 3000))
    assert check_annotations(deep) == ["p.py: nested too deeply to parse"]


def test_columns_count_characters_not_bytes() -> None:
    files = block('s = "ééé"; x = 3')
    (site,) = find_sites(files)
    assert site.col == len('s = "ééé"; x = ')
    assert apply(files, {site.key: 5})["p.py"].count('s = "ééé"; x = 5\n') == 1


# ---------------------------------------------------------------- apply


def test_apply_splices_only_the_literal(program: dict[str, str]) -> None:
    sites = by_name(program)
    child = apply(program, {sites["LR"].key: 0.02, sites["OFFSET"].key: -7})
    old, new = program["train.py"].splitlines(), child["train.py"].splitlines()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [
        (
            "LR = 0.001             # evolve: log[1e-5, 1.0]",
            "LR = 0.02              # evolve: log[1e-5, 1.0]",
        ),
        ("OFFSET = -3", "OFFSET = -7"),
    ]
    assert child["model.py"] == program["model.py"]


def test_apply_keeps_quote_and_bracket_style() -> None:
    files = block(
        "A = 'x'  # evolve: choice['x', 'y']", "B = (1, 2)  # evolve: ints[0, 9] len[0, 3]"
    )
    sites = by_name(files)
    child = apply(files, {sites["A"].key: "y", sites["B"].key: (5,)})
    assert "A = 'y'  # evolve" in child["p.py"]
    assert "B = (5,)  # evolve" in child["p.py"]
    child = apply(files, {sites["B"].key: []})
    assert "B = ()  # evolve" in child["p.py"]


def test_apply_rejects_unknown_keys_and_out_of_range_values(program: dict[str, str]) -> None:
    sites = by_name(program)
    with pytest.raises(ValueError, match="no mutable site"):
        apply(program, {"train.py:1:0": 3})
    with pytest.raises(ValueError, match="outside"):
        apply(program, {sites["EPOCHS"].key: 500})
    with pytest.raises(ValueError, match="length 5"):
        apply(program, {sites["HIDDEN"].key: [8, 8, 8, 8, 8]})


def test_comment_column_survives_a_long_value_and_back() -> None:
    files = block('P = "none"     # evolve: choice["none", "standardize"]', "Q = 1          # c")
    key = by_name(files)["P"].key
    longer = apply(files, {key: "standardize"})
    assert 'P = "standardize"  # evolve' in longer["p.py"]
    back = apply(longer, {by_name(longer)["P"].key: "none"})
    assert back == files  # rejoins the column of its neighbour's comment


# ---------------------------------------------------------------- declared_space / set_values


def test_set_values_sets_named_parameters(program: dict[str, str]) -> None:
    space = declared_space(program)
    assert set(space) == {"MODEL", "HIDDEN", "LR", "EPOCHS", "MOMENTUM", "USE_BN", "width"}
    child = set_values(program, {"MODEL": "cnn", "HIDDEN": [64, 128], "width": 32})
    assert by_name(child)["MODEL"].value == "cnn"
    assert by_name(child)["HIDDEN"].value == (64, 128)
    assert "    width = 32  # evolve: int[8, 256]\n" in child["model.py"]
    with pytest.raises(KeyError, match="DROPOUT"):
        set_values(program, {"DROPOUT": 0.2})  # not declared


def test_names_declared_in_two_files_are_qualified_by_path() -> None:
    one = block("LR = 0.1  # evolve: log[1e-3, 1]")
    files = {"a.py": one["p.py"], "b.py": one["p.py"]}
    assert set(declared_space(files)) == {"a.py:LR", "b.py:LR"}
    child = set_values(files, {"b.py:LR": 0.5})
    assert child["a.py"] == files["a.py"] and "LR = 0.5" in child["b.py"]


# ---------------------------------------------------------------- value rules

SPECS = [
    Choice(("a", "b", "c")),
    Choice((16, 32, 64, 128)),
    IntRange(1, 4),
    IntRange(1, 200),
    IntRange(-5, 5),
    FloatRange(0.0, 0.99),
    FloatRange(1e-7, 1e-2, log=True),
    Bool(),
    NumList(8, 512, 1, 4, integer=True),
    NumList(0.0, 1.0, 0, 2, integer=False),
]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, len(SPECS) - 1))
def test_declared_values_stay_in_range_and_neighbours_move(seed: int, which: int) -> None:
    spec, rng = SPECS[which], random.Random(seed)
    value = spec.sample(rng)
    for _ in range(30):
        assert spec.problem(value) is None, (spec, value)
        new = spec.neighbour(value, rng, 0.5)
        assert new != value or isinstance(spec, FloatRange)
        value = new
    assert spec.problem(value) is None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), start=st.integers(-1000, 1000))
def test_free_ints_step_at_most_double_and_keep_their_sign(seed: int, start: int) -> None:
    rng, value = random.Random(seed), start
    for _ in range(20):
        new = FreeNumber(integer=True).neighbour(value, rng)
        assert isinstance(new, int) and new != value
        assert (new < 0) == (value < 0) and (new > 0 or value <= 0)  # 0 may become 1
        assert abs(new) <= max(2 * abs(value), abs(value) + 1)
        assert abs(new) >= min(abs(value) // 2, abs(value) - 1)
        value = new


def test_free_floats_move_on_a_log_scale_and_keep_their_sign() -> None:
    rng = random.Random(0)
    values: list[Any] = [FreeNumber(integer=False).neighbour(0.01, rng, 0.5) for _ in range(200)]
    assert all(isinstance(v, float) and v > 0 for v in values)
    ratios = sorted(v / 0.01 for v in values)
    assert 0.5 < ratios[100] < 2 and ratios[0] < 0.7 and ratios[-1] > 1.4
    assert FreeNumber(integer=False).neighbour(-2.0, rng) < 0  # type: ignore[operator]


def test_free_lists_grow_shrink_change_within_bounds() -> None:
    rng = random.Random(0)
    lengths = set()
    value: Value = (32,)
    for _ in range(300):
        value = FreeList(integer=True, resizable=True).neighbour(value, rng)
        assert isinstance(value, tuple) and all(isinstance(x, int) and x > 0 for x in value)
        lengths.add(len(value))
    assert lengths == set(range(1, 9))
    fixed = FreeList(integer=False, resizable=False)
    assert all(len(fixed.neighbour((0.9, 0.999), rng)) == 2 for _ in range(50))  # type: ignore[arg-type]


def test_ratio_scaled_int_ranges_sample_small_values_often() -> None:
    rng = random.Random(0)
    draws: list[Any] = [IntRange(8, 512).sample(rng) for _ in range(2000)]
    below_64 = sum(1 for d in draws if d < 64) / len(draws)
    assert 0.4 < below_64 < 0.6  # log-uniform: half the ratio range lies below 64


def test_free_specs_cannot_be_sampled() -> None:
    with pytest.raises(TypeError, match="no declared range"):
        FreeNumber(integer=True).sample(random.Random(0))
