"""The trusted builder: what it accepts, the networks it builds, and the example's copy."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from evoforge.domains.nas import cell
from evoforge.domains.nas.cell import build, parameters, problem

ROOT = Path(__file__).resolve().parents[3]
ARCH: dict[str, Any] = {"conv": "1d", "stem": 16, "stages": [[2, 16], [1, 32]],
                        "cell": ["conv3", "skip", "conv1", "avgpool", "none", "conv3"]}  # fmt: skip


def test_a_valid_description_builds_for_sequences_and_images() -> None:
    assert problem(ARCH) == ""
    out = build(ARCH, in_channels=1, n_classes=10)(torch.randn(3, 1, 40))
    assert out.shape == (3, 10)
    two = {**ARCH, "conv": "2d"}
    assert build(two, in_channels=3, n_classes=4)(torch.randn(2, 3, 8, 8)).shape == (2, 4)


def test_a_cell_of_none_outputs_zeros_and_the_head_still_learns_a_bias() -> None:
    empty = {**ARCH, "cell": ["none"] * 6}
    model = build(empty, in_channels=1, n_classes=10).eval()
    a, b = model(torch.randn(2, 1, 40)), model(torch.randn(2, 1, 40))
    assert torch.equal(a, b)  # the input never reaches the head
    assert parameters(model) < parameters(build(ARCH, in_channels=1, n_classes=10))


def test_more_cells_and_wider_stages_have_more_parameters() -> None:
    small = parameters(build(ARCH, in_channels=1, n_classes=10))
    deeper = copy.deepcopy(ARCH)
    deeper["stages"][0][0] = 3
    wider = copy.deepcopy(ARCH)
    wider["stages"][1][1] = 64
    assert parameters(build(deeper, in_channels=1, n_classes=10)) > small
    assert parameters(build(wider, in_channels=1, n_classes=10)) > small


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"conv": "3d"}, "conv must be"),
        ({"stem": 2}, "stem must be"),
        ({"stem": True}, "stem must be"),
        ({"stages": []}, "stages must be"),
        ({"stages": [[0, 16]]}, "stage 0 must be"),
        ({"stages": [[1, 16]] * 5}, "stages must be"),
        ({"cell": ["conv3"] * 5}, "cell must list 6"),
        ({"cell": ["conv5"] * 6}, "unknown cell operations"),
        ({"extra": 1}, "unknown"),
    ],
)
def test_a_bad_description_is_refused_with_why(change: dict[str, Any], why: str) -> None:
    bad = {**ARCH, **change}
    assert why in problem(bad)
    with pytest.raises(ValueError, match="invalid architecture"):
        build(bad, in_channels=1, n_classes=10)


def test_the_example_ships_the_packaged_builder_byte_for_byte() -> None:
    shipped = ROOT / "examples" / "nas-mnist1d" / "nas_cell.py"
    assert shipped.read_bytes() == Path(cell.__file__).read_bytes()
