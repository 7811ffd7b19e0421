"""Emit an evolved algorithm as a readable, standalone Python/NumPy module.

The module has ``setup``, ``predict`` and ``learn`` functions over the memory
arrays ``s``, ``v``, ``m`` (dead instructions removed, see :mod:`.liveness`),
``run_task`` that trains and scores on one task exactly as the interpreter does,
and a command line: ``python module.py TASKS.npz`` prints ``fitness: ...`` for a
suite saved with :meth:`TaskSuite.save`; ``python module.py --predict`` writes
predictions for inputs saved with :meth:`TaskSuite.save_inputs` (how an
experiment's task scores it on labels the module never sees). It needs only NumPy.
The three functions sit in one evolve block, so the rest of the module is a
fixed frame.

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
from evoforge.program import END as BLOCK_END
from evoforge.program import START as BLOCK_START

_COMPONENT_DOCS = (
    "Runs once, on zeroed memory, before training.",
    "Sets the prediction s[1] from the features v[0] (s[0] is 0 here).",
    "Learns from one example: v[0] features, s[0] label, s[1] prediction.",
)

_RUNNER = '''

def predict_task(train_x, train_y, valid_x, seed, classify=False, epochs=1):
    """Train on one task, then predict its validation inputs.

    Returns one prediction per validation example (probabilities when
    classifying), or None when training ran away (the task then scores 0).
    """
    s = np.zeros(N_SCALARS)
    v = np.zeros((N_VECTORS, N_FEATURES))
    m = np.zeros((N_MATRICES, N_FEATURES, N_FEATURES))
    rng = np.random.RandomState(seed)
    setup(s, v, m, rng)
    for _ in range(epochs):
        for x, y in zip(train_x, train_y, strict=True):
            v[0] = x
            s[0] = 0.0
            predict(s, v, m, rng)
            if classify:
                s[1] = 1.0 / (1.0 + np.exp(-s[1]))
            if not abs(y - s[1]) <= MAX_ABS_ERROR:
                return None  # runaway training error: degenerate
            v[0] = x
            s[0] = y
            learn(s, v, m, rng)
    predictions = np.empty(len(valid_x))
    for k, x in enumerate(valid_x):
        v[0] = x
        s[0] = 0.0
        predict(s, v, m, rng)
        predictions[k] = 1.0 / (1.0 + np.exp(-s[1])) if classify else s[1]
    return predictions


def task_fitness(predictions, valid_y, classify=False):
    """Fitness in [0, 1]: accuracy, or 1 - 2/pi * arctan(RMSE) for regression."""
    if predictions is None:
        return 0.0
    if classify:
        if np.isnan(predictions).any():
            return 0.0
        return 1.0 - float(np.mean((valid_y > 0.5) != (predictions > 0.5)))
    errors = valid_y - predictions
    if not np.all(np.abs(errors) <= MAX_ABS_ERROR):
        return 0.0
    return float(1.0 - 2.0 / np.pi * np.arctan(np.sqrt(np.sum(errors * errors) / len(valid_y))))


def run_task(train_x, train_y, valid_x, valid_y, seed, classify=False, epochs=1):
    """Train on one task, then score on its validation examples (fitness in [0, 1])."""
    predictions = predict_task(train_x, train_y, valid_x, seed, classify, epochs)
    return task_fitness(predictions, valid_y, classify)


def _predictions(tasks):
    return [
        predict_task(tasks["train_x"][t], tasks["train_y"][t], tasks["valid_x"][t],
                     int(tasks["seeds"][t]), classify=bool(tasks["classify"]),
                     epochs=int(tasks["epochs"]))
        for t in range(len(tasks["seeds"]))
    ]


def evaluate(path):
    """Mean fitness over the tasks saved in ``path`` (.npz, with validation labels)."""
    with np.load(path, allow_pickle=False) as tasks, np.errstate(all="ignore"):
        classify = bool(tasks["classify"])
        scores = [task_fitness(p, y, classify)
                  for p, y in zip(_predictions(tasks), tasks["valid_y"], strict=True)]
    return float(np.mean(scores))


def predict_files(names=("val", "test")):
    """For each NAME, read NAME_inputs.npz (no validation labels) and write
    NAME_pred.npy: one row per task, NaN where training ran away."""
    for name in names:
        with np.load(f"{name}_inputs.npz", allow_pickle=False) as tasks, np.errstate(all="ignore"):
            rows = _predictions(tasks)
            out = np.full((len(rows), tasks["valid_x"].shape[1]), np.nan)
        for t, row in enumerate(rows):
            if row is not None:
                out[t] = row
        np.save(f"{name}_pred.npy", out)


if __name__ == "__main__":
    if sys.argv[1:] == ["--predict"]:
        predict_files()
    else:
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
    if notes:
        header += [f"{key}: {value}" for key, value in notes.items()] + [""]
    header += [
        "Memory, zeroed before setup: scalars s (s[0] label, s[1] prediction),",
        "vectors v (v[0] features), matrices m. Dead instructions were removed.",
        "Classification: learn sees s[1] = sigmoid(prediction), a probability.",
        "Usage: python THIS_FILE.py TASKS.npz   (prints the mean fitness)",
        "       python THIS_FILE.py --predict   (NAME_inputs.npz -> NAME_pred.npy)",
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
    body = "\n\n\n".join(functions)
    return "\n".join(header) + f"\n\n\n{BLOCK_START}\n{body}\n{BLOCK_END}\n" + _RUNNER
