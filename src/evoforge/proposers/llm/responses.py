"""What a chat server's response means: a completion's parts, or an :class:`LLMError`
that says what was wrong (the status, what the body lacks) and what it may have cost."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Mapping
from typing import Any

_HTTP_KINDS = frozenset({"rate_limited", "server", "auth", "request"})

Usage = tuple[int, int]
"""(prompt_tokens, completion_tokens) as the server reported them."""


class LLMError(RuntimeError):
    """A request failed. ``kind``: timeout, connection, rate_limited, server, auth,
    request, invalid_json, no_choices, error_object, too_large."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        attempts: int = 1,
        sent: bool = True,
        charged: bool = False,
        usage: Usage | None = None,
        bytes_read: int = 0,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = attempts
        self.sent = sent
        """The server received the request (False: refused, unreachable, never sent)."""
        self.charged = charged
        """The server may have billed it (it answered 200, or took it and did not answer)."""
        self.usage = usage
        """Tokens the failed answer reported, when it did."""
        self.bytes_read = bytes_read

    @property
    def reason(self) -> str:
        """The short key failures are counted by: ``http_<status>`` or the kind."""
        if self.kind in _HTTP_KINDS and self.status is not None:
            return f"http_{self.status}"
        return self.kind


def parse_completion(raw: bytes, key: str) -> tuple[str, Usage | None, str]:
    """A 200 body as (text, usage or None, finish_reason); LLMError saying what it lacks."""

    def refuse(kind: str, what: str, usage: Usage | None = None) -> LLMError:
        return LLMError(
            f"{key}: {what}: {raw[:200]!r}",
            kind=kind,
            status=200,
            retryable=True,
            charged=True,
            usage=usage,
            bytes_read=len(raw),
        )

    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse("invalid_json", f"the answer is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise refuse("no_choices", f"the answer is JSON but not an object ({type(data).__name__})")
    usage = _usage(data)
    if data.get("error") and not data.get("choices"):
        raise refuse("error_object", f"the answer is an error: {_message(data)[:300]}", usage)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise refuse("no_choices", "the answer has no choices", usage)
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise refuse("no_choices", "the answer's first choice has no message", usage)
    text = message.get("content") or ""
    return str(text), usage, str(choice.get("finish_reason") or "")


def http_error(
    exc: urllib.error.HTTPError, key: str, *, api_key_env: str, secret: str, cap: int
) -> LLMError:
    """The LLMError for an HTTP error status (its body read up to ``cap`` bytes)."""
    status = exc.code
    try:
        raw = exc.read(cap)
    except OSError:
        raw = b""
    finally:
        exc.close()
    data = _object(raw)
    text = _message(data) if data is not None else raw.decode("utf-8", "replace").strip()
    detail = scrub(text, secret)[:300]
    usage = _usage(data)
    where = f"{key}: HTTP {status}"
    if status in (401, 403):
        hint = f" (check the key in ${api_key_env})" if api_key_env else ""
        return LLMError(
            f"{where}: not authorized{hint}: {detail}", kind="auth", status=status, usage=usage
        )
    if status == 429:
        return LLMError(
            f"{where}: rate limited: {detail}",
            kind="rate_limited",
            status=status,
            retryable=True,
            retry_after=_retry_after(exc.headers.get("Retry-After")),
            usage=usage,
        )
    if status >= 500 or status == 408:
        return LLMError(
            f"{where}: {detail}", kind="server", status=status, retryable=True, usage=usage
        )
    return LLMError(
        f"{where}: request refused: {detail}", kind="request", status=status, usage=usage
    )


def scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _object(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _message(data: Mapping[str, Any]) -> str:
    err = data.get("error", data)
    return str(err.get("message", err) if isinstance(err, dict) else err)


def _usage(data: Mapping[str, Any] | None) -> Usage | None:
    usage = data.get("usage") if data is not None else None
    if not isinstance(usage, dict):
        return None
    try:
        return int(usage["prompt_tokens"]), int(usage["completion_tokens"])
    except (KeyError, TypeError, ValueError):
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare from these servers; the backoff applies
