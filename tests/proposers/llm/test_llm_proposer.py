"""The LLM proposer against scripted answers: children, rejections with reasons, resilience,
budgets, and state that survives a resume."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from llm_support import (
    A_LINE,
    GOOD,
    KEY,
    FakeClock,
    diff,
    feedback,
    free_port,
    model,
    parent,
    proposer,
    rng,
    section,
)

from evoforge.archive import MemoryArchive
from evoforge.candidate import Status
from evoforge.proposers._base import Proposal, ProposalError, ProposerBusy, ProposerExhausted
from evoforge.summary import llm_rows
from evoforge.testing import ReplayServer, Reply


def propose_one(server: ReplayServer, **settings: object) -> Proposal:
    p = proposer(section(model(server.url), **settings))
    return p.propose([parent()], feedback(), rng())


def rejection(answer: Reply | str, **settings: object) -> ProposalError:
    with ReplayServer([answer]) as server, pytest.raises(ProposalError) as info:
        propose_one(server, **settings)
    assert info.value.meta["response"] == (answer if isinstance(answer, str) else answer.content)
    assert info.value.meta["rejected"] == str(info.value)
    assert info.value.meta["tokens_in"] > 0 and "prompt" in info.value.meta
    return info.value


def test_a_correct_diff_becomes_a_child_with_its_record() -> None:
    with ReplayServer([Reply(GOOD, usage=(1000, 200))]) as server:
        config = section(model(server.url, price_in_per_mtok=2.0, price_out_per_mtok=10.0))
        p = proposer(config)
        out = p.propose([parent()], feedback(), rng())
    assert out.operator == "diff"
    assert "A = 1.5" in out.files["program.py"]
    assert out.note == "replay-a: Move A towards the data."
    meta = out.meta
    assert meta["model"] == "replay-a" and (meta["tokens_in"], meta["tokens_out"]) == (1000, 200)
    assert meta["cost"] == pytest.approx(0.004)
    assert meta["response"] == GOOD and "A = 0.5" in meta["prompt"]
    assert p.ledger.tokens == 1200


def test_a_search_that_does_not_match_is_rejected_with_the_raw_answer() -> None:
    exc = rejection(diff("A = 7.0\n", "A = 1.0\n"))
    assert "SEARCH text not found in the evolve blocks" in str(exc)


def test_an_edit_outside_the_blocks_is_rejected() -> None:
    exc = rejection(diff("import json\n", "import os\n"))
    assert str(exc).startswith("edit touches code outside the evolve blocks")


def test_prose_with_no_code_is_rejected() -> None:
    assert "no code in the answer" in str(rejection("Try a larger A; it should fit better."))


def test_a_syntax_error_is_rejected() -> None:
    exc = rejection(diff(A_LINE, "A = (1.5\n"))
    assert "does not parse" in str(exc)


def test_an_empty_answer_is_rejected() -> None:
    assert str(rejection(Reply(""))) == "empty answer"


def test_a_truncated_answer_says_so() -> None:
    exc = rejection(Reply("<<<<<<< SEARCH\nA = 0.5", finish_reason="length"))
    assert "cut off at max_output_tokens" in str(exc)


def test_a_full_rewrite_of_the_block_becomes_a_child() -> None:
    answer = "Fit all three.\n\nprogram.py block 1\n```python\nA = 1.5\nB = -2.0\nC = 0.75\n```\n"
    with ReplayServer([answer]) as server:
        out = propose_one(server, edit_format="rewrite")
        asked = server.requests[0].prompt
    assert out.operator == "rewrite" and "B = -2.0\nC = 0.75\n" in out.files["program.py"]
    assert "program.py block 1" in asked and "SEARCH" not in asked


def test_429_then_success_gives_a_child() -> None:
    with ReplayServer([Reply(status=429), GOOD]) as server:
        out = propose_one(server)
    assert out.operator == "diff" and out.meta["attempts"] == 2


def test_a_slow_model_is_set_aside_and_the_mutator_proposes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = ReplayServer([Reply(GOOD, delay=2.0), Reply(GOOD, delay=2.0)])
    with slow as server, caplog.at_level(logging.WARNING, logger="evoforge.llm"):
        out = propose_one(server)
    assert out.operator.startswith("fallback-")
    assert "no answer within 0.3 s" in out.meta["fallback"]
    assert "model" not in out.meta and out.files != {"program.py": parent().files["program.py"]}
    assert "set aside" in caplog.text and "built-in mutator" in caplog.text


def test_server_errors_fall_back_and_the_llm_returns_when_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    with ReplayServer([Reply(status=500), Reply(status=503), GOOD]) as server:
        p = proposer(section(model(server.url), cooldown_seconds=60.0), clock)
        with caplog.at_level(logging.WARNING, logger="evoforge.llm"):
            first = p.propose([parent()], feedback(), rng())
            second = p.propose([parent()], feedback(), rng())
            assert len(server.requests) == 2  # set aside: not asked during its cool-down
            clock.now += 60.0
            third = p.propose([parent()], feedback(), rng())
    assert first.operator.startswith("fallback-") and "HTTP 503" in first.meta["fallback"]
    assert second.operator.startswith("fallback-")
    assert third.operator == "diff" and "answers again" in caplog.text


def test_a_young_outage_asks_the_loop_to_wait_for_the_model_instead_of_falling_back() -> None:
    clock = FakeClock()
    with ReplayServer([Reply(status=500), Reply(status=500), GOOD]) as server:
        config = section(model(server.url), cooldown_seconds=5.0, fallback_after_seconds=60.0)
        p = proposer(config, clock)
        with pytest.raises(ProposerBusy) as busy:
            p.propose([parent()], feedback(), rng())
        assert busy.value.retry_after == pytest.approx(5.0, abs=0.1)
        assert not [s for s in clock.slept if s >= 1.0]  # no long sleep inside propose
        clock.now += 5.0
        assert p.propose([parent()], feedback(), rng()).operator == "diff"


def test_a_refused_connection_sets_the_model_aside_and_others_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with ReplayServer([GOOD, GOOD]) as server:
        config = section(
            model(dead, "dead", weight=1000.0), model(server.url, "alive", weight=0.001)
        )
        p = proposer(config)
        with caplog.at_level(logging.WARNING, logger="evoforge.llm"):
            first = p.propose([parent()], feedback(), rng())
            second = p.propose([parent()], feedback(), rng())
    assert first.meta["model"] == second.meta["model"] == "alive"
    assert caplog.text.count("LLM dead failed") == 1 and "Connection refused" in caplog.text


def test_a_bad_key_falls_back_and_the_key_appears_nowhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ReplayServer([GOOD], api_key="the-real-key") as server:
        p = proposer(section(model(server.url)))
        with caplog.at_level(logging.DEBUG):
            out = p.propose([parent()], feedback(), rng())
    assert out.operator.startswith("fallback-") and "HTTP 401" in out.meta["fallback"]
    assert "REPLAY_KEY" in out.meta["fallback"]
    seen = json.dumps([dict(out.meta), out.note, dict(p.state())]) + caplog.text + repr(vars(p))
    assert KEY not in seen


def test_the_token_budget_ends_the_run() -> None:
    with ReplayServer([Reply(GOOD, usage=(80, 40))]) as server:
        p = proposer(section(model(server.url), max_tokens=100))
        p.propose([parent()], feedback(), rng())
        with pytest.raises(ProposerExhausted, match=r"token budget spent \(120 of 100"):
            p.propose([parent()], feedback(), rng())
    assert len(server.requests) == 1


def test_the_cost_budget_can_fall_back_instead() -> None:
    with ReplayServer([Reply(GOOD, usage=(1_000_000, 0))]) as server:
        priced = model(server.url, price_in_per_mtok=1.0)
        p = proposer(section(priced, max_cost=0.5, on_budget="fallback"))
        p.propose([parent()], feedback(), rng())
        out = p.propose([parent()], feedback(), rng())
    assert out.operator.startswith("fallback-") and "cost budget spent" in out.meta["fallback"]
    assert len(server.requests) == 1


def test_rejected_answers_count_against_the_budget() -> None:
    with ReplayServer([Reply("just prose", usage=(90, 20))]) as server:
        p = proposer(section(model(server.url), max_tokens=100))
        with pytest.raises(ProposalError):
            p.propose([parent()], feedback(), rng())
        with pytest.raises(ProposerExhausted):
            p.propose([parent()], feedback(), rng())


def test_learned_state_and_spending_survive_a_resume() -> None:
    with ReplayServer([Reply(GOOD, usage=(60, 50))]) as server:
        config = section(model(server.url), max_tokens=100)
        p = proposer(config)
        out = p.propose([parent()], feedback(), rng())
        child = replace(parent(cid=3, score=-1.0).candidate, extra={"model": out.meta["model"]})
        p.tell(child, [parent().candidate], feedback())
        saved = json.loads(json.dumps(p.state()))
        resumed = proposer(config)
        resumed.load_state(saved)
    assert resumed.state() == saved
    assert saved["bandit"]["replay-a"] == {"pulls": 1, "wins": 1, "cost": 110.0}
    with pytest.raises(ProposerExhausted):
        resumed.propose([parent()], feedback(), rng())


def test_only_children_that_beat_their_parent_reward_the_model() -> None:
    with ReplayServer([]) as server:
        p = proposer(section(model(server.url)))
    worse = replace(parent(cid=4, score=-9.0).candidate, extra={"model": "replay-a"})
    failed = replace(worse, status=Status.FAILED, metrics={})
    fallback = replace(parent(cid=5, score=0.0).candidate, extra={"fallback": "budget"})
    for child in (worse, failed, fallback):
        p.tell(child, [parent().candidate], feedback())
    assert p.state()["bandit"]["replay-a"]["wins"] == 0


def test_the_prompt_shows_search_metrics_and_never_held_out_ones() -> None:
    with ReplayServer([GOOD]) as server:
        propose_one(server)
        asked = server.requests[0].prompt
    assert "neg_mse = -3" in asked
    assert "heldout_neg_mse" not in asked and "123.456" not in asked


# -- failed tries: recorded by reason, counted, charged, shown --------------------------

NO_CHOICES = '{"object": "chat.completion", "usage": {"prompt_tokens": 60, "completion_tokens": 0}}'


def bad_then_good() -> list[Reply | str]:
    return [
        Reply(raw="<html>502 bad gateway</html>"),
        Reply(error="the model is overloaded"),
        Reply(raw=NO_CHOICES),
        Reply(status=503),
        Reply(GOOD, usage=(100, 20)),
    ]


def test_every_request_the_server_served_is_in_the_ledger_with_failures_by_reason() -> None:
    with ReplayServer(bad_then_good()) as server:
        p = proposer(section(model(server.url), retries=5))
        out = p.propose([parent()], feedback(), rng())
    spent = p.ledger.spent["replay-a"]
    assert out.operator == "diff" and out.meta["attempts"] == 5
    assert out.meta["failed_tries"] == ["invalid_json", "error_object", "no_choices", "http_503"]
    assert spent.requests == len(server.requests) == len(server.served) == 5
    assert spent.failed == {"invalid_json": 1, "error_object": 1, "no_choices": 1, "http_503": 1}
    # The three 200 answers may have been billed: the one with usage counts its 60
    # tokens, the others an estimate; the 503 counts nothing.
    assert spent.failed_tokens > 60 and spent.tokens == 120 + spent.failed_tokens


def test_failed_tries_count_against_the_token_budget_and_stop_the_retries() -> None:
    with ReplayServer([Reply(raw=NO_CHOICES)] * 6) as server:
        p = proposer(section(model(server.url), retries=5, max_tokens=100))
        with pytest.raises(ProposerExhausted, match=r"token budget spent \(120 of 100"):
            p.propose([parent()], feedback(), rng())
    assert len(server.requests) == 2 and p.ledger.spent["replay-a"].failed == {"no_choices": 2}


def test_an_answer_longer_than_max_answer_kb_is_a_failed_try() -> None:
    with ReplayServer([Reply("x" * 5000), Reply("y" * 5000)]) as server:
        p = proposer(section(model(server.url), max_answer_kb=1))
        out = p.propose([parent()], feedback(), rng())
    assert out.operator.startswith("fallback-")
    assert "longer than 1 KB (max_answer_kb)" in out.meta["fallback"]
    assert p.ledger.spent["replay-a"].failed == {"too_large": 2}


def test_an_answer_with_crlf_line_ends_becomes_a_child() -> None:
    with ReplayServer([GOOD.replace("\n", "\r\n")]) as server:
        out = propose_one(server)
    assert out.operator == "diff" and "A = 1.5" in out.files["program.py"]


def test_failures_survive_a_resume_and_show_in_progress() -> None:
    with ReplayServer(bad_then_good()) as server:
        config = section(model(server.url), retries=5)
        p = proposer(config)
        assert p.progress() == ""
        p.propose([parent()], feedback(), rng())
    saved = json.loads(json.dumps(p.state()))
    resumed = proposer(config)
    resumed.load_state(saved)
    assert resumed.state() == saved and resumed.ledger.failures() == p.ledger.failures()
    assert resumed.progress() == (
        "LLM requests 5, failed 4 (error_object 1, http_503 1, invalid_json 1, no_choices 1)"
    )


@pytest.mark.parametrize("nested", [False, True], ids=["llm", "mix member"])
def test_status_shows_requests_and_failed_tries_by_reason(nested: bool) -> None:
    with ReplayServer(bad_then_good()) as server:
        p = proposer(section(model(server.url), retries=5, max_tokens=10_000))
        p.propose([parent()], feedback(), rng())
    archive = MemoryArchive()
    state = dict(p.state())
    archive.set_meta("proposer_state", {"llm": state} if nested else state)
    config = {"proposer": {"llm": {"models": [{"name": "replay-a"}], "max_tokens": 10_000}}}
    rows = dict(llm_rows(archive, config))
    assert rows["llm_replay-a_requests"] == rows["llm_requests"] == "5"
    failed = "4 (error_object 1, http_503 1, invalid_json 1, no_choices 1)"
    assert rows["llm_replay-a_failed"] == rows["llm_failed"] == failed
    assert rows["llm_tokens"] == f"{p.ledger.tokens}/10000"  # what the budget counts
    assert rows["llm_failed_tokens"] == str(p.ledger.spent["replay-a"].failed_tokens)
