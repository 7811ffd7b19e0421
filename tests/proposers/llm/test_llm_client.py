"""The chat client against the replay server: retries what can succeed, and only that."""

from __future__ import annotations

import random
import socket
import time
from typing import Any

import pytest

from evoforge.proposers.llm.client import Attempt, ChatClient, Completion, Endpoint, LLMError
from evoforge.testing import ReplayServer, Reply

KEY = "sk-test-0123456789-secret"
HELLO = [{"role": "user", "content": "hello"}]


def endpoint(url: str, **kw: Any) -> Endpoint:
    return Endpoint(key="m1", model="model-one", base_url=url, api_key_env="TEST_KEY", **kw)


def client(**kw: Any) -> tuple[ChatClient, list[float]]:
    slept: list[float] = []
    settings: dict[str, Any] = {"timeout_s": 0.5, "retries": 2, "backoff_s": 0.01}
    settings.update(kw)
    return ChatClient(**settings, sleep=slept.append, env={"TEST_KEY": KEY}), slept


def ask(c: ChatClient, ep: Endpoint) -> Completion:
    return c.complete(ep, HELLO, temperature=0.3, max_tokens=50, rng=random.Random(0))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_answer_carries_text_usage_and_the_request_is_well_formed() -> None:
    with ReplayServer([Reply("hi there", usage=(11, 3))], api_key=KEY) as server:
        c, _ = client()
        out = ask(c, endpoint(server.url, extra_body={"top_p": 0.5}))
    assert out.text == "hi there" and (out.tokens_in, out.tokens_out) == (11, 3)
    assert out.usage_reported and out.attempts == 1
    body = server.requests[0].body
    assert body["model"] == "model-one" and body["messages"] == HELLO
    assert body["temperature"] == 0.3 and body["max_tokens"] == 50 and body["top_p"] == 0.5
    assert server.requests[0].authorization == f"Bearer {KEY}"


def test_the_key_is_read_when_the_request_is_made() -> None:
    env: dict[str, str] = {}
    c = ChatClient(retries=0, env=env)
    with ReplayServer(["ok"], api_key=KEY) as server:
        with pytest.raises(LLMError, match=r"TEST_KEY.*not set") as info:
            ask(c, endpoint(server.url))
        assert info.value.kind == "auth" and server.requests == []
        env["TEST_KEY"] = KEY
        assert ask(c, endpoint(server.url)).text == "ok"


def test_429_then_success_is_retried_after_retry_after() -> None:
    script: list[Reply | str] = [Reply(status=429, headers={"Retry-After": "0.2"}), "fine"]
    with ReplayServer(script) as server:
        c, slept = client()
        out = ask(c, endpoint(server.url))
    assert out.text == "fine" and out.attempts == 2
    assert len(server.requests) == 2
    assert slept and slept[0] >= 0.2


def test_server_errors_are_retried_then_reported() -> None:
    with ReplayServer([Reply(status=500), Reply(status=502), Reply(status=503)]) as server:
        c, slept = client(retries=2)
        with pytest.raises(LLMError) as info:
            ask(c, endpoint(server.url))
    assert info.value.kind == "server" and info.value.status == 503
    assert info.value.attempts == 3 and len(server.requests) == 3 and len(slept) == 2


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    c = ChatClient(backoff_s=1.0, max_backoff_s=5.0)
    rng = random.Random(1)
    delays = [c.backoff(a, None, rng) for a in (1, 2, 3, 4, 5, 6)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[2] <= 4.0
    assert all(2.5 <= d <= 5.0 for d in delays[3:])
    assert len({round(d, 6) for d in delays[3:]}) == 3  # jittered, not a constant


def test_a_slow_answer_times_out_without_waiting_for_it() -> None:
    with ReplayServer([Reply("late", delay=3.0)]) as server:
        c, _ = client(timeout_s=0.2, retries=0)
        started = time.monotonic()
        with pytest.raises(LLMError) as info:
            ask(c, endpoint(server.url))
        assert time.monotonic() - started < 1.5
    assert info.value.kind == "timeout" and info.value.retryable


def test_a_refused_connection_is_reported_quickly() -> None:
    c, slept = client(retries=1)
    with pytest.raises(LLMError) as info:
        ask(c, endpoint(f"http://127.0.0.1:{free_port()}/v1"))
    assert info.value.kind == "connection" and info.value.attempts == 2 and len(slept) == 1


def test_a_bad_key_is_not_retried_and_never_echoed() -> None:
    with ReplayServer(["never"], api_key="the-right-key") as server:
        c, slept = client(retries=3)
        with pytest.raises(LLMError) as info:
            ask(c, endpoint(server.url))
    assert info.value.kind == "auth" and info.value.status == 401
    assert len(server.requests) == 1 and slept == []
    assert "TEST_KEY" in str(info.value) and KEY not in str(info.value)


def test_server_text_echoing_the_key_is_scrubbed() -> None:
    with ReplayServer(
        [Reply(status=400, raw='{"error": {"message": "bad key ' + KEY + '"}}')]
    ) as server:
        c, _ = client(retries=0)
        with pytest.raises(LLMError) as info:
            ask(c, endpoint(server.url))
    assert info.value.kind == "request" and KEY not in str(info.value) and "***" in str(info.value)


def test_a_body_that_is_not_a_completion_is_retried() -> None:
    with ReplayServer([Reply(raw="<html>proxy error</html>"), "good"]) as server:
        c, _ = client()
        assert ask(c, endpoint(server.url)).text == "good"


def test_missing_usage_is_estimated_and_marked() -> None:
    raw = '{"choices": [{"message": {"role": "assistant", "content": "abcdefgh"}}]}'
    with ReplayServer([Reply(raw=raw)]) as server:
        c, _ = client()
        out = ask(c, endpoint(server.url))
    assert not out.usage_reported and out.tokens_out == 2


def test_reasoning_models_get_max_completion_tokens_only() -> None:
    with ReplayServer(["ok"]) as server:
        c, _ = client()
        ask(c, endpoint(server.url, extra_body={"max_completion_tokens": 99}))
    body = server.requests[0].body
    assert body["max_completion_tokens"] == 99 and "max_tokens" not in body


# -- every try is recorded with its reason and what it may have cost -------------------


def ask_recording(
    c: ChatClient, ep: Endpoint, go_on: bool = True
) -> tuple[Completion | LLMError, list[Attempt]]:
    tries: list[Attempt] = []

    def record(attempt: Attempt) -> bool:
        tries.append(attempt)
        return go_on

    try:
        out: Completion | LLMError = c.complete(
            ep, HELLO, temperature=0.3, max_tokens=50, rng=random.Random(0), record=record
        )
    except LLMError as exc:
        out = exc
    return out, tries


def test_a_200_body_that_is_not_json_is_recorded_as_invalid_json_and_charged() -> None:
    with ReplayServer([Reply(raw="<html>bad gateway</html>"), Reply("fine", usage=(7, 2))]) as s:
        out, tries = ask_recording(client()[0], endpoint(s.url, price_in_per_mtok=1e6))
    assert isinstance(out, Completion) and out.failures == ("invalid_json",)
    bad, good = tries
    assert (bad.reason, bad.number, bad.sent, bad.charged) == ("invalid_json", 1, True, True)
    assert "not valid JSON" in bad.detail and "bad gateway" in bad.detail
    assert bad.tokens_in == 1 and not bad.usage_reported and bad.cost == pytest.approx(1.0)
    assert good.ok and (good.tokens_in, good.tokens_out, good.number) == (7, 2, 2)


def test_an_answer_without_choices_is_recorded_as_no_choices_with_its_usage() -> None:
    raw = '{"id": "x", "usage": {"prompt_tokens": 30, "completion_tokens": 0}}'
    with ReplayServer([Reply(raw=raw)]) as s:
        out, tries = ask_recording(client(retries=0)[0], endpoint(s.url))
    assert isinstance(out, LLMError) and out.kind == "no_choices"
    assert "the answer has no choices" in str(out)
    assert (tries[0].reason, tries[0].tokens_in, tries[0].usage_reported) == (
        "no_choices",
        30,
        True,
    )


def test_an_error_object_in_a_200_answer_is_recorded_as_error_object() -> None:
    with ReplayServer([Reply(error="upstream overloaded")]) as s:
        out, tries = ask_recording(client(retries=0)[0], endpoint(s.url))
    assert isinstance(out, LLMError) and out.retryable
    assert tries[0].reason == "error_object" and tries[0].charged
    assert "the answer is an error: upstream overloaded" in tries[0].detail


def test_a_timed_out_request_counts_as_charged_up_to_max_tokens() -> None:
    with ReplayServer([Reply("late", delay=3.0)]) as s:
        out, tries = ask_recording(client(timeout_s=0.2, retries=0)[0], endpoint(s.url))
    assert isinstance(out, LLMError) and out.kind == "timeout"
    assert (tries[0].reason, tries[0].sent, tries[0].charged) == ("timeout", True, True)
    assert tries[0].tokens_out == 50 and not tries[0].usage_reported


def test_a_server_error_is_recorded_by_status_and_not_charged() -> None:
    with ReplayServer([Reply(status=503), "ok"]) as s:
        _, tries = ask_recording(client()[0], endpoint(s.url))
    assert (tries[0].reason, tries[0].charged, tries[0].tokens_in) == ("http_503", False, 0)


def test_a_refused_connection_is_recorded_as_never_sent() -> None:
    out, tries = ask_recording(client(retries=1)[0], endpoint(f"http://127.0.0.1:{free_port()}/v1"))
    assert isinstance(out, LLMError) and [t.reason for t in tries] == ["connection"] * 2
    assert not any(t.sent or t.charged or t.tokens_in for t in tries)


def test_record_returning_false_stops_the_retries() -> None:
    with ReplayServer([Reply(raw="nope"), "ok"]) as s:
        out, tries = ask_recording(client(retries=3)[0], endpoint(s.url), go_on=False)
    assert isinstance(out, LLMError) and out.attempts == 1
    assert len(tries) == 1 and len(s.requests) == 1


def test_an_answer_longer_than_the_cap_is_not_read_further() -> None:
    huge = "x" * 4_000_000
    with ReplayServer([Reply(huge)]) as s:
        c = ChatClient(retries=0, max_answer_bytes=64 * 1024, env={"TEST_KEY": KEY})
        started = time.monotonic()
        out, tries = ask_recording(c, endpoint(s.url))
        assert time.monotonic() - started < 2.0
    assert isinstance(out, LLMError) and out.kind == "too_large"
    assert "longer than 64 KB (max_answer_kb)" in str(out)
    assert tries[0].reason == "too_large" and tries[0].charged
    assert 64 * 1024 < tries[0].bytes_read <= 2 * 64 * 1024
    assert tries[0].tokens_out == 50  # at most max_tokens were generated


def test_an_answer_sent_a_little_at_a_time_times_out_at_the_deadline() -> None:
    with ReplayServer([Reply("slow " * 40, trickle=0.05)]) as s:
        c, _ = client(timeout_s=0.3, retries=0)
        started = time.monotonic()
        out, tries = ask_recording(c, endpoint(s.url))
        assert time.monotonic() - started < 1.0
    assert isinstance(out, LLMError) and out.kind == "timeout"
    assert tries[0].reason == "timeout" and tries[0].bytes_read > 0
