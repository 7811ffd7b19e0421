"""Declared parameters as an Optuna search space: distributions, trial values, and back.

A ``# evolve:`` parameter maps to one distribution (a list to a length and one
per element); a trial's params map back to the values written into the code; a
program's own values map to params when they fit, so programs the Optuna
proposer did not write can join its study as completed trials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import Trial

from evoforge.candidate import Files
from evoforge.proposers._base import ProposalError
from evoforge.proposers.conditions import inactive, parents_first
from evoforge.proposers.params import (
    Bool,
    Choice,
    FloatRange,
    IntRange,
    NumList,
    Param,
    ParamSpecError,
)
from evoforge.proposers.sites import Site, _named, find_sites
from evoforge.proposers.values import Value, _ratio_scaled, _round_sig


def distributions(name: str, spec: Param) -> list[tuple[str, BaseDistribution]]:
    if isinstance(spec, Choice):
        return [(name, CategoricalDistribution(spec.options))]
    if isinstance(spec, Bool):
        return [(name, CategoricalDistribution((False, True)))]
    if isinstance(spec, IntRange):
        return [(name, IntDistribution(spec.lo, spec.hi, log=_ratio_scaled(spec.lo, spec.hi)))]
    if isinstance(spec, FloatRange):
        return [(name, FloatDistribution(spec.lo, spec.hi, log=spec.log))]
    if isinstance(spec, NumList):
        element = distributions("", spec.element)[0][1]
        out: list[tuple[str, BaseDistribution]] = []
        if spec.min_len < spec.max_len:
            out.append((f"{name}.len", IntDistribution(spec.min_len, spec.max_len)))
        return out + [(f"{name}[{i}]", element) for i in range(spec.max_len)]
    raise ProposalError(f"{name}: no Optuna distribution for {type(spec).__name__}")


def trial_values(space: Mapping[str, Param], params: Mapping[str, Any]) -> dict[str, Value]:
    """Trial params -> the values to write, one per declared parameter."""
    out: dict[str, Value] = {}
    for name, spec in space.items():
        if isinstance(spec, NumList):
            n = int(params.get(f"{name}.len", spec.max_len))
            out[name] = tuple(_number(spec.element, params[f"{name}[{i}]"]) for i in range(n))
        elif isinstance(spec, IntRange | FloatRange):
            out[name] = _number(spec, params[name])
        else:
            out[name] = params[name]
    return out


def suggest_active(trial: Trial, named: Mapping[str, Site]) -> list[str]:
    """Define-by-run: suggest each declared parameter whose ``when`` condition holds for
    the values suggested before it (parents first), so Optuna sees a conditional space;
    returns the active names."""
    chosen: dict[str, Value] = {}
    off: set[str] = set()
    for name in parents_first(named):
        cond = named[name].when
        if cond is not None and (cond.name in off or not cond.holds(chosen[cond.name])):
            off.add(name)
            continue
        spec = named[name].spec
        for key, dist in distributions(name, spec):
            _suggest(trial, key, dist)
        chosen[name] = trial_values({name: spec}, trial.params)[name]
    return [n for n in named if n not in off]


def _suggest(trial: Trial, key: str, dist: BaseDistribution) -> None:
    if isinstance(dist, CategoricalDistribution):
        trial.suggest_categorical(key, dist.choices)
    elif isinstance(dist, IntDistribution):
        trial.suggest_int(key, dist.low, dist.high, log=dist.log)
    elif isinstance(dist, FloatDistribution):
        trial.suggest_float(key, dist.low, dist.high, log=dist.log)
    else:  # pragma: no cover - distributions() makes only these
        raise ProposalError(f"{key}: no suggestion for {type(dist).__name__}")


def _number(spec: Param, x: Any) -> int | float:
    if isinstance(spec, FloatRange):
        return min(spec.hi, max(spec.lo, _round_sig(float(x))))
    return int(x)


def params_of(files: Files, dists: Mapping[str, BaseDistribution]) -> dict[str, Any] | None:
    """A program's declared values as trial params, or None if one does not fit ``dists``."""
    try:
        named = _named(find_sites(files))
    except ParamSpecError:
        return None
    params: dict[str, Any] = {}
    off = inactive(named) if any(s.when for s in named.values()) else set()
    for name, site in named.items():
        if name in off:  # never set for this program: not one of its trial's params
            continue
        v = site.value
        if isinstance(v, tuple):
            if f"{name}.len" in dists:
                params[f"{name}.len"] = len(v)
            params.update({f"{name}[{i}]": x for i, x in enumerate(v)})
        else:
            params[name] = v
    for key, value in params.items():
        dist = dists.get(key)
        if dist is None or not _fits(dist, value):
            return None
    return params


def _fits(dist: BaseDistribution, value: Any) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return any(type(value) is type(c) and value == c for c in dist.choices)
    if isinstance(dist, IntDistribution):
        return type(value) is int and dist.low <= value <= dist.high
    if isinstance(dist, FloatDistribution):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and dist.low <= value <= dist.high
    return False
