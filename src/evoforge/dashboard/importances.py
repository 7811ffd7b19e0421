"""Which declared parameters mattered: Optuna's importance evaluator over a run's
scored candidates, and the slices (objective against one parameter) the report draws.

Every scored candidate of the run is one trial, whoever proposed it: its declared
parameters are read from its code (:mod:`evoforge.candidate_rows`), its value is the
search objective (never a held-out metric). Optuna's fANOVA evaluator (a random
forest over the trials) measures each parameter's share of the objective's variance;
every declared parameter counts at the value its code holds (an inactive conditional
one at its unchanged value), numbers and choices (a list by its elements and length).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evoforge.candidate_rows import CandidateRow

MIN_TRIALS = 4
"""Fewer scored candidates than this give no importances (noise, not a ranking)."""


@dataclass(frozen=True)
class Importances:
    values: Mapping[str, float]
    """Parameter -> share of the objective's variance (they sum to 1), largest first."""
    trials: int
    why_none: str = ""


def importances(rows: Sequence[CandidateRow], objective: str, *, maximize: bool) -> Importances:
    trials = _trials(rows, objective)
    if len(trials) < MIN_TRIALS:
        return Importances({}, len(trials), f"{len(trials)} scored candidates (needs {MIN_TRIALS})")
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import create_trial

    dists = _distributions(trials)
    if not dists:
        return Importances({}, len(trials), "no declared parameter varies")
    import logging

    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.ERROR)  # not its "a new study created" line on stderr
    try:
        study = optuna.create_study(direction="maximize" if maximize else "minimize")
    finally:
        logger.setLevel(level)
    for params, value in trials:
        kept = {k: v for k, v in params.items() if k in dists}
        study.add_trial(
            create_trial(params=kept, distributions={k: dists[k] for k in kept}, value=value)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's "experimental" notes on evaluators
        try:
            got = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
        except (ValueError, RuntimeError) as exc:  # e.g. no parameter shared by all trials
            return Importances({}, len(trials), f"Optuna could not rank them: {exc}")
    return Importances(dict(got), len(trials))


def slices(
    rows: Sequence[CandidateRow], objective: str, names: Sequence[str]
) -> dict[str, list[tuple[Any, float]]]:
    """Per parameter, (value, objective) of every scored candidate that has it."""
    out: dict[str, list[tuple[Any, float]]] = {n: [] for n in names}
    for params, value in _trials(rows, objective):
        for n in names:
            if n in params:
                out[n].append((params[n], value))
    return out


def _trials(rows: Sequence[CandidateRow], objective: str) -> list[tuple[dict[str, Any], float]]:
    out = []
    for row in rows:
        value = row.metrics.get(objective)
        if row.status != "succeeded" or value is None or value != value:
            continue
        params: dict[str, Any] = {}
        for name, v in row.params.items():
            if isinstance(v, tuple):
                params[f"{name}.len"] = len(v)
                params.update({f"{name}[{i}]": x for i, x in enumerate(v)})
            else:
                params[name] = v
        out.append((params, float(value)))
    return out


def _distributions(trials: Sequence[tuple[dict[str, Any], float]]) -> dict[str, Any]:
    """A distribution per parameter seen with more than one value, from the values seen."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    seen: dict[str, list[Any]] = {}
    for params, _ in trials:
        for k, v in params.items():
            seen.setdefault(k, []).append(v)
    out: dict[str, Any] = {}
    for k, vs in seen.items():
        distinct = {(type(v).__name__, v) for v in vs}
        if len(distinct) < 2:
            continue
        if all(isinstance(v, int) and not isinstance(v, bool) for v in vs):
            out[k] = IntDistribution(min(vs), max(vs))
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in vs):
            out[k] = FloatDistribution(float(min(vs)), float(max(vs)))
        else:
            out[k] = CategoricalDistribution(sorted({v for _, v in distinct}, key=repr))
    return out
