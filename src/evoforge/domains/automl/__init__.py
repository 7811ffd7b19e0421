"""Evolve whole learning algorithms from basic operations (AutoML-Zero, in Python).

An algorithm is three functions, ``setup``, ``predict`` and ``learn``, of
instructions over a memory of scalars, vectors and matrices
(:mod:`.program`, :mod:`.ops`). A compiled interpreter runs integer-encoded
programs with no per-program compilation (:mod:`.kernel`,
:mod:`.interpreter`) on suites of small tasks (:mod:`.tasks`). Regularized
evolution over islands, with functional-equivalence caching and hurdles,
searches the space (:mod:`.search`); champions are emitted as standalone NumPy
modules with dead code removed (:mod:`.render`).

Typical use::

    from evoforge.domains.automl import SearchConfig, run_search, render_module

    result = run_search(SearchConfig.demo(seed=0))
    source = render_module(result.best, memory=result.config.space.memory,
                           n_features=result.config.search_tasks.n_features)
"""

from evoforge.domains.automl.baselines import baseline_accuracy, baseline_scores, baselines
from evoforge.domains.automl.cache import FunctionalCache, fingerprint
from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.evaluator import Counts, Evaluator
from evoforge.domains.automl.hurdles import Hurdle, HurdleConfig
from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.island import Improvement, Solved
from evoforge.domains.automl.liveness import live_masks, prune
from evoforge.domains.automl.mutate import DEMO_MUTATIONS, MUTATIONS, Mutator
from evoforge.domains.automl.ops import ALL_OPS, DEMO_OPS, OPS, Op
from evoforge.domains.automl.program import (
    Component,
    Instruction,
    Memory,
    Program,
    SearchSpace,
    linear_regression_sgd,
    random_program,
)
from evoforge.domains.automl.render import render_module
from evoforge.domains.automl.search import Progress, SearchResult, evaluate, run_search
from evoforge.domains.automl.tasks import TaskSpec, TaskSuite, make_tasks

__all__ = [
    "ALL_OPS",
    "DEMO_MUTATIONS",
    "DEMO_OPS",
    "MUTATIONS",
    "OPS",
    "Component",
    "Counts",
    "Evaluator",
    "FunctionalCache",
    "Hurdle",
    "HurdleConfig",
    "Improvement",
    "Instruction",
    "Interpreter",
    "Memory",
    "Mutator",
    "Op",
    "Program",
    "Progress",
    "SearchConfig",
    "SearchResult",
    "SearchSpace",
    "Solved",
    "TaskSpec",
    "TaskSuite",
    "baseline_accuracy",
    "baseline_scores",
    "baselines",
    "evaluate",
    "fingerprint",
    "linear_regression_sgd",
    "live_masks",
    "make_tasks",
    "prune",
    "random_program",
    "render_module",
    "run_search",
]
