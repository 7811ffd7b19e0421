"""A site's values: their types, number checks, rounding and integer steps, source text.

The specs of :mod:`evoforge.proposers.params` check and move values with these;
:func:`render` writes a value back into a program (:mod:`evoforge.proposers.sites`).
"""

from __future__ import annotations

import math
import random
import re
from typing import TypeGuard

Number = int | float
Value = bool | int | float | str | tuple[int | float, ...]
"""A site's value; numeric lists are tuples."""


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
