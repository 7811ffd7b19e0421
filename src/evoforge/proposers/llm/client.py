"""A client for the OpenAI-compatible chat completions API, with retries.

Standard library only (``urllib``), so evoforge needs no HTTP dependency. The API
key is read from the environment variable an :class:`Endpoint` *names*, at the
moment of each request, and lives only in that request's headers: it is never an
attribute, never in an error message (server text that echoes it is scrubbed),
never in a record.

Retried with exponential backoff and jitter: 429, 5xx, timeouts, refused or reset
connections and answers that are no chat completion (not JSON, no ``choices``, an
error object, longer than ``max_answer_bytes``). Not retried, since asking again
cannot help: 401/403 (the key), and other 4xx (the request itself). Honours
``Retry-After``.

Every try, answered or failed, becomes one :class:`Attempt` handed to the caller's
``record`` (the proposer's ledger): why it failed, whether the server may have
billed it, and its tokens (the server's count where it gave one, else an estimate).
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

from evoforge.proposers.llm.responses import LLMError, http_error, parse_completion, scrub

__all__ = ["Attempt", "ChatClient", "Completion", "Endpoint", "LLMError", "Record"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_CHUNK = 64 * 1024


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
    failures: tuple[str, ...] = ()
    """The reasons of the tries that failed before this answer (see :attr:`Attempt.reason`)."""


@dataclass(frozen=True)
class Attempt:
    """One try of a request and what came of it."""

    model: str
    """The endpoint's key."""
    number: int
    """1 for the first try of a ``complete`` call, 2 for its first retry..."""
    reason: str
    """"" for an answer; else why it failed: ``http_<status>``, ``timeout``,
    ``connection``, ``invalid_json``, ``no_choices``, ``error_object``, ``too_large``,
    or ``auth`` (the key's variable is unset)."""
    detail: str
    """The failure's message ("" for an answer)."""
    sent: bool
    """The server received the request (False: refused, unreachable, never sent)."""
    charged: bool
    """The server may have billed it: it answered 200, reported usage, or took the
    request and did not answer in time. Only then are the tokens below non-zero."""
    tokens_in: int
    tokens_out: int
    usage_reported: bool
    """The tokens are the server's count; otherwise an estimate (4 characters a token;
    a timed-out request counts the whole ``max_tokens``, the most it may have billed)."""
    cost: float
    seconds: float
    bytes_read: int
    """Bytes of the failed body read (at most ``max_answer_bytes`` and one chunk more);
    for an answer, of its content."""

    @property
    def ok(self) -> bool:
        return not self.reason


Record = Callable[[Attempt], bool]
"""Receives every try as it ends; returns False to allow no retry (e.g. the budget is spent)."""

Message = Mapping[str, str]


class ChatClient:
    """Sends chat completion requests; ``complete`` retries, ``request`` tries once.

    ``timeout_s`` bounds each request as a whole (a server that sends its answer a
    few bytes at a time times out too); an answer longer than ``max_answer_bytes``
    is not read further. ``env`` replaces ``os.environ`` as the source of keys
    (tests); ``sleep`` is injectable so tests need not wait for backoff.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 120.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        max_answer_bytes: int = 1024 * 1024,
        sleep: Callable[[float], None] = time.sleep,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_answer_bytes = max_answer_bytes
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
        record: Record | None = None,
    ) -> Completion:
        """The model's answer, or LLMError after the retries (``attempts`` says how many).

        Every try is passed to ``record`` as it ends; when that returns False after a
        failure, no retry follows."""
        body: dict[str, Any] = {
            "model": endpoint.model,
            "messages": [dict(m) for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
            **endpoint.extra_body,
        }
        if "max_completion_tokens" in endpoint.extra_body:
            del body["max_tokens"]  # reasoning models refuse to see both
        limit = int(body.get("max_completion_tokens") or max_tokens)
        record = record or (lambda _: True)
        started = time.monotonic()
        failures: list[str] = []
        for attempt in range(1, self.retries + 2):
            began = time.monotonic()
            try:
                text, usage, finish = self.request(endpoint, body)
            except LLMError as exc:
                exc.attempts = attempt
                seconds = time.monotonic() - began
                tried = _failed(endpoint, attempt, exc, messages, limit, seconds)
                failures.append(tried.reason)
                if not record(tried) or not exc.retryable or attempt > self.retries:
                    raise
                self.sleep(self.backoff(attempt, exc.retry_after, rng))
                continue
            tokens_in, tokens_out = usage or (_estimate(messages), max(1, len(text) // 4))
            record(
                Attempt(
                    model=endpoint.key,
                    number=attempt,
                    reason="",
                    detail="",
                    sent=True,
                    charged=True,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    usage_reported=usage is not None,
                    cost=endpoint.cost(tokens_in, tokens_out),
                    seconds=time.monotonic() - began,
                    bytes_read=len(text.encode()),
                )
            )
            return Completion(
                text=text,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                usage_reported=usage is not None,
                seconds=time.monotonic() - started,
                attempts=attempt,
                finish_reason=finish,
                failures=tuple(failures),
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
                    sent=False,
                )
            headers["Authorization"] = f"Bearer {secret}"
        req = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        deadline = time.monotonic() + self.timeout_s
        try:
            with _opener(url).open(req, timeout=self.timeout_s) as resp:
                raw = self._read(resp, endpoint.key, deadline)
        except urllib.error.HTTPError as exc:
            raise http_error(
                exc,
                endpoint.key,
                api_key_env=endpoint.api_key_env,
                secret=secret,
                cap=self.max_answer_bytes,
            ) from None
        except TimeoutError as exc:
            # Sent: the server may be working on (and billing) the request.
            raise self._timeout(endpoint.key, sent=True) from exc
        except urllib.error.URLError as exc:
            # Raised while connecting or sending: the server never had the request.
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise self._timeout(endpoint.key, sent=False) from None
            raise LLMError(
                f"{endpoint.key}: cannot reach {url}: {scrub(str(reason), secret)}",
                kind="connection",
                retryable=True,
                sent=False,
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise LLMError(
                f"{endpoint.key}: connection to {url} failed: {scrub(str(exc), secret)}",
                kind="connection",
                retryable=True,
            ) from None
        return parse_completion(raw, endpoint.key)

    def _read(self, resp: Any, key: str, deadline: float) -> bytes:
        """The body, read chunk by chunk so that neither its size nor its pace is unbounded."""
        chunks: list[bytes] = []
        size = 0
        while chunk := resp.read1(_CHUNK):
            size += len(chunk)
            if size > self.max_answer_bytes:
                raise LLMError(
                    f"{key}: the answer is longer than {self.max_answer_bytes / 1024:g} KB "
                    "(max_answer_kb): not read further",
                    kind="too_large",
                    retryable=True,
                    charged=True,
                    bytes_read=size,
                )
            chunks.append(chunk)
            if time.monotonic() > deadline:
                slow = self._timeout(key, sent=True)
                slow.bytes_read = size
                raise slow
        return b"".join(chunks)

    def _timeout(self, key: str, *, sent: bool) -> LLMError:
        return LLMError(
            f"{key}: no answer within {self.timeout_s:g} s",
            kind="timeout",
            retryable=True,
            sent=sent,
            charged=sent,
        )


def _failed(
    endpoint: Endpoint,
    number: int,
    exc: LLMError,
    messages: Sequence[Message],
    limit: int,
    seconds: float,
) -> Attempt:
    """The record of a failed try, with what the server may have billed for it."""
    tokens_in = tokens_out = 0
    if exc.usage is not None:
        tokens_in, tokens_out = exc.usage
    elif exc.charged:
        tokens_in = _estimate(messages)
        # A server that timed out may have generated the whole answer; a body it sent
        # is at most what it generated.
        tokens_out = limit if exc.kind == "timeout" else min(limit, exc.bytes_read // 4)
    return Attempt(
        model=endpoint.key,
        number=number,
        reason=exc.reason,
        detail=str(exc),
        sent=exc.sent,
        charged=exc.charged or exc.usage is not None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        usage_reported=exc.usage is not None,
        cost=endpoint.cost(tokens_in, tokens_out),
        seconds=seconds,
        bytes_read=exc.bytes_read,
    )


def _opener(url: str) -> urllib.request.OpenerDirector:
    # A proxy set in the environment must not intercept a server on this machine.
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _estimate(messages: Sequence[Message]) -> int:
    return max(1, sum(len(m.get("content", "")) for m in messages) // 4)
