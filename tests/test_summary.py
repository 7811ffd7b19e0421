"""The greppable ``key: value`` summary of a run (run, resume, status and best print it):
its rows for a finished run, the run's state and time, and the rows of the LLM ledger,
the bandits and an algorithm search."""

from __future__ import annotations

from typing import Any

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.summary import (
    elapsed_seconds,
    format_rows,
    hidden_kinds,
    llm_rows,
    operator_rows,
    proposer_rows,
    run_state,
    run_summary,
    search_rows,
)

CONFIG: dict[str, Any] = {
    "task": {"objective": "score", "heldout": ["test"], "gate": ["gate_acc"]},
    "budget": {"candidates": 4},
}


def add(archive: MemoryArchive, status: Status, **fields: Any) -> Candidate:
    h = archive.put_code({"p.py": f"X = {archive.size()}\n"})
    return archive.add(Candidate(id=0, code_hash=h, status=status, **fields))


def finished_run() -> MemoryArchive:
    archive = MemoryArchive()
    archive.set_meta("config", CONFIG)
    archive.set_meta("state", "finished")
    archive.set_meta("elapsed_s", 120.0)
    archive.set_meta("compat_mode", "openevolve")
    archive.set_meta("sandbox", {"bubblewrap": "on", "landlock": "off: kernel too old"})
    hidden = {"test": 0.5, "gate_acc": 0.9}
    add(archive, Status.SUCCEEDED, proposer="seed", metrics={"score": 1.0}, heldout=hidden)
    add(archive, Status.FAILED, failure="exit code 1")
    add(archive, Status.REJECTED)
    add(archive, Status.DUPLICATE)
    add(archive, Status.SUCCEEDED, metrics={"score": 2.5}, heldout={"test": 0.75, "gate_acc": 1})
    archive.move_champion(1, action="seed", reason="the seed")
    archive.move_champion(5, action="promote", reason="better")
    return archive


def test_a_finished_run_is_summed_up_with_its_seed_and_champion() -> None:
    text = format_rows(run_summary(finished_run(), run_path="/exp/runs/r1"))
    assert text == "\n".join(
        [
            "run: /exp/runs/r1",
            "state: finished",
            "candidates: 3/4",
            "succeeded: 2",
            "failed: 1",
            "rejected: 1",
            "duplicates: 1",
            "pending: 0",
            "elapsed_seconds: 120.0",
            "candidates_per_minute: 1.50",
            "compat_mode: openevolve",
            "sandbox: missing: landlock",
            "seed_score: 1",
            "seed_gate_acc: 0.9 (gate)",
            "seed_test: 0.5 (held-out)",
            "champion: #5",
            "champion_score: 2.5",
            "champion_gate_acc: 1 (gate)",
            "champion_test: 0.75 (held-out)",
        ]
    )


def test_a_run_whose_seed_never_succeeded_shows_its_status_and_no_champion() -> None:
    archive = MemoryArchive()
    archive.set_meta("config", {"task": {"objective": "score"}, "budget": {}})
    add(archive, Status.PENDING)
    rows = dict(run_summary(archive, run_path="r", state="stopped"))
    assert rows["state"] == "stopped" and rows["candidates"] == "0"
    assert rows["pending"] == "1" and rows["seed_status"] == "pending"
    assert rows["elapsed_seconds"] == "0.0" and rows["candidates_per_minute"] == "-"
    assert "champion" not in rows and "sandbox" not in rows and "compat_mode" not in rows


def test_a_sandbox_with_every_layer_on_says_so() -> None:
    archive = MemoryArchive()
    archive.set_meta("sandbox", {"bubblewrap": "on", "landlock": "on (ABI 4)"})
    assert dict(run_summary(archive, run_path="r"))["sandbox"] == "all layers on"


def test_the_state_of_a_run_with_a_live_driver_is_running() -> None:
    archive = MemoryArchive()
    archive.set_meta("state", "finished")
    assert run_state(archive, live_pid=123, run_path="r") == "running"
    assert run_state(archive, live_pid=None, run_path="r") == "finished"
    assert run_state(MemoryArchive(), live_pid=None, run_path="r") == "unknown"


def test_a_run_left_running_by_a_driver_now_gone_crashed() -> None:
    archive = MemoryArchive()
    archive.set_meta("state", "running")
    assert run_state(archive, live_pid=None, run_path="runs/r1") == (
        "crashed (the driver is gone; resume with: evoforge resume runs/r1)"
    )
    archive.set_meta("driver_pid", 4242)
    assert run_state(archive, live_pid=None, run_path="runs/r1").startswith(
        "crashed (driver 4242 is gone;"
    )


def test_elapsed_time_adds_the_live_session_to_the_ended_ones_only_while_running() -> None:
    archive = MemoryArchive()
    archive.set_meta("elapsed_s", 100.0)
    archive.set_meta("session_started_at", 1000.0)
    assert elapsed_seconds(archive, running=True, now=1030.0) == 130.0
    assert elapsed_seconds(archive, running=True, now=990.0) == 100.0
    assert elapsed_seconds(archive, running=False, now=1030.0) == 100.0
    archive.set_meta("session_started_at", None)
    assert elapsed_seconds(archive, running=True, now=1030.0) == 100.0


def test_hidden_metrics_are_labelled_by_their_kind_in_the_configs_order() -> None:
    kinds = hidden_kinds({"task": {"heldout": ["b", "a"], "gate": ["g"]}})
    assert list(kinds.items()) == [("b", "held-out"), ("a", "held-out"), ("g", "gate")]
    assert hidden_kinds({}) == {} and hidden_kinds({"task": {"heldout": None}}) == {}


def test_a_rows_value_cannot_write_to_the_terminal_or_forge_a_row() -> None:
    text = format_rows([("note", "ok\nstate: finished\x1b[2J"), ("k\r", "v")])
    assert text == "note: ok\\nstate: finished\\x1b[2J\nk\\r: v"
    assert len(text.splitlines()) == 2


def test_llm_rows_count_tokens_cost_and_answers_per_model_from_the_records() -> None:
    archive = MemoryArchive()
    spent = {"tokens_in": 10, "tokens_out": 5, "cost": 0.01}
    add(archive, Status.SUCCEEDED, extra={"model": "fast one", **spent})
    add(archive, Status.REJECTED, extra={"model": "fast one", "tokens_in": 3, "cost": 0.002})
    add(archive, Status.FAILED, extra={"fallback": "timeout"})
    models = [{"name": "gpt-x", "label": "fast one"}, {"name": "big"}]
    config = {"proposer": {"llm": {"models": models, "max_tokens": 1000, "max_cost": 0.5}}}
    assert llm_rows(archive, config) == [
        ("llm_fast_one_tokens", "18"),
        ("llm_fast_one_cost", "0.012000"),
        ("llm_fast_one_accepted", "1"),
        ("llm_fast_one_rejected", "1"),
        ("llm_big_tokens", "0"),
        ("llm_big_cost", "0.000000"),
        ("llm_big_accepted", "0"),
        ("llm_big_rejected", "0"),
        ("llm_tokens", "18/1000"),
        ("llm_cost", "0.012000/0.5"),
        ("llm_accepted", "1"),
        ("llm_rejected", "1"),
        ("llm_fallback_proposals", "1"),
    ]


def test_llm_rows_take_spending_and_failed_tries_from_the_proposers_ledger() -> None:
    archive = MemoryArchive()
    add(archive, Status.SUCCEEDED, extra={"model": "m", "tokens_in": 1, "cost": 0.001})
    ledger = {
        "tokens_in": 100, "tokens_out": 50, "cost": 0.2, "requests": 4, "failed_tokens": 7,
        "failed": {"http_503": 1, "invalid_json": 2, "a_reason": 1},
    }  # fmt: skip
    archive.set_meta("proposer_state", {"usage": {"m": ledger}})
    rows = dict(llm_rows(archive, {}))
    assert (rows["llm_m_tokens"], rows["llm_m_cost"], rows["llm_m_accepted"]) == (
        "150", "0.200000", "1"
    )  # fmt: skip
    assert rows["llm_m_requests"] == rows["llm_requests"] == "4"
    failed = "4 (invalid_json 2, a_reason 1, http_503 1)"
    assert rows["llm_m_failed"] == rows["llm_failed"] == failed
    assert rows["llm_failed_tokens"] == "7" and rows["llm_tokens"] == "150"


def test_a_run_without_an_llm_has_no_llm_rows() -> None:
    archive = MemoryArchive()
    add(archive, Status.SUCCEEDED)
    assert llm_rows(archive, {"proposer": {"kind": "mutate"}}) == []


def test_status_rows_show_which_proposers_and_operators_pay_off() -> None:
    archive = MemoryArchive()
    arms = {"mutate": {"tries": 12, "wins": 3, "gain": 0.156}, "llm": {"tries": 0, "wins": 0,
            "gain": 0.0}}  # fmt: skip
    archive.set_meta("proposer_state", {
        "llm": {"bandit": {"gpt": {"pulls": 4, "wins": 1, "cost": 0.1}}},  # over models
        "mutate": {"bandit": {"step": {"tries": 4, "wins": 1, "gain": 0.5}}},
        "mix_bandit": arms,
    })  # fmt: skip
    assert proposer_rows(archive) == [
        ("proposer_mutate", "12 tries, 0.25 mean reward, 0.013 mean gain")
    ]
    assert operator_rows(archive) == [
        ("operator_step", "4 tries, 0.25 mean reward, 0.125 mean gain")
    ]
    archive.set_meta("proposer_state", {"bandit": {"flip": {"tries": 2, "wins": 2, "gain": 1}}})
    assert proposer_rows(archive) == [] and [k for k, _ in operator_rows(archive)] == [
        "operator_flip"
    ]


def test_an_algorithm_search_reports_its_own_counts_and_shares() -> None:
    archive = MemoryArchive()
    counts = {"candidates": 1000, "evaluated": 400, "cache_hits": 250, "hurdle_stops": 100}
    archive.set_meta(
        "proposer_state",
        {"algorithms": counts, "elapsed_s": 4.0, "improvements": 3, "superseded": 1,
         "best_search_fitness": 0.91234567},
    )  # fmt: skip
    assert search_rows(archive) == [
        ("search_algorithms", "1,000 in 4s (250/s)"),
        ("search_evaluated", "400"),
        ("search_cache_hits", "250 (25%)"),
        ("search_hurdle_stops", "100 (10%)"),
        ("search_discarded", "0 (0%)"),
        ("search_improvements", "3 (1 superseded by a newer best before the loop could take them)"),
        ("search_best_fitness", "0.912346"),
        ("search_state", "running or interrupted"),
    ]


@pytest.mark.parametrize("state", [{}, {"algorithms": "not a table"}])
def test_a_run_without_an_algorithm_search_has_no_search_rows(state: dict[str, Any]) -> None:
    archive = MemoryArchive()
    archive.set_meta("proposer_state", state)
    assert search_rows(archive) == []
