"""What a chat server's response means: a 200 body read as a completion or refused with
what it lacks, an HTTP error status turned into an LLMError of the right kind, and the
key kept out of every message. The client's retries around them are in test_llm_client.py."""

from __future__ import annotations

import io
import json
import urllib.error
from email.message import Message
from typing import Any

import pytest

from evoforge.proposers.llm.responses import LLMError, http_error, parse_completion, scrub

SECRET = "sk-test-0123456789"


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def answer(content: object = "print(1)", **extra: Any) -> bytes:
    choice = {"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return body(choices=[choice], **extra)


def test_a_completion_gives_its_text_usage_and_finish_reason() -> None:
    raw = answer(usage={"prompt_tokens": 120, "completion_tokens": 30})
    assert parse_completion(raw, "gpt") == ("print(1)", (120, 30), "stop")


@pytest.mark.parametrize(
    "usage",
    [None, "12 tokens", {"prompt_tokens": 5}, {"prompt_tokens": "x", "completion_tokens": 1}],
)
def test_missing_or_malformed_usage_is_none(usage: object) -> None:
    extra = {} if usage is None else {"usage": usage}
    assert parse_completion(answer(**extra), "gpt")[1] is None


def test_an_empty_message_is_empty_text_and_a_missing_finish_reason_is_empty() -> None:
    raw = body(choices=[{"message": {"content": None}}])
    assert parse_completion(raw, "gpt") == ("", None, "")


def test_an_error_beside_choices_does_not_hide_the_answer() -> None:
    raw = answer(error={"message": "partial outage"})
    assert parse_completion(raw, "gpt")[0] == "print(1)"


@pytest.mark.parametrize(
    ("raw", "kind", "why"),
    [
        (b"<html>busy</html>", "invalid_json", "gpt: the answer is not valid JSON"),
        (b"\xff\xfe", "invalid_json", "gpt: the answer is not valid JSON"),
        (b"[1, 2]", "no_choices", "gpt: the answer is JSON but not an object (list)"),
        (body(choices=[]), "no_choices", "gpt: the answer has no choices"),
        (body(choices="many"), "no_choices", "gpt: the answer has no choices"),
        (body(choices=[{"text": "x"}]), "no_choices", "gpt: the answer's first choice has no"),
        (body(choices=["x"]), "no_choices", "gpt: the answer's first choice has no"),
        (body(error={"message": "quota"}), "error_object", "gpt: the answer is an error: quota"),
        (body(error="overloaded"), "error_object", "gpt: the answer is an error: overloaded"),
    ],
)
def test_a_200_body_that_is_no_completion_is_a_charged_retryable_error(
    raw: bytes, kind: str, why: str
) -> None:
    with pytest.raises(LLMError) as info:
        parse_completion(raw, "gpt")
    err = info.value
    assert str(err).startswith(why)
    assert (err.kind, err.status, err.retryable, err.charged) == (kind, 200, True, True)
    assert err.bytes_read == len(raw) and err.reason == kind


def test_a_refused_body_keeps_the_usage_it_reported_and_only_its_start() -> None:
    raw = body(error={"message": "x" * 1000}, usage={"prompt_tokens": 9, "completion_tokens": 0})
    with pytest.raises(LLMError) as info:
        parse_completion(raw, "gpt")
    assert info.value.usage == (9, 0)
    assert str(info.value).endswith(repr(raw[:200]))


def failure(
    status: int, text: str | bytes = "", *, retry_after: str | None = None
) -> urllib.error.HTTPError:
    headers = Message()
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    raw = text if isinstance(text, bytes) else text.encode()
    return urllib.error.HTTPError("http://x/v1", status, "error", headers, io.BytesIO(raw))


def error_of(
    exc: urllib.error.HTTPError, *, env: str = "OPENAI_API_KEY", cap: int = 4096
) -> LLMError:
    return http_error(exc, "gpt", api_key_env=env, secret=SECRET, cap=cap)


@pytest.mark.parametrize("status", [401, 403])
def test_an_auth_status_names_the_keys_variable_and_is_not_retried(status: int) -> None:
    err = error_of(failure(status, body(error={"message": "bad key"})))
    assert (
        str(err)
        == f"gpt: HTTP {status}: not authorized (check the key in $OPENAI_API_KEY): bad key"
    )
    assert (err.kind, err.status, err.retryable, err.reason) == (
        "auth",
        status,
        False,
        f"http_{status}",
    )
    assert "(check" not in str(error_of(failure(status), env=""))


@pytest.mark.parametrize(("header", "wait"), [("7", 7.0), ("0.5", 0.5), ("-3", 0.0),
                                               ("Wed, 21 Oct 2026 07:28:00 GMT", None), (None, None)])  # fmt: skip
def test_429_is_retryable_after_the_servers_wait(header: str | None, wait: float | None) -> None:
    err = error_of(failure(429, "slow down", retry_after=header))
    assert str(err) == "gpt: HTTP 429: rate limited: slow down"
    assert (err.kind, err.retryable, err.retry_after) == ("rate_limited", True, wait)


@pytest.mark.parametrize("status", [408, 500, 502, 503])
def test_server_errors_and_request_timeouts_are_retryable(status: int) -> None:
    err = error_of(failure(status, "  upstream died \n"))
    assert str(err) == f"gpt: HTTP {status}: upstream died"
    assert (err.kind, err.retryable, err.reason) == ("server", True, f"http_{status}")


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_other_client_errors_are_refused_requests_not_retried(status: int) -> None:
    err = error_of(failure(status, body(error={"message": "unknown model"})))
    assert str(err) == f"gpt: HTTP {status}: request refused: unknown model"
    assert (err.kind, err.retryable) == ("request", False)


def test_an_error_body_is_scrubbed_cut_and_its_usage_kept() -> None:
    text = body(
        message=f"key {SECRET} " + "y" * 500, usage={"prompt_tokens": 3, "completion_tokens": 4}
    )
    err = error_of(failure(500, text))
    assert SECRET not in str(err) and "key *** y" in str(err)
    assert len(str(err)) == len("gpt: HTTP 500: ") + 300
    assert err.usage == (3, 4)


def test_only_cap_bytes_of_an_error_body_are_read() -> None:
    err = error_of(failure(500, b"a" * 50 + b"b" * 50), cap=50)
    assert str(err) == "gpt: HTTP 500: " + "a" * 50


class Unreadable(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise OSError("connection reset")


def test_an_unreadable_error_body_leaves_the_status() -> None:
    exc = urllib.error.HTTPError("http://x/v1", 503, "error", Message(), Unreadable())
    err = error_of(exc)
    assert str(err) == "gpt: HTTP 503: " and err.kind == "server"


def test_the_reason_is_the_status_for_http_kinds_and_the_kind_otherwise() -> None:
    assert LLMError("x", kind="server", status=502).reason == "http_502"
    assert LLMError("x", kind="auth").reason == "auth"
    assert LLMError("x", kind="timeout", status=200).reason == "timeout"


def test_scrub_hides_the_secret_and_leaves_text_alone_without_one() -> None:
    assert scrub(f"Bearer {SECRET}!", SECRET) == "Bearer ***!"
    assert scrub("nothing secret", "") == "nothing secret"
