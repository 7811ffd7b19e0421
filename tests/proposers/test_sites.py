"""Where the evolvable literals of a program are (its sites) and how they are edited: what
counts as a site, the named view of declared parameters, and splices that keep every other
byte. The annotation grammar and value rules are tested with params and spec_parser."""

from __future__ import annotations

import pytest

from evoforge.proposers import ParamSpecError
from evoforge.proposers.params import FreeList, FreeNumber, IntRange
from evoforge.proposers.sites import (
    Site,
    apply,
    check_annotations,
    declared_space,
    find_sites,
    set_values,
)

from proposer_helpers import MODEL, TRAIN


def block(*lines: str, eol: str = "\n") -> dict[str, str]:
    body = "".join(line + eol for line in lines)
    return {
        "p.py": f"import os{eol}# EVOLVE-BLOCK-START{eol}{body}# EVOLVE-BLOCK-END{eol}N = 5{eol}"
    }


def test_site_type_is_exposed() -> None:
    site = find_sites({"p.py": "# EVOLVE-BLOCK-START\nX = 4\n# EVOLVE-BLOCK-END\n"})[0]
    assert isinstance(site, Site) and site.key == "p.py:2:4" and site.name == "X"


def test_a_site_records_its_span_text_and_the_name_it_is_assigned_to() -> None:
    (site,) = find_sites(block("E = +2"))
    assert (site.line, site.col, site.end_line, site.end_col) == (3, 4, 3, 6)
    assert (site.value, site.text, site.name) == (2, "+2", "E")


def test_only_literals_inside_evolve_blocks_of_python_files_are_sites() -> None:
    files = {**block("X = 1"), "notes.txt": block("Y = 2")["p.py"]}
    assert [(s.path, s.name) for s in find_sites(files)] == [("p.py", "X")]
    crossing = {"p.py": "# EVOLVE-BLOCK-START\nX = [1,\n# EVOLVE-BLOCK-END\n2]\n"}
    assert find_sites(crossing) == []


def test_literals_not_assigned_to_one_name_are_unnamed_sites() -> None:
    sites = find_sites(block("a = b = 3", "c, d = 1, 2", "y = g(4, 5)"))
    assert [(s.text, s.name) for s in sites] == [("3", ""), ("1, 2", ""), ("4", ""), ("5", "")]
    assert sites[1].spec == FreeList(integer=True, resizable=False)
    assert sites[2].spec == FreeNumber(integer=True)


def test_a_fixed_comment_freezes_every_line_of_its_statement() -> None:
    sites = find_sites(block("HIDDEN = [", "    32,", "]  # evolve: fixed", "Z = 1"))
    assert [s.name for s in sites] == ["Z"]


def test_broken_evolve_markers_are_a_problem_not_a_crash() -> None:
    unclosed = {"p.py": "# EVOLVE-BLOCK-START\nX = 1\n"}
    assert check_annotations(unclosed) == ["p.py:1: EVOLVE-BLOCK-START is never closed"]
    with pytest.raises(ParamSpecError, match="never closed"):
        find_sites(unclosed)


def test_problems_of_every_file_are_reported_in_path_order() -> None:
    bad = block("X = 3  # evolve: int[5, 9]")["p.py"]
    problems = check_annotations({"b.py": bad, "a.py": bad, "ok.py": block("X = 1")["p.py"]})
    assert [p.split(":")[0] for p in problems] == ["a.py", "b.py"]


def test_the_declared_space_lists_annotated_names_in_path_then_source_order() -> None:
    space = declared_space({"train.py": TRAIN, "model.py": MODEL})
    assert list(space) == ["width", "MODEL", "HIDDEN", "LR", "EPOCHS", "MOMENTUM", "USE_BN"]
    assert space["width"] == IntRange(8, 256)


def test_set_values_leaves_its_input_and_the_other_parameters_as_they_were() -> None:
    files = block("X = 3  # evolve: int[0, 9]", "Y = 4  # evolve: int[0, 9]")
    before = dict(files)
    child = set_values(files, {"X": 7})
    assert files == before
    assert child["p.py"] == files["p.py"].replace("X = 3", "X = 7")


def test_set_values_refuses_a_value_its_spec_does_not_allow() -> None:
    files = block("X = 3  # evolve: int[0, 9]")
    with pytest.raises(ValueError, match=r"^X: value 12 is outside \[0, 9\]"):  # by its name
        set_values(files, {"X": 12})
    with pytest.raises(ParamSpecError):
        set_values(block("X = 3  # evolve: int[9, 0]"), {"X": 1})


def test_several_sites_on_one_line_are_all_replaced() -> None:
    files = block("y = g(4, 5)")
    first, second = find_sites(files)
    child = apply(files, {first.key: 40, second.key: 500})
    assert "y = g(40, 500)\n" in child["p.py"]


def test_edits_keep_windows_line_endings() -> None:
    files = block("X = 3  # evolve: int[0, 9]", "Y = 0.5", eol="\r\n")
    y = find_sites(files)[1]
    child = apply(set_values(files, {"X": 7}), {y.key: 0.25})
    assert child["p.py"] == files["p.py"].replace("X = 3", "X = 7").replace("0.5", "0.25")
    assert child["p.py"].count("\r\n") == files["p.py"].count("\r\n") == 6


def test_a_comment_aligned_on_purpose_keeps_its_column_while_it_fits() -> None:
    files = block("X = 1     # c", "Y = 2   # d")
    x, y = find_sites(files)
    assert "X = 100   # c\n" in apply(files, {x.key: 100})["p.py"]
    assert "Y = 123456  # d\n" in apply(files, {y.key: 123456})["p.py"]


def test_the_frame_is_kept_byte_for_byte() -> None:
    files = {"train.py": TRAIN, "model.py": MODEL}
    child = set_values(files, {"width": 32, "MODEL": "cnn"})
    frame = MODEL.split("# EVOLVE-BLOCK-END")[1]
    assert child["model.py"].split("# EVOLVE-BLOCK-END")[1] == frame
    assert (
        child["train.py"].split("# EVOLVE-BLOCK-START")[0] == TRAIN.split("# EVOLVE-BLOCK-START")[0]
    )
