"""Streaming requests to an OpenAI-compatible server, timed chunk by chunk (aiohttp)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from ..errors import InvalidValueError
from .records import RequestRecord
from .sse import SSEDecoder

Clock = Callable[[], float]


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: base URL (with or without /v1), endpoint kind, model, API key."""

    base_url: str
    model: str
    kind: str = "chat"  # chat or completions
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("chat", "completions"):
            raise InvalidValueError(f"unknown --endpoint {self.kind!r}", "use chat or completions")

    @property
    def root(self) -> str:
        url = self.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url

    @property
    def url(self) -> str:
        path = "chat/completions" if self.kind == "chat" else "completions"
        return f"{self.root}/v1/{path}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def open_session() -> aiohttp.ClientSession:
    """The one session a run's requests share: no connection cap, a large read buffer.

    No cookie jar: a load test sends every request alike (no session stickiness), and reading
    and filtering cookies costs each request CPU time.
    """
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector, read_bufsize=1 << 20, cookie_jar=aiohttp.DummyCookieJar()
    )


def build_payload(
    endpoint: Endpoint,
    prompt: str | list[dict[str, str]],
    max_tokens: int,
    force_length: bool = True,
    extra_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A streaming request body; forcing the length sets ignore_eos and min_tokens = max_tokens."""
    payload: dict[str, Any] = {
        "model": endpoint.model,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if endpoint.kind == "chat":
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        payload["messages"] = messages
    else:
        payload["prompt"] = prompt if isinstance(prompt, str) else prompt[-1]["content"]
    if force_length:
        payload["ignore_eos"] = True
        payload["min_tokens"] = max_tokens
    if extra_body:
        payload.update(extra_body)
    return payload


def _chunk_text(choice: dict[str, Any], kind: str) -> str:
    """The generated text a choice carries: content, or reasoning (both count as tokens)."""
    if kind == "chat":
        delta = choice.get("delta") or {}
        return "".join(
            str(delta.get(k) or "") for k in ("content", "reasoning_content", "reasoning")
        )
    return str(choice.get("text") or "")


def _fail(record: RequestRecord, error_class: str, detail: str, now: float) -> RequestRecord:
    record.status = "error"
    record.error_class = error_class
    record.error_detail = detail[:300]
    record.end_s = now
    return record


async def stream_request(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    payload: dict[str, Any],
    record: RequestRecord,
    clock: Clock,
    timeout_s: float = 600.0,
    tokenize_output: bool = False,
) -> RequestRecord:
    """Send one streaming request and fill `record`; failures are recorded, never raised.

    When the server sends no `usage`, the output is counted with its /tokenize if
    `tokenize_output` (the server has one), else by token-bearing chunks.
    """
    record.send_s = clock()
    record.requested_output_tokens = record.requested_output_tokens or payload.get("min_tokens")
    try:
        async with session.post(
            endpoint.url,
            json=payload,
            headers=endpoint.headers(),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            if response.status != 200:
                body = await response.text()
                record.http_status = response.status
                return _fail(record, "http_status", f"HTTP {response.status}: {body}", clock())
            text = await _read_stream(response, endpoint.kind, record, clock, tokenize_output)
        if text is not None:
            await _count_output(session, endpoint, record, text)
        return record
    except TimeoutError:
        return _fail(record, "timeout", f"no complete answer within {timeout_s:g} s", clock())
    except aiohttp.ClientConnectorError as exc:
        refused = isinstance(exc.os_error, ConnectionRefusedError)
        return _fail(record, "connection_refused" if refused else "other", str(exc), clock())
    except (
        aiohttp.ServerDisconnectedError,
        aiohttp.ClientPayloadError,
        aiohttp.ClientOSError,
    ) as exc:
        return _fail(record, "disconnect", f"{type(exc).__name__}: {exc}", clock())
    except aiohttp.ClientError as exc:
        return _fail(record, "other", f"{type(exc).__name__}: {exc}", clock())


async def _read_stream(
    response: aiohttp.ClientResponse,
    kind: str,
    record: RequestRecord,
    clock: Clock,
    keep_text: bool,
) -> str | None:
    """Fill `record` from the stream; the output text when it still has to be tokenized."""
    decoder = SSEDecoder()
    done = False
    chunks = 0
    # the generated text, only until usage arrives and only to be tokenized: never recorded
    pieces: list[str] | None = [] if keep_text else None
    async for raw in response.content.iter_any():
        now = clock()
        for data in decoder.feed(raw):
            if data.strip() == "[DONE]":
                done = True
                continue
            try:
                event = orjson.loads(data)
            except ValueError:
                _fail(record, "malformed_stream", f"not JSON: {data[:120]}", now)
                return None
            if not isinstance(event, dict):
                _fail(record, "malformed_stream", f"not an object: {data[:120]}", now)
                return None
            if "error" in event or event.get("object") == "error":
                _fail(record, "other", f"server error in stream: {data[:200]}", now)
                return None
            for choice in event.get("choices") or []:
                text = _chunk_text(choice, kind)
                if text:
                    chunks += 1
                    record.output_chars += len(text)
                    if record.first_token_s is None:
                        record.first_token_s = now
                    record.chunk_times_s.append(now)
                    if pieces is not None:
                        pieces.append(text)
                if choice.get("finish_reason"):
                    record.finish_reason = choice["finish_reason"]
            usage = event.get("usage")
            if isinstance(usage, dict):
                record.prompt_tokens = usage.get("prompt_tokens")
                record.output_tokens = usage.get("completion_tokens")
                pieces = None
    record.end_s = clock()
    if not done:
        _fail(record, "disconnect", "the stream ended before [DONE]", record.end_s)
        return None
    if record.output_tokens is None:
        record.output_tokens = chunks
        record.token_source = "chunks"
        return "".join(pieces) if pieces else None
    return None


async def _count_output(
    session: aiohttp.ClientSession, endpoint: Endpoint, record: RequestRecord, text: str
) -> None:
    """Replace a chunk count with the server's own tokenizer count of the generated text."""
    body = {"model": endpoint.model, "prompt": text, "add_special_tokens": False}
    count = await tokenize(session, endpoint, body)
    if count is not None:
        record.output_tokens = count
        record.token_source = "tokenizer"


async def tokenize(
    session: aiohttp.ClientSession, endpoint: Endpoint, body: dict[str, Any]
) -> int | None:
    """The token count the server's /tokenize gives for `body` (None if it cannot say)."""
    try:
        async with session.post(
            endpoint.root + "/tokenize",
            json=body,
            headers=endpoint.headers(),
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            if response.status != 200:
                return None
            data = await response.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return int(data["count"]) if "count" in data else len(data.get("tokens", []))
