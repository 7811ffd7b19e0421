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

Unannotated literals follow default rules (see :class:`FreeNumber`,
:class:`FreeList`, :class:`FreeBool`); strings change only through ``choice``.
Which literals are sites, and how values are spliced into programs, is in
:mod:`evoforge.proposers.sites`.
"""

from __future__ import annotations

import abc
import ast
import math
import random
import re
from dataclasses import dataclass
from typing import ClassVar, TypeGuard

Number = int | float
Value = bool | int | float | str | tuple[int | float, ...]
"""A site's value; numeric lists are tuples."""

_FREE_LIST_MAX_LEN = 8  # unannotated lists never grow past this: no range was declared


class ParamSpecError(ValueError):
    """An ``# evolve:`` annotation is malformed or disagrees with its line."""


# ---------------------------------------------------------------- specs


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


def parse_spec(text: str) -> Param | Fixed:
    """The spec of an annotation (the text after ``evolve:``); ParamSpecError if malformed."""
    text = text.strip()
    m = re.fullmatch(r"([a-z]+)\s*(.*)", text, flags=re.S)
    kind, rest = (m.group(1), m.group(2).strip()) if m else ("", text)
    if kind in ("bool", "fixed"):
        if rest:
            raise ParamSpecError(f"`{kind}` takes no arguments, got {rest!r}")
        return Bool() if kind == "bool" else Fixed()
    if kind == "choice":
        options = _literal_list(rest, "choice")
        if not options or not all(isinstance(o, bool | int | float | str) for o in options):
            raise ParamSpecError("choice[...] needs one or more str/int/float/bool literals")
        if len(options) < 2 or any(_same(a, b) for i, a in enumerate(options) for b in options[:i]):
            raise ParamSpecError("choice[...] needs at least two different options")
        return Choice(tuple(o for o in options if isinstance(o, bool | int | float | str)))
    if kind in ("int", "float", "log"):
        lo, hi = _bounds(rest, kind, integer=kind == "int")
        if kind == "int":
            return IntRange(int(lo), int(hi))
        if kind == "log" and lo <= 0:
            raise ParamSpecError(f"log[{lo}, {hi}]: the low end must be positive")
        return FloatRange(float(lo), float(hi), log=kind == "log")
    if kind in ("ints", "floats"):
        lm = re.fullmatch(r"(\[[^\]]*\])\s*len\s*(\[[^\]]*\])", rest)
        if not lm:
            raise ParamSpecError(f"{kind} needs the form {kind}[lo, hi] len[a, b], got {text!r}")
        lo, hi = _bounds(lm.group(1), kind, integer=kind == "ints")
        a, b = _bounds(lm.group(2), "len", integer=True, allow_equal=True)
        if a < 0:
            raise ParamSpecError(f"len[{a}, {b}]: lengths cannot be negative")
        return NumList(lo, hi, int(a), int(b), integer=kind == "ints")
    known = "choice, int, float, log, bool, ints, floats, fixed"
    raise ParamSpecError(f"unknown kind {kind or text!r}; known kinds: {known}")


def _literal_list(text: str, kind: str) -> list[object]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ParamSpecError(f"{kind}{text}: arguments must be a [...] list of literals") from None
    if not isinstance(value, list):
        raise ParamSpecError(f"{kind}{text}: arguments must be a [...] list of literals")
    return value


def _bounds(
    text: str, kind: str, *, integer: bool, allow_equal: bool = False
) -> tuple[Number, Number]:
    values = _literal_list(text, kind)
    check = _is_int if integer else _is_number
    if len(values) != 2 or not all(check(v) for v in values):
        what = "ints" if integer else "numbers"
        raise ParamSpecError(f"{kind}{text}: needs exactly two {what} [lo, hi]")
    lo, hi = values
    assert isinstance(lo, int | float) and isinstance(hi, int | float)
    if hi < lo or (hi == lo and not allow_equal):
        raise ParamSpecError(f"{kind}{text}: the low end must be below the high end")
    return lo, hi


def render(value: Value, like: str = "") -> str:
    """Python source for ``value``, in the quote or bracket style of the source ``like``."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return re.sub(
            r"e([+-])0*(\d)", lambda m: "e" + m.group(1).replace("+", "") + m.group(2), repr(value)
        )
    if isinstance(value, str):
        quote = '"' if like.lstrip("rbuRBU")[:1] == '"' else "'"
        plain = value.isprintable() and quote not in value and "\\" not in value
        return quote + value + quote if plain else repr(value)
    inner = ", ".join(render(x) for x in value)
    if like.startswith("["):
        return f"[{inner}]"
    if len(value) == 1:
        inner += ","
    return f"({inner})" if like.startswith("(") or not value else inner


# ---------------------------------------------------------------- numeric helpers


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _same(a: object, b: object) -> bool:
    """Equal as option values: True is not 1, "1" is not 1."""
    return (
        isinstance(a, bool) == isinstance(b, bool)
        and isinstance(a, str) == isinstance(b, str)
        and a == b
    )


def _outside(value: Number, lo: Number, hi: Number) -> str | None:
    return None if lo <= value <= hi else f"value {value!r} is outside [{lo}, {hi}]"


def _ratio_scaled(lo: Number, hi: Number) -> bool:
    return lo > 0 and hi >= 10 * lo


def _reflect(x: float, lo: float, hi: float) -> float:
    if x > hi:
        x = 2 * hi - x
    if x < lo:
        x = 2 * lo - x
    return min(hi, max(lo, x))


def _round_sig(x: float, digits: int = 4) -> float:
    """Few significant digits: children stay readable and near-identical values merge."""
    return float(f"{x:.{digits}g}")


def _step_int(value: int, rng: random.Random, sigma: float, lo: int | None, hi: int | None) -> int:
    """A different int near ``value``: by ratio when the scale is one of ratios, else by ±steps."""
    if lo is None or hi is None:  # free: keep the sign class, at most ×/÷ 2 per step
        floor, ceil = (
            (1, math.inf) if value > 0 else (0, math.inf) if value == 0 else (-math.inf, -1)
        )
        by_ratio, spread, cap = value != 0, sigma, math.log(2)
    else:
        floor, ceil = lo, hi
        by_ratio = _ratio_scaled(lo, hi)
        spread = (
            sigma * max(1.0, math.log(hi / lo) / 6) if by_ratio else max(1.0, sigma * (hi - lo) / 4)
        )
        cap = math.inf
    if by_ratio:
        z = max(-cap, min(cap, rng.gauss(0, spread)))
        new = round(value * math.exp(z))
        if new == value:
            new = value + (1 if (z >= 0) == (value > 0) else -1)
    else:
        step = 0 if lo is None else round(rng.gauss(0, spread))  # a free zero moves by one
        new = value + (step or rng.choice((-1, 1)))
    if floor <= new <= ceil:
        return new
    new = int(min(ceil, max(floor, new)))
    if new != value:
        return new
    return value + 1 if value + 1 <= ceil else value - 1


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
