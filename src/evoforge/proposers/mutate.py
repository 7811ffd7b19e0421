"""The built-in mutator: changes the literals of evolve blocks; no LLM, no network.

Operators (the one used is reported in ``Proposal.operator``):

``step``       move one number a little (per its annotation or the default rules)
``resample``   draw one declared parameter afresh from its whole range
``flip``       negate one bool
``choice``     switch one declared choice to another option
``list``       grow, shrink or change one element of a numeric list
``multi``      change 2-3 sites at once, each in its natural way
``crossover``  mix two parents: values site by site when both have the same sites;
               otherwise same-named parameters or whole evolve blocks

Site rules live in :mod:`evoforge.proposers.sites`, value rules in
:mod:`evoforge.proposers.params`. Every child parses, keeps the frame byte for
byte, keeps declared values in range, and differs from its first parent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from evoforge.candidate import Files
from evoforge.config import ProposerSection
from evoforge.operators import OPERATORS, SINGLE_SITE
from evoforge.program import (
    EvolveBlockError,
    frame_violations,
    program_blocks,
    replace_block,
    syntax_errors,
)
from evoforge.proposers._base import Feedback, Parent, Proposal, ProposalError, Proposer
from evoforge.proposers.params import (
    Bool,
    Choice,
    FloatRange,
    FreeList,
    FreeNumber,
    IntRange,
    NumList,
    Param,
    ParamSpecError,
)
from evoforge.proposers.sites import Site, active_sites, apply, find_sites
from evoforge.proposers.values import Value, render

_T = TypeVar("_T")
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "step": 3.0,
    "resample": 2.0,
    "flip": 1.0,
    "choice": 1.5,
    "list": 1.5,
}


_DEFAULTS = ProposerSection()  # the keyword defaults are [proposer]'s, written once there


class Mutator(Proposer):
    """Literal-level mutation and crossover.

    ``crossover_rate`` is the chance of crossover when two different parents are
    given; ``multi_rate`` the chance, otherwise, of changing several sites; the
    rest is shared by the single-site operators in proportion to
    ``operator_weights`` (merged over :data:`DEFAULT_WEIGHTS`). Operators that do
    not apply to a program (no bool to flip, one parent) drop out and the others
    share their chance. ``sigma`` scales every step; declared sites are picked
    ``declared_weight`` times as often as unannotated ones, since an annotation
    says "this is a setting" while a bare literal may be structure.
    """

    name = "mutate"

    def __init__(
        self,
        *,
        crossover_rate: float = _DEFAULTS.crossover_rate,
        multi_rate: float = _DEFAULTS.multi_rate,
        sigma: float = _DEFAULTS.sigma,
        operator_weights: Mapping[str, float] | None = None,
        declared_weight: float = 4.0,
        max_tries: int = 32,
    ) -> None:
        self.crossover_rate = crossover_rate
        self.multi_rate = multi_rate
        self.sigma = sigma
        self.operator_weights = operator_weights
        self.declared_weight = declared_weight
        self.max_tries = max_tries

    @classmethod
    def from_rates(cls, rates: Mapping[str, float], **config: Any) -> Mutator:
        """A mutator whose :attr:`mutation_rates` are ``rates`` (normalised; unnamed -> 0)."""
        _check_weights(rates, OPERATORS)
        total = sum(rates.values())
        if total <= 0:
            raise ValueError("mutation rates must not all be zero")
        norm = {op: rates.get(op, 0.0) / total for op in OPERATORS}
        rest = 1.0 - norm["crossover"]
        return cls(
            crossover_rate=norm["crossover"],
            multi_rate=norm["multi"] / rest if rest > 0 else 0.0,
            operator_weights={op: norm[op] for op in SINGLE_SITE},
            **config,
        )

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS

    @property
    def arity(self) -> int:
        return 2

    @property
    def mutation_rates(self) -> dict[str, float]:
        """The chance of each operator when all apply; ValueError for a bad setting."""
        for label, rate in (
            ("crossover_rate", self.crossover_rate),
            ("multi_rate", self.multi_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {rate}")
        weights = dict(DEFAULT_WEIGHTS)
        if self.operator_weights is not None:
            _check_weights(self.operator_weights, SINGLE_SITE)
            weights.update(self.operator_weights)
        single = (1.0 - self.crossover_rate) * (1.0 - self.multi_rate)
        total = sum(weights.values())
        rates = {op: single * w / total if total > 0 else 0.0 for op, w in weights.items()}
        rates["multi"] = (1.0 - self.crossover_rate) * self.multi_rate
        rates["crossover"] = self.crossover_rate
        scale = sum(rates.values())
        return {op: rates[op] / scale if scale > 0 else 0.0 for op in OPERATORS}

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if not parents:
            raise ProposalError("the mutator needs at least one parent")
        base = parents[0].files
        try:  # a parameter whose `when` fails does nothing: changing it would waste a child
            sites = active_sites(find_sites(base))
        except ParamSpecError as exc:
            raise ProposalError(f"cannot read the parent's parameters: {exc}") from exc
        other = parents[1] if len(parents) > 1 and parents[1].files != base else None
        if not sites and other is None:
            raise ProposalError(
                "no mutable site in the program: its evolve blocks hold no number, boolean, "
                "list of numbers or choice[...] the mutator can change (strings and "
                "`# evolve: fixed` values stay as they are)"
            )
        rates = self.mutation_rates
        dead: set[tuple[str, str]] = set()  # (operator, site key) that changed nothing
        for _ in range(self.max_tries):
            op = self._pick_operator(rates, sites, other is not None, dead, rng)
            if op is None:
                break
            if op == "crossover":
                assert other is not None
                child, note = crossover(base, other.files, rng)
                note = f"with #{other.candidate.id} {note}"
                if child is None:
                    dead.add((op, ""))
                    continue
            else:
                chosen = self._pick_sites(op, sites, dead, rng)
                changes = {s.key: self._new_value(op, s, rng) for s in chosen}
                changed = [s for s in chosen if not _unchanged(changes[s.key], s.value)]
                dead.update((op, s.key) for s in chosen if s not in changed and op != "multi")
                if not changed:
                    continue
                child = apply(base, {s.key: changes[s.key] for s in changed})
                note = "; ".join(
                    f"{_label(s)}: {s.text} -> {render(changes[s.key], s.text)}" for s in changed
                )
            # Guaranteed by construction; checked so a bug costs a retry, not a broken child.
            if child != base and not syntax_errors(child) and not frame_violations(base, child):
                return Proposal(files=child, operator=op, note=note)
        raise ProposalError("no mutable site changes the program")

    def _eligible(self, op: str, sites: list[Site], dead: set[tuple[str, str]]) -> list[Site]:
        return [s for s in sites if _fits(op, s.spec) and (op, s.key) not in dead]

    def _pick_operator(
        self,
        rates: Mapping[str, float],
        sites: list[Site],
        two_parents: bool,
        dead: set[tuple[str, str]],
        rng: random.Random,
    ) -> str | None:
        usable: list[str] = []
        for op in OPERATORS:
            if op == "crossover":
                ok = two_parents and ("crossover", "") not in dead
            elif op == "multi":
                ok = len(sites) >= 2
            else:
                ok = bool(self._eligible(op, sites, dead))
            if ok and rates[op] > 0:
                usable.append(op)
        if not usable:
            return None
        return rng.choices(usable, weights=[rates[op] for op in usable])[0]

    def _pick_sites(
        self, op: str, sites: list[Site], dead: set[tuple[str, str]], rng: random.Random
    ) -> list[Site]:
        pool = self._eligible(op, sites, dead)
        count = min(len(pool), rng.choice((2, 3))) if op == "multi" else 1
        chosen: list[Site] = []
        for _ in range(count):
            weights = [self.declared_weight if s.spec.declared else 1.0 for s in pool]
            site = rng.choices(pool, weights=weights)[0]
            pool.remove(site)
            chosen.append(site)
        return sorted(chosen, key=lambda s: (s.path, s.line, s.col))

    def _new_value(self, op: str, site: Site, rng: random.Random) -> Value:
        # Several declared settings redrawn at once is the mutator's long jump: small
        # steps alone get stuck near a weak seed (measured in bench/baselines.py).
        jump = op == "multi" and site.spec.declared and rng.random() < 0.5
        if op != "resample" and not jump:
            return site.spec.neighbour(site.value, rng, self.sigma)
        for _ in range(16):  # a fresh draw, but not the value already there
            value = site.spec.sample(rng)
            if not _unchanged(value, site.value):
                return value
        return site.spec.neighbour(site.value, rng, self.sigma)


def crossover(a: Files, b: Files, rng: random.Random) -> tuple[dict[str, str] | None, str]:
    """A child of ``a`` taking part of ``b``, and how; None when none differs from both.

    With the same sites (same paths, names and specs, in order) values are mixed
    site by site; otherwise values of ``NAME = literal`` lines found in both with
    the same spec are; evolve blocks are swapped whole when two or more differ. ``a`` is the base: a mix always keeps
    something of it and takes something of ``b``.
    """
    sites_a = find_sites(a)
    try:
        sites_b: list[Site] | None = find_sites(b)
    except ParamSpecError:
        sites_b = None
    pairs: list[tuple[Site, Site]] = []
    how = "sites"
    if sites_b is not None and _signature(sites_a) == _signature(sites_b):
        pairs = list(zip(sites_a, sites_b, strict=True))
    elif sites_b is not None:
        how = "names"
        pairs = [(x, y) for x, y in _by_name(sites_a, sites_b) if x.spec == y.spec]
    pairs = [(x, y) for x, y in pairs if not _unchanged(x.value, y.value)]
    blocks = _differing_blocks(a, b)
    moves = ([how] if pairs else []) + (["blocks"] if len(blocks) >= 2 else [])
    if not moves:
        return None, "(nothing to exchange)"
    if rng.choice(moves) == "blocks":
        taken = _part_of(blocks, rng)
        child = dict(a)
        for path, index, text in taken:
            child[path] = replace_block(child[path], path, index, text)
        note = f"(blocks): {', '.join(f'{p}#{i}' for p, i, _ in taken)} from the second parent"
    else:
        chosen = _part_of(pairs, rng)
        child = apply(a, {x.key: y.value for x, y in chosen})
        note = f"({how}): {', '.join(_label(x) for x, _ in chosen)} from the second parent"
    return (None if child in (dict(a), dict(b)) else child), note


def _fits(op: str, spec: Param) -> bool:
    if op == "step":
        return isinstance(spec, IntRange | FloatRange | FreeNumber)
    if op == "resample":
        return spec.declared
    if op == "flip":
        return isinstance(spec, Bool)
    if op == "choice":
        return isinstance(spec, Choice)
    if op == "list":
        return isinstance(spec, NumList | FreeList)
    return op == "multi"


def _check_weights(weights: Mapping[str, float], known: Sequence[str]) -> None:
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise ValueError(f"unknown operator {', '.join(unknown)}; known: {', '.join(known)}")
    bad = {op: w for op, w in weights.items() if not (math.isfinite(w) and w >= 0)}
    if bad:
        raise ValueError(f"operator weights must be finite and >= 0, got {bad}")


def _unchanged(a: Value, b: Value) -> bool:
    """Same value for the program: 1 == 1.0, but True is not 1 and "1" is not 1."""
    return (
        a == b
        and isinstance(a, bool) == isinstance(b, bool)
        and isinstance(a, str) == isinstance(b, str)
    )


def _label(site: Site) -> str:
    return site.name or f"{site.path}:{site.line}"


def _signature(sites: list[Site]) -> list[tuple[str, str, Param]]:
    return [(s.path, s.name, s.spec) for s in sites]


def _by_name(a: list[Site], b: list[Site]) -> list[tuple[Site, Site]]:
    """Pairs of named sites with the same path and name, names unique on both sides."""

    def unique(sites: list[Site]) -> dict[tuple[str, str], Site]:
        seen: dict[tuple[str, str], list[Site]] = {}
        for s in sites:
            if s.name:
                seen.setdefault((s.path, s.name), []).append(s)
        return {k: v[0] for k, v in seen.items() if len(v) == 1}

    ua, ub = unique(a), unique(b)
    return [(ua[k], ub[k]) for k in ua if k in ub]


def _differing_blocks(a: Files, b: Files) -> list[tuple[str, int, str]]:
    """(path, index, text in ``b``) of each block whose text differs; [] if layouts differ."""
    try:
        blocks_a, blocks_b = program_blocks(a), program_blocks(b)
    except EvolveBlockError:
        return []
    if [x.path for x in blocks_a] != [y.path for y in blocks_b]:
        return []
    out: list[tuple[str, int, str]] = []
    counts: dict[str, int] = {}
    for x, y in zip(blocks_a, blocks_b, strict=True):
        index = counts.get(x.path, 0)
        counts[x.path] = index + 1
        if x.text != y.text:
            out.append((x.path, index, y.text))
    return out


def _part_of(items: list[_T], rng: random.Random) -> list[_T]:
    """A random part of ``items``: never empty, and a proper part when there are two or more."""
    taken = [x for x in items if rng.random() < 0.5]
    if not taken:
        taken = [rng.choice(items)]
    elif len(taken) == len(items) > 1:
        taken.remove(rng.choice(taken))
    return taken
