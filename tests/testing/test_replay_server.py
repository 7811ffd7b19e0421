"""The replay server behaves like a small OpenAI-compatible server, as scripted."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from evoforge.testing import RecordedRequest, ReplayServer, Reply


def post(url: str, body: dict[str, Any], key: str = "") -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url + "/chat/completions", json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def content(answer: dict[str, Any]) -> str:
    return str(answer["choices"][0]["message"]["content"])


def test_the_script_is_replayed_in_order_then_the_default() -> None:
    def echo(request: RecordedRequest) -> str:
        return f"{request.model}: {request.prompt}"

    with ReplayServer(["one", Reply("two", usage=(5, 6))], default=echo) as server:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        answers = [post(server.url, body)[1] for _ in range(3)]
    assert [content(a) for a in answers] == ["one", "two", "m: hi"]
    assert answers[1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
    assert len(server.requests) == 3 and server.requests[0].body == body


def test_an_exhausted_script_answers_500_and_a_key_is_checked() -> None:
    with ReplayServer(api_key="k") as server:
        assert post(server.url, {"messages": []})[0] == 401
        status, answer = post(server.url, {"messages": []}, key="k")
    assert status == 500 and "exhausted" in answer["error"]["message"]


def test_status_headers_and_raw_bodies_are_sent_as_scripted() -> None:
    with ReplayServer(
        [Reply(status=429, headers={"Retry-After": "3"}), Reply(raw='{"x": 1}')]
    ) as server:
        assert post(server.url, {})[0] == 429
        assert post(server.url, {}) == (200, {"x": 1})


def test_models_are_listed() -> None:
    with ReplayServer(models=["a", "b"]) as server:
        resp = urllib.request.urlopen(server.url + "/models", timeout=5)
        with resp:
            listed = [m["id"] for m in json.loads(resp.read())["data"]]
    assert listed == ["a", "b"]


def test_closing_does_not_wait_for_delayed_answers() -> None:
    server = ReplayServer([Reply("late", delay=30.0)]).start()
    url = server.url
    started = time.monotonic()
    with pytest.raises(OSError):
        urllib.request.urlopen(
            urllib.request.Request(url + "/chat/completions", b"{}"), timeout=0.2
        )
    server.close()
    assert time.monotonic() - started < 2.0


def test_error_objects_slow_bodies_and_what_was_served_are_as_scripted() -> None:
    script = [Reply(error="overloaded"), Reply("drip", trickle=0.02), Reply(status=503)]
    with ReplayServer(script) as server:
        assert post(server.url, {}) == (
            200,
            {"error": {"message": "overloaded", "type": "server_error", "code": "server_error"}},
        )
        started = time.monotonic()
        status, answer = post(server.url, {})
        assert (status, content(answer)) == (200, "drip")
        assert time.monotonic() - started > 0.02 * 5  # many pieces, each after a pause
        assert post(server.url, {})[0] == 503
    assert server.served == [200, 200, 503] and len(server.requests) == 3


def test_an_answer_still_delayed_at_close_is_not_counted_as_served() -> None:
    server = ReplayServer([Reply("late", delay=30.0)]).start()
    with pytest.raises(OSError):
        urllib.request.urlopen(
            urllib.request.Request(server.url + "/chat/completions", b"{}"), timeout=0.2
        )
    server.close()
    assert len(server.requests) == 1 and server.served == []
