"""Tokens and cost spent on LLM answers in a run, per model, against the run's budget.

Every answer counts, kept or rejected. The ledger is part of the proposer's saved
state, so a resumed run goes on counting from where it stopped. A request is
allowed while the budget is not yet reached; the last answer may overshoot it by
at most its own size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Spent:
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class Ledger:
    """What each model's answers cost; ``max_tokens``/``max_cost`` are the run's limits."""

    def __init__(self, *, max_tokens: int | None = None, max_cost: float | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.spent: dict[str, Spent] = {}

    def add(self, model: str, tokens_in: int, tokens_out: int, cost: float) -> None:
        s = self.spent.setdefault(model, Spent())
        s.requests += 1
        s.tokens_in += tokens_in
        s.tokens_out += tokens_out
        s.cost += cost

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.spent.values())

    @property
    def cost(self) -> float:
        return sum(s.cost for s in self.spent.values())

    def exhausted(self) -> str:
        """Why no more requests may be made ("" while the budget allows them)."""
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"LLM token budget spent ({self.tokens} of {self.max_tokens} tokens)"
        if self.max_cost is not None and self.cost >= self.max_cost:
            return f"LLM cost budget spent ({self.cost:.4f} of {self.max_cost:g})"
        return ""

    def state(self) -> dict[str, Any]:
        return {model: asdict(s) for model, s in self.spent.items()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        for model, saved in state.items():
            if isinstance(saved, Mapping):
                self.spent[model] = Spent(
                    requests=int(saved.get("requests", 0)),
                    tokens_in=int(saved.get("tokens_in", 0)),
                    tokens_out=int(saved.get("tokens_out", 0)),
                    cost=float(saved.get("cost", 0.0)),
                )
