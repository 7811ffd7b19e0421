"""A client for the OpenAI-compatible chat completions API, with retries.

Standard library only (``urllib``), so evoforge needs no HTTP dependency. The API
key is read from the environment variable an :class:`Endpoint` *names*, at the
moment of each request, and lives only in that request's headers: it is never an
attribute, never in an error message (server text that echoes it is scrubbed),
never in a record.

Retried with exponential backoff and jitter: 429, 5xx, timeouts, refused or reset
connections and malformed answers. Not retried, since asking again cannot help:
401/403 (the key), and other 4xx (the request itself). Honours ``Retry-After``.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one model; holds the key's variable *name*, never the key."""

    key: str
    """The name records use for this model."""
    model: str
    base_url: str
    api_key_env: str = ""
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    extra_body: Mapping[str, Any] = field(default_factory=dict)

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.price_in_per_mtok + tokens_out * self.price_out_per_mtok) / 1e6


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int
    tokens_out: int
    usage_reported: bool
    """False when the server sent no usage and the counts are estimates (4 chars a token)."""
    seconds: float
    attempts: int
    finish_reason: str = ""


class LLMError(RuntimeError):
    """A request failed. ``kind``: timeout, connection, rate_limited, server, auth,
    request, bad_response."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = attempts


Message = Mapping[str, str]


class ChatClient:
    """Sends chat completion requests; ``complete`` retries, ``request`` tries once.

    ``env`` replaces ``os.environ`` as the source of keys (tests); ``sleep`` is
    injectable so tests need not wait for backoff.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 120.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.env = env

    def complete(
        self,
        endpoint: Endpoint,
        messages: Sequence[Message],
        *,
        temperature: float,
        max_tokens: int,
        rng: random.Random,
    ) -> Completion:
        """The model's answer, or LLMError after the retries (``attempts`` says how many)."""
        body: dict[str, Any] = {
            "model": endpoint.model,
            "messages": [dict(m) for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
            **endpoint.extra_body,
        }
        if "max_completion_tokens" in endpoint.extra_body:
            del body["max_tokens"]  # reasoning models refuse to see both
        started = time.monotonic()
        for attempt in range(1, self.retries + 2):
            try:
                text, usage, finish = self.request(endpoint, body)
            except LLMError as exc:
                exc.attempts = attempt
                if not exc.retryable or attempt > self.retries:
                    raise
                self.sleep(self.backoff(attempt, exc.retry_after, rng))
                continue
            reported = usage is not None
            tokens_in, tokens_out = usage or (_estimate(messages), max(1, len(text) // 4))
            return Completion(
                text=text,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                usage_reported=reported,
                seconds=time.monotonic() - started,
                attempts=attempt,
                finish_reason=finish,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before try ``attempt + 1``: exponential, half of it jittered, capped."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0 ** (attempt - 1))
        delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff_s))
        return delay

    def request(
        self, endpoint: Endpoint, body: Mapping[str, Any]
    ) -> tuple[str, tuple[int, int] | None, str]:
        """One POST: (text, (prompt_tokens, completion_tokens) or None, finish_reason)."""
        url = endpoint.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        secret = ""
        if endpoint.api_key_env:
            secret = (self.env if self.env is not None else os.environ).get(
                endpoint.api_key_env, ""
            )
            if not secret:
                raise LLMError(
                    f"environment variable {endpoint.api_key_env} (api_key_env of "
                    f"{endpoint.key}) is not set",
                    kind="auth",
                )
            headers["Authorization"] = f"Bearer {secret}"
        req = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with _opener(url).open(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, endpoint, secret) from None
        except TimeoutError as exc:
            raise LLMError(
                f"{endpoint.key}: no answer within {self.timeout_s:g} s",
                kind="timeout",
                retryable=True,
            ) from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            kind = "timeout" if isinstance(reason, TimeoutError) else "connection"
            raise LLMError(
                f"{endpoint.key}: cannot reach {url}: {_scrub(str(reason), secret)}",
                kind=kind,
                retryable=True,
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise LLMError(
                f"{endpoint.key}: connection to {url} failed: {_scrub(str(exc), secret)}",
                kind="connection",
                retryable=True,
            ) from None
        return _parse(raw, endpoint)


def _opener(url: str) -> urllib.request.OpenerDirector:
    # A proxy set in the environment must not intercept a server on this machine.
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _http_error(exc: urllib.error.HTTPError, endpoint: Endpoint, secret: str) -> LLMError:
    status = exc.code
    try:
        detail = exc.read().decode("utf-8", "replace")
    except OSError:
        detail = ""
    finally:
        exc.close()
    detail = _scrub(_error_text(detail), secret)[:300]
    where = f"{endpoint.key}: HTTP {status}"
    if status in (401, 403):
        hint = f" (check the key in ${endpoint.api_key_env})" if endpoint.api_key_env else ""
        return LLMError(f"{where}: not authorized{hint}: {detail}", kind="auth", status=status)
    if status == 429:
        return LLMError(
            f"{where}: rate limited: {detail}",
            kind="rate_limited",
            status=status,
            retryable=True,
            retry_after=_retry_after(exc.headers.get("Retry-After")),
        )
    if status >= 500 or status == 408:
        return LLMError(f"{where}: {detail}", kind="server", status=status, retryable=True)
    return LLMError(f"{where}: request refused: {detail}", kind="request", status=status)


def _parse(raw: bytes, endpoint: Endpoint) -> tuple[str, tuple[int, int] | None, str]:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        finish = str(choice.get("finish_reason") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise LLMError(
            f"{endpoint.key}: not a chat completion: {raw[:200]!r}",
            kind="bad_response",
            retryable=True,
        ) from None
    usage = data.get("usage") if isinstance(data, dict) else None
    counts: tuple[int, int] | None = None
    if isinstance(usage, dict):
        try:
            counts = (int(usage["prompt_tokens"]), int(usage["completion_tokens"]))
        except (KeyError, TypeError, ValueError):
            counts = None
    return str(text), counts, finish


def _error_text(body: str) -> str:
    try:
        data = json.loads(body)
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message", err) if isinstance(err, dict) else err
        return str(msg)
    except ValueError:
        return body.strip()


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare from these servers; the backoff applies


def _estimate(messages: Sequence[Message]) -> int:
    return max(1, sum(len(m.get("content", "")) for m in messages) // 4)
