"""The policy contract: requests, decisions, the deciders that answer, and the answer check.

A policy (see ``shipped/default.py``) is a program that only decides: given a
request with one lane per search (its pool of scored candidates, its operator
stats, how many children to make, the kind of program searched and the makers
of children available there, with their stats) it answers, per lane, the
parents of each child, operator weights and a step size, and, optionally, which
maker makes each child and the makers' settings. A :class:`Decider` gets answers from a
policy, in this process (:class:`~evoforge.policy.inprocess.InProcessPolicy`, for
a policy a person selected in a config after
:func:`~evoforge.policy.inprocess.check_policy`) or from a sandboxed process
(:class:`evoforge.meta.protocol.SandboxedPolicy`, for candidate policies during
``evoforge meta``). Either way :func:`read_answer` checks the answer against the
request before anything uses it: a wrong answer is a :class:`PolicyError`,
never a crash or a silent default. The selector and the mutator that follow a
policy in a run are :class:`evoforge.selection.policy.PolicySelector` and
:class:`evoforge.proposers.adaptive.AdaptiveMutator`.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evoforge.operators import OPERATORS

POLICY_FILE = "policy.py"
"""The name a policy has inside a program (the meta experiment, a sandbox folder)."""
MAX_SIGMA = 10.0
POOL_CAP = 256
"""At most this many of a search's most recent candidates are sent to the policy."""
MAKERS = ("mutate", "tpe", "random")
"""Makers of children a policy can choose among: the built-in mutator from the chosen
parents, and Optuna's TPE or random sampler over the declared parameters (these two
only where the program declares parameters)."""
KINDS = ("params", "instructions", "code")
"""Kinds of searched program: declared parameters, an instruction list (algorithm
discovery), or other code."""
SETTINGS: Mapping[str, Mapping[str, tuple[int, int]]] = {"tpe": {"startup": (1, 64)}}
"""The makers' settings a policy may give, each an integer in its range."""


class PolicyError(RuntimeError):
    """A policy is unusable or answered wrongly; the message says how."""


@dataclass(frozen=True)
class Lane:
    """One search's request: ``pool`` oldest first, ``score`` higher is better."""

    seed: int
    children: int
    arity: int
    pool: Sequence[Mapping[str, Any]]
    stats: Mapping[str, Mapping[str, float]]
    kind: str = "params"
    makers: tuple[str, ...] = ("mutate",)
    """The makers available in this search (names from ``MAKERS``)."""
    maker_stats: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per maker: ``tries``, ``wins`` (children that beat the search's best), ``gain``."""

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "children": self.children,
            "arity": self.arity,
            "pool": [dict(r) for r in self.pool],
            "stats": {k: dict(v) for k, v in self.stats.items()},
            "kind": self.kind,
            "makers": list(self.makers),
            "maker_stats": {k: dict(v) for k, v in self.maker_stats.items()},
        }


@dataclass(frozen=True)
class Decision:
    parents: tuple[tuple[int, ...], ...]
    weights: Mapping[str, float]
    sigma: float
    makers: tuple[str, ...] = ()
    """The maker of each child ("" for all: the mutator)."""
    settings: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def maker(self, child: int) -> str:
        return self.makers[child] if self.makers else "mutate"


class Decider(abc.ABC):
    """Answers requests from one policy. ``decide`` raises PolicyError, nothing else."""

    @abc.abstractmethod
    def decide(self, lanes: Sequence[Lane]) -> list[Decision]: ...

    def close(self) -> None:  # noqa: B027
        """Release what the decider holds (default: nothing)."""


def read_answer(answer: Any, lanes: Sequence[Lane]) -> list[Decision]:
    """The policy's answer as decisions, checked against the request; PolicyError if wrong."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("lanes"), list):
        raise PolicyError("the answer is not an object with a list 'lanes'")
    got = answer["lanes"]
    if len(got) != len(lanes):
        raise PolicyError(f"the answer has {len(got)} lanes, the request {len(lanes)}")
    return [_read_lane(i, raw, lane) for i, (raw, lane) in enumerate(zip(got, lanes, strict=True))]


def _read_lane(i: int, raw: Any, lane: Lane) -> Decision:
    where = f"lane {i}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: not an object")
    parents = raw.get("parents")
    if not isinstance(parents, list) or len(parents) != lane.children:
        raise PolicyError(f"{where}: 'parents' must list {lane.children} children")
    picked: list[tuple[int, ...]] = []
    for row in parents:
        if (
            not isinstance(row, list)
            or not 1 <= len(row) <= lane.arity
            or not all(type(x) is int and 0 <= x < len(lane.pool) for x in row)
        ):
            raise PolicyError(
                f"{where}: each child needs 1 to {lane.arity} parent indices in "
                f"[0, {len(lane.pool)}), got {str(row)[:80]}"
            )
        picked.append(tuple(row))
    weights = raw.get("weights")
    if not isinstance(weights, Mapping) or not weights:
        raise PolicyError(f"{where}: 'weights' must map operators to numbers")
    clean: dict[str, float] = {}
    for op, w in weights.items():
        if op not in OPERATORS:
            raise PolicyError(f"{where}: unknown operator {str(op)[:40]!r}")
        if type(w) not in (int, float) or not math.isfinite(w) or w < 0:
            raise PolicyError(f"{where}: weight of {op} must be a finite number >= 0")
        clean[op] = float(w)
    if sum(clean.values()) <= 0:
        raise PolicyError(f"{where}: the weights are all zero")
    sigma: Any = raw.get("sigma")
    if type(sigma) not in (int, float) or not 0 < sigma <= MAX_SIGMA:
        raise PolicyError(f"{where}: 'sigma' must be a number in (0, {MAX_SIGMA}]")
    return Decision(
        tuple(picked), clean, float(sigma), _read_makers(where, raw, lane),
        _read_settings(where, raw),
    )  # fmt: skip


def _read_makers(where: str, raw: Mapping[str, Any], lane: Lane) -> tuple[str, ...]:
    makers = raw.get("makers")
    if makers is None:
        return ()
    if not isinstance(makers, list) or len(makers) != lane.children:
        raise PolicyError(
            f"{where}: 'makers' must name the maker of each of {lane.children} children"
        )
    for m in makers:
        if m not in lane.makers:
            raise PolicyError(
                f"{where}: maker {str(m)[:40]!r} is not available here; "
                f"available: {', '.join(lane.makers)}"
            )
    return tuple(makers)


def _read_settings(where: str, raw: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    settings = raw.get("settings")
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise PolicyError(f"{where}: 'settings' must map makers to their settings")
    clean: dict[str, dict[str, int]] = {}
    for maker, values in settings.items():
        known = SETTINGS.get(maker)
        if known is None or not isinstance(values, Mapping):
            raise PolicyError(f"{where}: no settings for maker {str(maker)[:40]!r}")
        for key, value in values.items():
            if key not in known:
                raise PolicyError(f"{where}: unknown setting {maker}.{str(key)[:40]}")
            low, high = known[key]
            if type(value) is not int or not low <= value <= high:
                raise PolicyError(f"{where}: {maker}.{key} must be an integer in [{low}, {high}]")
            clean.setdefault(maker, {})[key] = value
    return clean
