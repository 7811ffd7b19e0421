"""Algorithm discovery as an evoforge experiment: presets, the seed module, the task.

A candidate of this experiment is a module rendered by :mod:`.render`: its
evolve block holds ``setup``, ``predict`` and ``learn``; the rest is a fixed
frame that trains on each task and writes predictions
(``python algorithm.py --predict``). :class:`AlgorithmTask` is the trusted
side: it writes task inputs without validation labels and scores the
predictions with the interpreter's fitness, on

- ``val_fitness``: the preset's *select* tasks (same distribution as the search
  tasks, other draws). At the run's seed they are exactly the tasks the search
  used to confirm its champion, so the score reproduces the search's record;
  re-runs on other seeds draw other tasks;
- ``test_fitness`` (held-out): the preset's *unseen* tasks, never used by the
  search (for ``digits``, class pairs it never saw).

The presets are the engine's settings (:meth:`SearchConfig.demo`,
:meth:`SearchConfig.nonlinear` and :meth:`SearchConfig.digits`), so a run of the
example is the benchmark's search.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.interpreter import MAX_ABS_ERROR
from evoforge.domains.automl.program import Program
from evoforge.domains.automl.render import render_module
from evoforge.domains.automl.tasks import TaskSpec, TaskSuite, make_tasks
from evoforge.tasks import OutputError, Task, read_array

PRESETS = ("linear", "nonlinear", "digits")


def preset_config(preset: str, seed: int = 0, **overrides: object) -> SearchConfig:
    """The search of ``preset`` (one of :data:`PRESETS`) for the run seed ``seed``."""
    if preset == "linear":
        return SearchConfig.demo(seed=seed, **overrides)
    if preset == "nonlinear":
        return SearchConfig.nonlinear(seed=seed, **overrides)
    if preset == "digits":
        return SearchConfig.digits(seed=seed, **overrides)
    raise ValueError(f"unknown preset {preset!r}: use one of {', '.join(PRESETS)}")


def render_for(program: Program, config: SearchConfig) -> str:
    """``program`` as the experiment's module (constant frame, no notes)."""
    return render_module(
        program,
        memory=config.space.memory,
        n_features=config.search_tasks.n_features,
        max_abs_error=config.max_abs_error,
    )


def seed_module(preset: str) -> str:
    """The seed program of a ``preset`` experiment: the empty algorithm."""
    config = preset_config(preset)
    return render_for(Program.build(), config)


def digits_data_file() -> Path | None:
    """Where scikit-learn keeps the labelled digits set (None without scikit-learn)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"


class AlgorithmTask(Task):
    """Scores an algorithm module on the ``val`` and ``test`` task sets of ``preset``."""

    bounds: Mapping[str, tuple[float, float]] = {
        "val_fitness": (0.0, 1.0),
        "test_fitness": (0.0, 1.0),
    }

    def __init__(self, preset: str = "linear") -> None:
        preset_config(preset)  # fails early on an unknown preset
        self.preset = preset
        self._suites: dict[TaskSpec, TaskSuite] = {}
        self._pending: dict[str, dict[str, TaskSuite]] = {}

    def suites(self, seed: int) -> dict[str, TaskSuite]:
        """The ``val`` and ``test`` suites a candidate run on ``seed`` is scored on."""
        config = preset_config(self.preset, seed)
        assert config.select_tasks is not None and config.unseen_tasks is not None
        return {"val": self._suite(config.select_tasks), "test": self._suite(config.unseen_tasks)}

    def prepare(self, workdir: Path, *, seed: int) -> None:
        suites = self.suites(seed)
        for name, suite in suites.items():
            suite.save_inputs(workdir / f"{name}_inputs.npz")
        self._pending[str(workdir)] = suites

    def score(self, workdir: Path) -> Mapping[str, float]:
        suites = self._pending.pop(str(workdir), None)
        if suites is None:
            raise OutputError("internal: score() without prepare() for this folder")
        scores = {}
        for name, suite in suites.items():
            shape = suite.valid_y.shape
            pred = read_array(workdir, f"{name}_pred.npy", shape=shape, kind="f", finite=False)
            scores[f"{name}_fitness"] = suite_fitness(pred, suite)
        return scores

    def hidden_paths(self) -> list[Path]:
        # The digits labels: a module that read the data set itself could look up
        # its answers. (Regression labels are generated in memory, never on disk.)
        path = digits_data_file()
        return [path] if self.preset == "digits" and path is not None else []

    def _suite(self, spec: TaskSpec) -> TaskSuite:
        if spec not in self._suites:
            self._suites[spec] = make_tasks(spec)
        return self._suites[spec]


def suite_fitness(predictions: npt.NDArray[np.float64], suite: TaskSuite) -> float:
    """Mean per-task fitness of ``predictions`` (tasks x validation examples; a row
    with any NaN, a diverged task, scores 0), as the interpreter computes it."""
    classify = suite.spec.classify
    scores = []
    for pred, labels in zip(predictions, suite.valid_y, strict=True):
        scores.append(_task_fitness(pred, labels, classify=classify))
    return float(np.mean(scores))


def _task_fitness(
    pred: npt.NDArray[np.float64], labels: npt.NDArray[np.float64], *, classify: bool
) -> float:
    if not np.all(np.isfinite(pred)):
        return 0.0
    if classify:
        return 1.0 - float(np.mean((labels > 0.5) != (pred > 0.5)))
    errors = labels - pred
    if not np.all(np.abs(errors) <= MAX_ABS_ERROR):
        return 0.0
    return float(1.0 - 2.0 / np.pi * np.arctan(np.sqrt(np.sum(errors * errors) / len(labels))))


def main(argv: list[str]) -> int:
    """``python -m evoforge.domains.automl.experiment [PRESET] > algorithm.py``."""
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(f"usage: python -m {__spec__.name if __spec__ else __name__} [PRESET] "
              f"> algorithm.py   (PRESET: {', '.join(PRESETS)}; default linear)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        source = seed_module(argv[0] if argv else "linear")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(source, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
