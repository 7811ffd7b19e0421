"""Parameters declared in code: ``# evolve: SPEC`` annotations and their ranges.

A trailing ``# evolve: SPEC`` comment on a line ``NAME = literal`` (also
``self.x = literal`` and ``NAME: type = literal``) inside an evolve block
declares the parameter's range and makes it *declared*::

    MODEL = "linear"       # evolve: choice["linear", "mlp", "cnn"]
    HIDDEN = [32]          # evolve: ints[8, 512] len[1, 4]
    LR = 0.001             # evolve: log[1e-5, 1.0]
    EPOCHS = 3             # evolve: int[1, 200]
    MOMENTUM = 0.9         # evolve: float[0.0, 0.99]
    USE_BN = False         # evolve: bool
    SEED = 0               # evolve: fixed     (nothing on this line ever changes)

Specs: ``choice[...]`` (str/int/float/bool literals), ``int[lo, hi]``,
``float[lo, hi]`` (linear), ``log[lo, hi]`` (log scale, 0 < lo), ``bool``,
``ints[lo, hi] len[a, b]`` and ``floats[lo, hi] len[a, b]`` (numeric lists),
``fixed``. Integer ranges with ``0 < lo`` and ``hi >= 10 * lo`` are walked and
sampled on a log scale, because widths and epoch counts matter by ratio.

A spec may end with a condition, ``when NAME in [...]`` or ``when NAME == literal``
(:mod:`evoforge.proposers.conditions`): the parameter is searched only while it holds.

Unannotated literals follow default rules (see :class:`FreeNumber`,
:class:`FreeList`, :class:`FreeBool`); strings change only through ``choice``.
Which literals are sites, and how values are spliced into programs, is in
:mod:`evoforge.proposers.sites`; annotations are read by
:func:`evoforge.proposers.spec_parser.parse_spec`.
"""

from __future__ import annotations

import abc
import math
import random
from dataclasses import dataclass
from typing import ClassVar

from evoforge.proposers.values import (
    Number,
    Value,
    _is_int,
    _is_number,
    _ratio_scaled,
    _reflect,
    _round_sig,
    _same,
    _step_int,
)

_FREE_LIST_MAX_LEN = 8  # unannotated lists never grow past this: no range was declared


class ParamSpecError(ValueError):
    """An ``# evolve:`` annotation is malformed or disagrees with its line."""


class Param(abc.ABC):
    """How one site may change. Implementations are frozen dataclasses (values)."""

    declared: ClassVar[bool] = True
    """True for specs written in an annotation: only those can be ``sample``-d."""

    @abc.abstractmethod
    def problem(self, value: Value) -> str | None:
        """Why ``value`` is not allowed by this spec, or None."""

    @abc.abstractmethod
    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        """A nearby allowed value, different from ``value`` whenever the spec allows."""

    def sample(self, rng: random.Random) -> Value:
        """A fresh value drawn from the whole declared range."""
        raise TypeError(f"{type(self).__name__} has no declared range to sample from")


@dataclass(frozen=True)
class Choice(Param):
    options: tuple[bool | int | float | str, ...]

    def problem(self, value: Value) -> str | None:
        if any(_same(value, o) for o in self.options):
            return None
        return f"value {value!r} is not one of the choices {list(self.options)!r}"

    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        others = [o for o in self.options if not _same(value, o)]
        return rng.choice(others) if others else value

    def sample(self, rng: random.Random) -> Value:
        return rng.choice(self.options)


@dataclass(frozen=True)
class IntRange(Param):
    lo: int
    hi: int

    def problem(self, value: Value) -> str | None:
        return (
            _outside(value, self.lo, self.hi)
            if _is_int(value)
            else f"value {value!r} is not an int"
        )

    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        assert isinstance(value, int)
        return _step_int(value, rng, sigma, self.lo, self.hi)

    def sample(self, rng: random.Random) -> Value:
        if _ratio_scaled(self.lo, self.hi):
            x = math.exp(rng.uniform(math.log(self.lo), math.log(self.hi + 1)))
            return min(self.hi, max(self.lo, math.floor(x)))
        return rng.randint(self.lo, self.hi)


@dataclass(frozen=True)
class FloatRange(Param):
    lo: float
    hi: float
    log: bool = False

    def problem(self, value: Value) -> str | None:
        if not _is_number(value):
            return f"value {value!r} is not a number"
        return _outside(value, self.lo, self.hi)

    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        assert _is_number(value)
        x = float(value)
        for _ in range(8):
            if self.log:
                scale = sigma * max(1.0, math.log(self.hi / self.lo) / 6)
                new = _reflect(
                    math.log(x) + rng.gauss(0, scale), *map(math.log, (self.lo, self.hi))
                )
                new = math.exp(new)
            else:
                new = _reflect(x + rng.gauss(0, sigma * (self.hi - self.lo) / 4), self.lo, self.hi)
            new = min(self.hi, max(self.lo, _round_sig(new)))
            if new != x:
                return new
        return x

    def sample(self, rng: random.Random) -> Value:
        if self.log:
            x = math.exp(rng.uniform(math.log(self.lo), math.log(self.hi)))
        else:
            x = rng.uniform(self.lo, self.hi)
        return min(self.hi, max(self.lo, _round_sig(x)))


@dataclass(frozen=True)
class Bool(Param):
    def problem(self, value: Value) -> str | None:
        return None if isinstance(value, bool) else f"value {value!r} is not a bool"

    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        return not value

    def sample(self, rng: random.Random) -> Value:
        return rng.random() < 0.5


@dataclass(frozen=True)
class NumList(Param):
    """A list of numbers: each in [lo, hi], its length in [min_len, max_len]."""

    lo: float
    hi: float
    min_len: int
    max_len: int
    integer: bool

    @property
    def element(self) -> Param:
        return (
            IntRange(int(self.lo), int(self.hi)) if self.integer else FloatRange(self.lo, self.hi)
        )

    def problem(self, value: Value) -> str | None:
        if not isinstance(value, tuple):
            return f"value {value!r} is not a list"
        if not self.min_len <= len(value) <= self.max_len:
            return f"length {len(value)} is outside len[{self.min_len}, {self.max_len}]"
        for x in value:
            if why := self.element.problem(x):
                return f"element {why.removeprefix('value ')}"
        return None

    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        assert isinstance(value, tuple)
        return _list_neighbour(value, rng, sigma, self.element, self.min_len, self.max_len)

    def sample(self, rng: random.Random) -> Value:
        element = self.element
        drawn = [element.sample(rng) for _ in range(rng.randint(self.min_len, self.max_len))]
        return tuple(x for x in drawn if _is_number(x))


@dataclass(frozen=True)
class FreeNumber(Param):
    """An unannotated number. Ints step by ±1 or a factor of at most 2 and never
    cross zero (positive stays >= 1, zero stays >= 0, negative stays <= -1); floats
    are multiplied by exp(N(0, sigma)), so a zero float never moves."""

    integer: bool
    declared: ClassVar[bool] = False

    def problem(self, value: Value) -> str | None:
        ok = _is_int(value) if self.integer else _is_number(value)
        return None if ok else f"value {value!r} is not {'an int' if self.integer else 'a number'}"

    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        if isinstance(value, int) and not isinstance(value, bool):
            return _step_int(value, rng, sigma, None, None)
        assert isinstance(value, float)
        return _round_sig(value * math.exp(rng.gauss(0, sigma)))


@dataclass(frozen=True)
class FreeList(Param):
    """An unannotated numeric list of up to 8 numbers (grows to 8, shrinks to 1), or a
    tuple or longer list, whose length is kept: tuples are usually shapes (kernel
    sizes, Adam's betas) and long lists data."""

    integer: bool
    resizable: bool
    declared: ClassVar[bool] = False

    def problem(self, value: Value) -> str | None:
        return None if isinstance(value, tuple) else f"value {value!r} is not a list"

    def neighbour(self, value: Value, rng: random.Random, sigma: float = 0.5) -> Value:
        assert isinstance(value, tuple)
        lo, hi = (1, _FREE_LIST_MAX_LEN) if self.resizable else (len(value), len(value))
        return _list_neighbour(value, rng, sigma, FreeNumber(self.integer), lo, hi)


@dataclass(frozen=True)
class FreeBool(Bool):
    declared: ClassVar[bool] = False


@dataclass(frozen=True)
class Fixed:
    """``# evolve: fixed``: nothing on the line changes."""


def _outside(value: Number, lo: Number, hi: Number) -> str | None:
    return None if lo <= value <= hi else f"value {value!r} is outside [{lo}, {hi}]"


def _list_neighbour(
    value: tuple[Number, ...],
    rng: random.Random,
    sigma: float,
    element: Param,
    min_len: int,
    max_len: int,
) -> Value:
    ops = [
        op
        for op, ok in (
            ("grow", len(value) < max_len),
            ("shrink", len(value) > min_len),
            ("change", bool(value)),
        )
        if ok
    ]
    if not ops:
        return value
    items = list(value)
    op = rng.choice(ops)
    if op == "grow":  # a copy of a neighbour: [32] -> [32, 32] is a natural next width
        i = rng.randint(0, len(items))
        new = items[min(i, len(items) - 1)] if items else element.sample(rng)
        assert _is_number(new)
        items.insert(i, new)
    elif op == "shrink":
        del items[rng.randrange(len(items))]
    else:
        i = rng.randrange(len(items))
        new = element.neighbour(items[i], rng, sigma)
        assert _is_number(new)
        items[i] = new
    return tuple(items)
