"""The task suite of ``evoforge meta``: cheap searches with known answers, split in two.

Each inner task is a seed program and a trusted score of its candidates (higher
is better), computed in the harness's process in micro- to milliseconds. Three
kinds; in the first two the program's evolve block declares parameters
(``# evolve:`` annotations) and the score reads their values:

- symbolic regression of a known function: ``A * F(W * x) + B * G(x) + poly(x)``
  fitted to the target on a fixed grid; score ``1 / (1 + mse)`` (1 is exact);
- hyperparameter searches on scikit-learn's bundled data sets (digits, wine,
  breast cancer, diabetes): every point of a small grid is fitted once on a
  fixed train/validation split, so a search reads a table. The tables are built once
  (:func:`build_tables`, a few seconds each) and passed in as data;
- algorithm discovery with the AutoML-Zero engine (:mod:`evoforge.domains.automl`):
  repair a learning algorithm (SGD) that a few of the engine's mutations broke,
  on linear regression or projected-digits tasks; children are made by the
  engine's own mutator, the policy's operators mapped onto its mutation types,
  and scored by its interpreter (:mod:`evoforge.meta.automl_tasks`).

The training split drives the meta-search; the held-out split is used only to
accept its result, so an accepted policy won on tasks it never saw. Each split
has every kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evoforge.meta.automl_tasks import Repair, RepairScorer, to_files
from evoforge.proposers.sites import find_sites
from evoforge.proposers.values import Value

PROGRAM_FILE = "program.py"
Table = dict[str, float]


@dataclass(frozen=True)
class InnerTask:
    """One search problem: ``program`` (its evolve block) and a score of its values."""

    name: str
    program: str
    kind: str  # "regression" (closed form), "grid" (read from a table) or "automl"
    target: tuple[str, ...] = ()
    """For "regression": the target's terms, see :func:`_regression_program`."""
    build: Callable[[], Table] | None = field(default=None, compare=False)
    """For "grid": fits every point of the grid; keyed by :func:`grid_key`."""
    repair: Repair | None = None
    """For "automl": the broken algorithm to repair (its program is made from this)."""

    def values(self, files: Mapping[str, str]) -> dict[str, Value]:
        return {s.name: s.value for s in find_sites(files)}

    @property
    def files(self) -> dict[str, str]:
        if self.repair is not None:
            return to_files(RepairScorer(self.name, self.repair).seed_program())
        return {PROGRAM_FILE: self.program}


class Scorer:
    """Scores programs of one task, with the task's table (for grid tasks)."""

    def __init__(self, task: InnerTask, table: Table | None = None) -> None:
        self.task = task
        self.table = table or {}
        self.repair = None if task.repair is None else RepairScorer(task.name, task.repair)

    def best(self) -> float:
        if self.repair is not None:
            return self.repair.best()
        if self.task.kind == "regression":
            return 1.0
        return max(self.table.values())

    def score(self, files: Mapping[str, str]) -> float:
        if self.repair is not None:
            return self.repair.score(files)
        values = self.task.values(files)
        if self.task.kind == "regression":
            return _regression_score(values, self.task.target)
        return self.table.get(grid_key(values), 0.0)


def grid_key(values: Mapping[str, Value]) -> str:
    return ",".join(f"{k}={values[k]!r}" for k in sorted(values))


# ---------------------------------------------------------------- regression

_X = np.linspace(-2.0, 2.0, 64)
_FUNCS: Mapping[str, Callable[[Any], Any]] = {
    "identity": lambda x: x,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "square": np.square,
    "exp": lambda x: np.exp(np.clip(x, -20.0, 20.0)),
}
_REGRESSION = '''"""Fit a function of x (inner task of evoforge meta)."""

# EVOLVE-BLOCK-START
A = 1.0  # evolve: float[-4.0, 4.0]
F = "identity"  # evolve: choice["identity", "sin", "cos", "tanh", "square", "exp"]
W = 1.0  # evolve: float[0.1, 4.0]
B = 0.0  # evolve: float[-4.0, 4.0]
G = "identity"  # evolve: choice["identity", "sin", "cos", "tanh", "square", "exp"]
POLY = [0.0]  # evolve: floats[-2.0, 2.0] len[1, 4]
NEGATE_G = False  # evolve: bool
# EVOLVE-BLOCK-END
'''


def _model(values: Mapping[str, Any], x: Any) -> Any:
    f, g = _FUNCS[str(values["F"])], _FUNCS[str(values["G"])]
    sign = -1.0 if values["NEGATE_G"] else 1.0
    poly = sum(float(c) * x**k for k, c in enumerate(values["POLY"]))
    return float(values["A"]) * f(float(values["W"]) * x) + sign * float(values["B"]) * g(x) + poly


def _regression_score(values: Mapping[str, Value], target: tuple[str, ...]) -> float:
    want = _model(_target_values(target), _X)
    got = _model(values, _X)
    mse = float(np.mean((got - want) ** 2))
    return 1.0 / (1.0 + mse) if math.isfinite(mse) else 0.0


def _target_values(target: tuple[str, ...]) -> dict[str, Any]:
    a, f, w, b, g, neg, *poly = target
    return {
        "A": float(a), "F": f, "W": float(w), "B": float(b), "G": g,
        "NEGATE_G": neg == "neg", "POLY": [float(c) for c in poly],
    }  # fmt: skip


def regression(name: str, *target: str) -> InnerTask:
    """``target``: A, F, W, B, G, "neg"|"pos", then polynomial coefficients."""
    return InnerTask(name, _REGRESSION, "regression", tuple(target))


# ---------------------------------------------------------------- grids


def grid(name: str, program: str, fit: Callable[[], Table]) -> InnerTask:
    return InnerTask(name, program, "grid", build=fit)


_KNN = '''"""k-nearest neighbours on {data} (inner task of evoforge meta)."""

# EVOLVE-BLOCK-START
K = 15  # evolve: int[1, 30]
WEIGHTS = "uniform"  # evolve: choice["uniform", "distance"]
P = 2  # evolve: choice[1, 2]
SCALER = "none"  # evolve: choice["none", "standard", "minmax"]
# EVOLVE-BLOCK-END
'''
_TREE = '''"""A decision tree on {data} (inner task of evoforge meta)."""

# EVOLVE-BLOCK-START
DEPTH = 2  # evolve: int[1, 10]
LEAF = 20  # evolve: int[1, 32]
CRITERION = "gini"  # evolve: choice["gini", "entropy"]
BALANCED = False  # evolve: bool
# EVOLVE-BLOCK-END
'''
_RIDGE = '''"""Ridge regression with polynomial features on {data} (inner task of evoforge meta)."""

# EVOLVE-BLOCK-START
LOG_ALPHA = 3  # evolve: int[-6, 4]
DEGREE = 1  # evolve: int[1, 3]
INTERACTIONS_ONLY = False  # evolve: bool
SCALER = "none"  # evolve: choice["none", "standard", "minmax"]
# EVOLVE-BLOCK-END
'''


def _split(loader: str) -> tuple[Any, Any, Any, Any]:
    """A fixed train/validation split (a third held back) of a bundled data set."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    x, y = getattr(datasets, loader)(return_X_y=True)
    parts: tuple[Any, Any, Any, Any] = tuple(
        train_test_split(x, y, test_size=1 / 3, random_state=0)
    )
    return parts


def _fit_score(model: Any, data: tuple[Any, Any, Any, Any]) -> float:
    x_tr, x_va, y_tr, y_va = data
    return float(model.fit(x_tr, y_tr).score(x_va, y_va))


def _scaler(name: str) -> Any:
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    return {"standard": StandardScaler, "minmax": MinMaxScaler}.get(name, FunctionTransformer)()


def _knn_table(loader: str) -> Callable[[], Table]:
    """k-NN accuracy for every k at once from one sorted distance matrix per (scaler, p)."""

    def fit() -> Table:
        x_tr, x_va, y_tr, y_va = _split(loader)
        classes = np.unique(y_tr)
        table: Table = {}
        for scaler in ("none", "standard", "minmax"):
            s = _scaler(scaler).fit(x_tr)
            a, b = s.transform(x_tr), s.transform(x_va)
            for p in (1, 2):
                diff = np.abs(b[:, None, :] - a[None, :, :])
                dist = diff.sum(-1) if p == 1 else np.sqrt((diff**2).sum(-1))
                order = np.argsort(dist, axis=1, kind="stable")[:, :30]
                near = np.take_along_axis(dist, order, axis=1)
                labels = y_tr[order]
                for weights in ("uniform", "distance"):
                    w = np.ones_like(near) if weights == "uniform" else 1.0 / (near + 1e-9)
                    votes = (labels[:, :, None] == classes[None, None, :]) * w[:, :, None]
                    cum = np.cumsum(votes, axis=1)
                    for k in range(1, 31):
                        pred = classes[np.argmax(cum[:, k - 1, :], axis=1)]
                        key = grid_key({"K": k, "WEIGHTS": weights, "P": p, "SCALER": scaler})
                        table[key] = float(np.mean(pred == y_va))
        return table

    return fit


def _tree_table(loader: str) -> Callable[[], Table]:
    def fit() -> Table:
        from sklearn.tree import DecisionTreeClassifier

        data = _split(loader)
        table: Table = {}
        for depth in range(1, 11):
            for leaf in range(1, 33):
                for criterion in ("gini", "entropy"):
                    for balanced in (False, True):
                        model = DecisionTreeClassifier(
                            max_depth=depth, min_samples_leaf=leaf, criterion=criterion,
                            class_weight="balanced" if balanced else None, random_state=0,
                        )  # fmt: skip
                        values = {"DEPTH": depth, "LEAF": leaf, "CRITERION": criterion}
                        key = grid_key({**values, "BALANCED": balanced})
                        table[key] = _fit_score(model, data)
        return table

    return fit


def _ridge_table(loader: str) -> Callable[[], Table]:
    def fit() -> Table:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures

        data = _split(loader)
        table: Table = {}
        for log_alpha in range(-6, 5):
            for degree in (1, 2, 3):
                for inter in (False, True):
                    for scaler in ("none", "standard", "minmax"):
                        model = make_pipeline(
                            _scaler(scaler),
                            PolynomialFeatures(degree, interaction_only=inter, include_bias=False),
                            Ridge(alpha=10.0**log_alpha),
                        )
                        values = {"LOG_ALPHA": log_alpha, "DEGREE": degree, "SCALER": scaler}
                        key = grid_key({**values, "INTERACTIONS_ONLY": inter})
                        table[key] = _fit_score(model, data)
        return table

    return fit


# ---------------------------------------------------------------- algorithm discovery


_DAMAGE = ("alter_param", "randomize_instruction")
"""Damage of the held-out repairs: a wrong argument, or an instruction replaced."""


def repair(name: str, **spec: Any) -> InnerTask:
    """An algorithm-repair task; ``spec`` are :class:`Repair` fields."""
    return InnerTask(name, "", "automl", repair=Repair(**spec))


def all_tasks() -> dict[str, InnerTask]:
    tasks = [
        regression("sr_sine", "1.5", "sin", "2.0", "0.5", "square", "pos", "0.0"),
        regression("sr_damped", "2.0", "tanh", "3.0", "1.0", "cos", "neg", "0.5", "0.3"),
        regression("sr_poly", "0.5", "exp", "1.0", "1.0", "sin", "neg", "0.2", "-1.0", "0.0", "0.3"),
        regression("sr_wave", "-1.0", "cos", "2.5", "0.8", "tanh", "pos", "0.0", "0.5"),
        regression("sr_bump", "0.8", "square", "0.5", "1.5", "sin", "pos", "-0.5", "0.2", "0.1"),
        grid("digits_knn", _KNN.format(data="digits"), _knn_table("load_digits")),
        grid("wine_knn", _KNN.format(data="wine"), _knn_table("load_wine")),
        grid("breast_cancer_knn", _KNN.format(data="breast cancer").replace("K = 15", "K = 1"),
             _knn_table("load_breast_cancer")),
        grid("digits_tree", _TREE.format(data="digits"), _tree_table("load_digits")),
        grid("breast_cancer_tree", _TREE.format(data="breast cancer"), _tree_table("load_breast_cancer")),
        grid("diabetes_ridge", _RIDGE.format(data="diabetes"), _ridge_table("load_diabetes")),
        repair("automl_linear_repair", draw=5),
        repair("automl_digits_repair", data="digits", n_features=8, draw=2),
        repair("automl_linear_fix", suite_seed=1, mutations=_DAMAGE, draw=9),
        repair("automl_digits_fix", data="digits", n_features=8, suite_seed=1, mutations=_DAMAGE, draw=6),
    ]  # fmt: skip
    return {t.name: t for t in tasks}


SPLITS: Mapping[str, tuple[str, ...]] = {
    "train": (
        "sr_sine",
        "sr_damped",
        "sr_bump",
        "digits_knn",
        "breast_cancer_knn",
        "digits_tree",
        "diabetes_ridge",
        "automl_linear_repair",
        "automl_digits_repair",
    ),
    "heldout": (
        "sr_poly",
        "sr_wave",
        "wine_knn",
        "breast_cancer_tree",
        "automl_linear_fix",
        "automl_digits_fix",
    ),
    "tiny": ("sr_sine",),
    "tiny-heldout": ("sr_wave",),
}


def split(name: str) -> list[InnerTask]:
    """The tasks of a split ("train", "heldout", "tiny", "tiny-heldout") or a comma list."""
    tasks = all_tasks()
    names = SPLITS.get(name) or tuple(n.strip() for n in name.split(",") if n.strip())
    unknown = [n for n in names if n not in tasks]
    if unknown or not names:
        known = ", ".join([*SPLITS, *tasks])
        raise ValueError(f"unknown task or split {', '.join(unknown) or name!r}; known: {known}")
    return [tasks[n] for n in names]


def build_tables(tasks: list[InnerTask]) -> dict[str, Table]:
    """The table of every grid task (the slow part, seconds per task)."""
    return {t.name: t.build() for t in tasks if t.build is not None}
