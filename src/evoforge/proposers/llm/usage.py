"""Requests, tokens and cost spent on an LLM in a run, per model, against the run's budget.

Every request the server received counts, answered or failed, and so do the tokens
of every one it may have billed: answers, kept or rejected, and failed tries that
reached it (bodies that were no completion, answers cut at the size cap, timeouts).
Failed tries are also counted by reason. The ledger is part of the proposer's saved
state, so a resumed run goes on counting from where it stopped. A request is
allowed while the budget is not yet reached; the last one may overshoot it by at
most its own size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from evoforge.proposers.llm.client import Attempt


@dataclass
class Spent:
    requests: int = 0
    """Requests the server received: answered, failed or timed out."""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    failed: dict[str, int] = field(default_factory=dict)
    """Failed tries by reason (:attr:`Attempt.reason`), those never sent included."""
    failed_tokens: int = 0
    failed_cost: float = 0.0
    """Of the totals above, what failed tries may have been billed."""

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class Ledger:
    """What each model's requests cost; ``max_tokens``/``max_cost`` are the run's limits."""

    def __init__(self, *, max_tokens: int | None = None, max_cost: float | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.spent: dict[str, Spent] = {}

    def add(self, model: str, tokens_in: int, tokens_out: int, cost: float) -> None:
        """One answered request."""
        s = self.spent.setdefault(model, Spent())
        s.requests += 1
        s.tokens_in += tokens_in
        s.tokens_out += tokens_out
        s.cost += cost

    def record(self, attempt: Attempt) -> None:
        """One try of a request, as the client reports it: answered or failed."""
        if attempt.ok:
            self.add(attempt.model, attempt.tokens_in, attempt.tokens_out, attempt.cost)
            return
        s = self.spent.setdefault(attempt.model, Spent())
        s.requests += attempt.sent
        s.failed[attempt.reason] = s.failed.get(attempt.reason, 0) + 1
        s.tokens_in += attempt.tokens_in
        s.tokens_out += attempt.tokens_out
        s.cost += attempt.cost
        s.failed_tokens += attempt.tokens_in + attempt.tokens_out
        s.failed_cost += attempt.cost

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.spent.values())

    @property
    def cost(self) -> float:
        return sum(s.cost for s in self.spent.values())

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.spent.values())

    def failures(self) -> dict[str, int]:
        """Failed tries of every model by reason, most frequent first."""
        total: dict[str, int] = {}
        for s in self.spent.values():
            for reason, n in s.failed.items():
                total[reason] = total.get(reason, 0) + n
        return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))

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
                failed = saved.get("failed")
                failed = failed if isinstance(failed, Mapping) else {}
                self.spent[model] = Spent(
                    requests=int(saved.get("requests", 0)),
                    tokens_in=int(saved.get("tokens_in", 0)),
                    tokens_out=int(saved.get("tokens_out", 0)),
                    cost=float(saved.get("cost", 0.0)),
                    failed={str(k): int(v) for k, v in failed.items()},
                    failed_tokens=int(saved.get("failed_tokens", 0)),
                    failed_cost=float(saved.get("failed_cost", 0.0)),
                )


def format_failures(failed: Mapping[str, int]) -> str:
    """``N (reason n, reason n)`` for status lines; ``0`` when nothing failed."""
    total = sum(failed.values())
    if not total:
        return "0"
    parts = sorted(failed.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{total} ({', '.join(f'{r} {n}' for r, n in parts)})"
