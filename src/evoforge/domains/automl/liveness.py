"""Dead-code removal: keep only instructions that can affect a prediction.

Backward liveness over the algorithm's control flow: ``setup`` then ``predict``;
after ``predict`` comes ``learn`` (training) or ``predict`` again (validation);
after ``learn`` comes ``predict``. The prediction ``s[1]`` is live at the end of
``predict``. The live sets at component entries are iterated to a fixed point,
then each component keeps the instructions whose output is live after them.

Two details keep the pruned program *exactly* equivalent: an instruction that
writes one element (vector/matrix constant set) does not kill its output, and
when any random operation is live every random operation is kept, because
removing one would shift the random stream the others draw from.
"""

from __future__ import annotations

from evoforge.domains.automl.ops import OPS, Kind, Op
from evoforge.domains.automl.program import FEATURES, LABEL, PREDICTION, Instruction, Program

Loc = tuple[Kind, int]
_ENTRY_WRITES: frozenset[Loc] = frozenset({(Kind.SCALAR, LABEL), (Kind.VECTOR, FEATURES)})


def _reads(instr: Instruction) -> set[Loc]:
    info = OPS[instr.op]
    reads: set[Loc] = set()
    if info.in1 is not None:
        reads.add((info.in1, instr.in1))
    if info.in2 is not None:
        reads.add((info.in2, instr.in2))
    return reads


def _transfer(
    instrs: list[Instruction], live_out: set[Loc], keep_random: bool
) -> tuple[set[Loc], list[bool]]:
    """Live set at entry and the keep mask of one straight-line component."""
    live = set(live_out)
    keep = [False] * len(instrs)
    for i in range(len(instrs) - 1, -1, -1):
        instr = instrs[i]
        info = OPS[instr.op]
        if instr.op is Op.NO_OP or info.out is None:
            continue
        written = (info.out, instr.out)
        if written in live or (keep_random and info.random):
            keep[i] = True
            if not info.partial_write:
                live.discard(written)
            live |= _reads(instr)
    return live, keep


def live_masks(program: Program) -> tuple[list[bool], list[bool], list[bool]]:
    """For each component (setup, predict, learn), which instructions to keep."""
    setup, predict, learn = (program.instructions(c) for c in range(3))
    masks = _masks(setup, predict, learn, keep_random=False)
    uses_random = any(
        OPS[ins.op].random and kept
        for part, mask in zip((setup, predict, learn), masks, strict=True)
        for ins, kept in zip(part, mask, strict=True)
    )
    if uses_random:
        masks = _masks(setup, predict, learn, keep_random=True)
    return masks


def _masks(
    setup: list[Instruction],
    predict: list[Instruction],
    learn: list[Instruction],
    *,
    keep_random: bool,
) -> tuple[list[bool], list[bool], list[bool]]:
    prediction: Loc = (Kind.SCALAR, PREDICTION)
    predict_in: set[Loc] = set()
    learn_in: set[Loc] = set()
    while True:
        predict_out = {prediction} | (learn_in - _ENTRY_WRITES) | (predict_in - _ENTRY_WRITES)
        new_predict_in, predict_keep = _transfer(predict, predict_out, keep_random)
        new_learn_in, learn_keep = _transfer(learn, new_predict_in - _ENTRY_WRITES, keep_random)
        if new_predict_in == predict_in and new_learn_in == learn_in:
            break
        predict_in, learn_in = new_predict_in, new_learn_in
    _, setup_keep = _transfer(setup, predict_in - _ENTRY_WRITES, keep_random)
    return setup_keep, predict_keep, learn_keep


def prune(program: Program) -> Program:
    """``program`` without dead instructions; it computes exactly the same predictions."""
    parts = [
        [ins for ins, kept in zip(program.instructions(c), mask, strict=True) if kept]
        for c, mask in enumerate(live_masks(program))
    ]
    return Program.build(*parts)
