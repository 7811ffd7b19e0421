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

from evoforge.candidate import Files
from evoforge.proposers._base import ProposalError
from evoforge.proposers.params import (
    Bool,
    Choice,
    FloatRange,
    IntRange,
    NumList,
    Param,
    ParamSpecError,
)
from evoforge.proposers.sites import _named, find_sites
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
    for name, site in named.items():
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
