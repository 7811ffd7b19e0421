"""The trusted builder: an architecture description (data) as a PyTorch module.

This file imports nothing of evoforge: an experiment ships a copy of it beside its
program (``nas_cell.py``, outside every evolve block, so no candidate can change it)
and the program's frame calls :func:`build` on the ``ARCH`` literal the search edits.
The description, checked by :func:`problem`::

    {"conv": "1d",                 # "1d" (sequences) or "2d" (images); fixed by the data
     "stem": 16,                   # channels of the first convolution
     "stages": [[2, 16], [2, 32]], # [cells, width] per stage; stages after the first halve the length
     "cell": ["conv3", "skip", "conv1", "avgpool", "none", "conv3"]}

The cell is NAS-Bench-201's: 4 nodes, node 0 the cell's input, each later node the
sum of one operation per earlier node, node 3 the output; the 6 edges in the order
0→1, 0→2, 1→2, 0→3, 1→3, 2→3, each one of ``OPS``. Every cell of the network has the
same operations. A stage starts with a reduction (a 3-wide convolution, stride 2
after the first stage) to its width, then its cells; the head is a global average
pool and a linear layer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

OPS = ("none", "skip", "conv1", "conv3", "avgpool")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
MAX_STAGES = 4
MAX_CELLS = 5
MIN_WIDTH, MAX_WIDTH = 4, 256


def problem(arch: Any) -> str:
    """Why ``arch`` is not a description :func:`build` accepts ("" when it is)."""
    if not isinstance(arch, dict):
        return "the architecture must be a dict"
    extra = sorted(set(arch) - {"conv", "stem", "stages", "cell"})
    missing = sorted({"conv", "stem", "stages", "cell"} - set(arch))
    if extra or missing:
        return f"keys must be conv, stem, stages, cell (missing {missing}, unknown {extra})"
    if arch["conv"] not in ("1d", "2d"):
        return f"conv must be '1d' or '2d', got {arch['conv']!r}"
    if not _width(arch["stem"]):
        return f"stem must be an int in [{MIN_WIDTH}, {MAX_WIDTH}], got {arch['stem']!r}"
    stages = arch["stages"]
    if not isinstance(stages, list) or not 1 <= len(stages) <= MAX_STAGES:
        return f"stages must be a list of 1 to {MAX_STAGES} [cells, width] pairs"
    for i, stage in enumerate(stages):
        ok = isinstance(stage, list | tuple) and len(stage) == 2
        if not ok or not _int(stage[0]) or not 1 <= stage[0] <= MAX_CELLS or not _width(stage[1]):
            return (
                f"stage {i} must be [cells, width] with 1 <= cells <= {MAX_CELLS} and "
                f"{MIN_WIDTH} <= width <= {MAX_WIDTH}, got {stage!r}"
            )
    cell = arch["cell"]
    if not isinstance(cell, list | tuple) or len(cell) != len(EDGES):
        return f"cell must list {len(EDGES)} operations (edges {EDGES})"
    bad = [op for op in cell if op not in OPS]
    if bad:
        return f"unknown cell operations {bad}; known: {', '.join(OPS)}"
    return ""


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _width(v: Any) -> bool:
    return _int(v) and MIN_WIDTH <= v <= MAX_WIDTH


class _Layers:
    def __init__(self, conv: str) -> None:
        two = conv == "2d"
        self.conv = nn.Conv2d if two else nn.Conv1d
        self.norm = nn.BatchNorm2d if two else nn.BatchNorm1d
        self.pool = nn.AvgPool2d if two else nn.AvgPool1d
        self.global_pool = nn.AdaptiveAvgPool2d(1) if two else nn.AdaptiveAvgPool1d(1)


def _op(name: str, width: int, layers: _Layers) -> nn.Module | None:
    if name == "none":
        return None
    if name == "skip":
        return nn.Identity()
    if name == "avgpool":
        return layers.pool(3, stride=1, padding=1, count_include_pad=False)
    k = 1 if name == "conv1" else 3
    return nn.Sequential(
        nn.ReLU(), layers.conv(width, width, k, padding=k // 2, bias=False), layers.norm(width)
    )


class Cell(nn.Module):
    """One NAS-Bench-201 cell: node j is the sum over i < j of op(i→j)(node i)."""

    def __init__(self, ops: list[str], width: int, layers: _Layers) -> None:
        super().__init__()
        self.edges = nn.ModuleDict()
        for (i, j), name in zip(EDGES, ops, strict=True):
            op = _op(name, width, layers)
            if op is not None:
                self.edges[f"{i}{j}"] = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in (1, 2, 3):
            terms = [self.edges[f"{i}{j}"](nodes[i]) for i in range(j) if f"{i}{j}" in self.edges]
            nodes.append(torch.stack(terms).sum(0) if terms else torch.zeros_like(x))
        return nodes[3]


def build(arch: dict[str, Any], *, in_channels: int, n_classes: int) -> nn.Module:
    """The network ``arch`` describes; ValueError (with :func:`problem`'s reason) if invalid."""
    why = problem(arch)
    if why:
        raise ValueError(f"invalid architecture: {why}")
    layers = _Layers(arch["conv"])
    width = int(arch["stem"])
    body: list[nn.Module] = [
        layers.conv(in_channels, width, 3, padding=1, bias=False), layers.norm(width)
    ]  # fmt: skip
    for index, (cells, out) in enumerate(arch["stages"]):
        stride = 1 if index == 0 else 2
        if stride != 1 or out != width:
            body += [nn.ReLU(), layers.conv(width, out, 3, stride=stride, padding=1, bias=False),
                     layers.norm(out)]  # fmt: skip
            width = out
        body += [Cell(list(arch["cell"]), width, layers) for _ in range(cells)]
    body += [nn.ReLU(), layers.global_pool, nn.Flatten(), nn.Linear(width, n_classes)]
    return nn.Sequential(*body)


def parameters(model: nn.Module) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
