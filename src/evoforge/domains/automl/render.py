"""Emit an evolved algorithm as a readable, standalone Python/NumPy module.

The module has ``setup``, ``predict`` and ``learn`` functions over the memory
arrays ``s``, ``v``, ``m`` (dead instructions removed, see :mod:`.liveness`),
``run_task`` that trains and scores on one task exactly as the interpreter does,
and a command line: ``python module.py TASKS.npz`` prints ``fitness: ...`` for a
suite saved with :meth:`TaskSuite.save`. It needs only NumPy.

Scores match the interpreter up to floating-point rounding (NumPy's dot
products and transcendental functions may round the last bit differently from
the compiled kernel); random operations replay the same stream through
:class:`numpy.random.RandomState`.
"""

from __future__ import annotations

from collections.abc import Mapping

from evoforge.domains.automl.liveness import prune
from evoforge.domains.automl.ops import OPS, Op
from evoforge.domains.automl.program import Instruction, Memory, Program

_COMPONENT_DOCS = (
    "Runs once, on zeroed memory, before training.",
    "Sets the prediction s[1] from the features v[0] (s[0] is 0 here).",
    "Learns from one example: v[0] features, s[0] label, s[1] prediction.",
)

_RUNNER = '''

def run_task(train_x, train_y, valid_x, valid_y, seed, classify=False, epochs=1):
    """Train on one task, then score on its validation examples (fitness in [0, 1])."""
    s = np.zeros(N_SCALARS)
    v = np.zeros((N_VECTORS, N_FEATURES))
    m = np.zeros((N_MATRICES, N_FEATURES, N_FEATURES))
    rng = np.random.RandomState(seed)
    setup(s, v, m, rng)
    for _ in range(epochs):
        for x, y in zip(train_x, train_y):
            v[0] = x
            s[0] = 0.0
            predict(s, v, m, rng)
            if classify:
                s[1] = 1.0 / (1.0 + np.exp(-s[1]))
            if not abs(y - s[1]) <= MAX_ABS_ERROR:
                return 0.0  # runaway training error: degenerate
            v[0] = x
            s[0] = y
            learn(s, v, m, rng)
    loss = 0.0
    for x, y in zip(valid_x, valid_y):
        v[0] = x
        s[0] = 0.0
        predict(s, v, m, rng)
        if classify:
            probability = 1.0 / (1.0 + np.exp(-s[1]))
            if probability != probability:
                return 0.0
            loss += float((y > 0.5) != (probability > 0.5))
        else:
            error = y - s[1]
            if not abs(error) <= MAX_ABS_ERROR:
                return 0.0
            loss += error * error
    if classify:
        return 1.0 - loss / len(valid_y)
    return 1.0 - 2.0 / np.pi * np.arctan(np.sqrt(loss / len(valid_y)))


def evaluate(path):
    """Mean fitness over the tasks saved in ``path`` (.npz)."""
    with np.load(path, allow_pickle=False) as tasks, np.errstate(all="ignore"):
        scores = [
            run_task(tasks["train_x"][t], tasks["train_y"][t], tasks["valid_x"][t],
                     tasks["valid_y"][t], int(tasks["seeds"][t]),
                     classify=bool(tasks["classify"]), epochs=int(tasks["epochs"]))
            for t in range(len(tasks["seeds"]))
        ]
    return float(np.mean(scores))


if __name__ == "__main__":
    print(f"fitness: {evaluate(sys.argv[1]):.10f}")
'''


def _index(fraction: float, size: int) -> int:
    return min(max(int(fraction * size), 0), size - 1)


def render_instruction(instr: Instruction, n_features: int) -> str:
    """One line of NumPy code for ``instr`` (see the templates in :mod:`.ops`)."""
    return OPS[instr.op].template.format(
        o=instr.out,
        a=instr.in1,
        b=instr.in2,
        c0=repr(instr.c0),
        c1=repr(instr.c1),
        c2=repr(instr.c2),
        i=_index(instr.c0, n_features),
        j=_index(instr.c1, n_features),
        d=n_features,
    )


def render_function(name: str, doc: str, instrs: list[Instruction], n_features: int) -> str:
    lines = [f"def {name}(s, v, m, rng):", f'    """{doc}"""']
    lines += ["    " + render_instruction(i, n_features) for i in instrs if i.op is not Op.NO_OP]
    return "\n".join(lines)


def render_module(
    program: Program,
    *,
    memory: Memory,
    n_features: int,
    max_abs_error: float = 100.0,
    notes: Mapping[str, object] | None = None,
) -> str:
    """Source of a standalone module running ``program`` (pruned of dead code).

    ``notes`` become ``key: value`` lines in the module docstring (for example
    the recorded fitness and the task spec), so they stay greppable.
    """
    pruned = prune(program)
    header = ['"""Learning algorithm discovered by evoforge (AutoML-Zero domain).', ""]
    header += [f"{key}: {value}" for key, value in (notes or {}).items()]
    header += [
        "",
        "Memory, zeroed before setup: scalars s (s[0] label, s[1] prediction),",
        "vectors v (v[0] features), matrices m. Dead instructions were removed.",
        "Classification: learn sees s[1] = sigmoid(prediction), a probability.",
        "Usage: python THIS_FILE.py TASKS.npz   (prints the mean fitness)",
        '"""',
        "",
        "import sys",
        "",
        "import numpy as np",
        "",
        f"N_FEATURES = {n_features}",
        f"N_SCALARS = {memory.scalars}",
        f"N_VECTORS = {memory.vectors}",
        f"N_MATRICES = {memory.matrices}",
        f"MAX_ABS_ERROR = {max_abs_error!r}",
    ]
    functions = [
        render_function(name, doc, pruned.instructions(c), n_features)
        for c, (name, doc) in enumerate(
            zip(("setup", "predict", "learn"), _COMPONENT_DOCS, strict=True)
        )
    ]
    return "\n".join(header) + "\n\n\n" + "\n\n\n".join(functions) + "\n" + _RUNNER
