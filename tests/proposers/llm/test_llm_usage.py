"""The ledger of an LLM's requests, tokens and cost per model, against the run's budget:
answers and failed tries, failures by reason, the saved state, and the status line."""

from __future__ import annotations

import json

import pytest

from evoforge.proposers.llm.client import Attempt
from evoforge.proposers.llm.usage import Ledger, Spent, format_failures


def attempt(
    model: str = "a",
    reason: str = "",
    *,
    sent: bool = True,
    tokens: tuple[int, int] = (0, 0),
    cost: float = 0.0,
) -> Attempt:
    return Attempt(
        model=model, number=1, reason=reason, detail=reason, sent=sent, charged=bool(cost),
        tokens_in=tokens[0], tokens_out=tokens[1], usage_reported=True, cost=cost,
        seconds=0.1, bytes_read=0,
    )  # fmt: skip


def test_the_ledger_counts_per_model_and_says_when_the_budget_is_spent() -> None:
    ledger = Ledger(max_tokens=1000, max_cost=0.05)
    ledger.add("a", 300, 100, 0.01)
    ledger.add("b", 200, 100, 0.02)
    assert ledger.tokens == 700 and ledger.cost == pytest.approx(0.03) and ledger.exhausted() == ""
    ledger.add("a", 200, 100, 0.0)
    assert ledger.exhausted().startswith("LLM token budget spent (1000 of 1000")
    restored = Ledger(max_cost=0.03)
    restored.load_state(ledger.state())
    assert restored.spent["a"].requests == 2 and "cost budget spent" in restored.exhausted()


def test_an_answered_attempt_counts_as_a_request_with_its_tokens() -> None:
    ledger = Ledger()
    ledger.record(attempt(tokens=(120, 30), cost=0.002))
    assert ledger.spent["a"] == Spent(requests=1, tokens_in=120, tokens_out=30, cost=0.002)
    assert ledger.failures() == {}


def test_a_failed_try_the_server_billed_counts_in_the_totals_and_apart() -> None:
    ledger = Ledger()
    ledger.record(attempt(reason="invalid_json", tokens=(100, 50), cost=0.01))
    ledger.record(attempt(tokens=(10, 5), cost=0.001))
    spent = ledger.spent["a"]
    assert (spent.requests, spent.tokens) == (2, 165) and spent.cost == pytest.approx(0.011)
    assert (spent.failed_tokens, spent.failed_cost) == (150, 0.01)
    assert spent.failed == {"invalid_json": 1}


def test_a_try_that_never_reached_the_server_is_a_failure_but_no_request() -> None:
    ledger = Ledger()
    ledger.record(attempt(reason="connection", sent=False))
    assert ledger.requests == 0 and ledger.tokens == 0
    assert ledger.failures() == {"connection": 1}


def test_failures_of_all_models_are_summed_most_frequent_first() -> None:
    ledger = Ledger()
    for model, reason in [("a", "timeout"), ("b", "http_429"), ("b", "timeout"),
                          ("a", "http_500"), ("b", "http_429"), ("a", "timeout")]:  # fmt: skip
        ledger.record(attempt(model, reason))
    assert list(ledger.failures().items()) == [("timeout", 3), ("http_429", 2), ("http_500", 1)]
    assert ledger.requests == 6


def test_without_limits_the_budget_is_never_spent() -> None:
    ledger = Ledger()
    ledger.add("a", 10**9, 10**9, 1e6)
    assert ledger.exhausted() == ""
    capped = Ledger(max_cost=0.5)
    capped.add("a", 1, 1, 0.5)
    assert capped.exhausted() == "LLM cost budget spent (0.5000 of 0.5)"


def test_the_state_survives_json_and_a_resumed_ledger_goes_on_counting() -> None:
    ledger = Ledger()
    ledger.record(attempt("a", tokens=(40, 10), cost=0.003))
    ledger.record(attempt("b", "timeout", tokens=(0, 256), cost=0.004))
    saved = json.loads(json.dumps(ledger.state()))
    resumed = Ledger(max_tokens=400)
    resumed.load_state(saved)
    assert resumed.spent == ledger.spent
    resumed.record(attempt("a", tokens=(80, 20)))
    assert resumed.spent["a"].requests == 2 and resumed.tokens == 406
    assert resumed.exhausted().startswith("LLM token budget spent (406 of 400")


def test_a_damaged_state_is_read_as_far_as_it_goes() -> None:
    ledger = Ledger()
    ledger.load_state({"a": {"requests": 3, "failed": "garbage"}, "b": "not a record"})
    assert ledger.spent == {"a": Spent(requests=3)}


@pytest.mark.parametrize(
    ("failed", "line"),
    [
        ({}, "0"),
        ({"timeout": 0}, "0"),
        ({"timeout": 2, "http_429": 3}, "5 (http_429 3, timeout 2)"),
        ({"timeout": 1, "auth": 1}, "2 (auth 1, timeout 1)"),
    ],
)
def test_format_failures_gives_the_total_then_each_reason(
    failed: dict[str, int], line: str
) -> None:
    assert format_failures(failed) == line
