"""What a server offers before a run starts: the models it serves, and whether it tokenizes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..errors import InputError
from .client import Endpoint, tokenize


@dataclass(frozen=True)
class ServerInfo:
    models: list[str]
    has_tokenize: bool


async def check_server(session: aiohttp.ClientSession, endpoint: Endpoint) -> ServerInfo:
    """Fail fast, in one line, on an unreachable URL or a model the server does not serve."""
    timeout = aiohttp.ClientTimeout(total=15)
    try:
        async with session.get(
            endpoint.root + "/v1/models", headers=endpoint.headers(), timeout=timeout
        ) as response:
            if response.status == 401:
                raise InputError(
                    f"{endpoint.root} refused the API key (HTTP 401)",
                    "pass the right --api-key or set OPENAI_API_KEY",
                )
            if response.status != 200:
                raise InputError(
                    f"{endpoint.root}/v1/models answered HTTP {response.status}",
                    "check --url: it should be an OpenAI-compatible server",
                )
            try:
                body = await response.json(content_type=None)
            except ValueError:
                raise InputError(
                    f"{endpoint.root}/v1/models did not answer JSON",
                    "check --url: it should be an OpenAI-compatible server",
                ) from None
        has_tokenize = await _probe_tokenize(session, endpoint)
    except aiohttp.ClientConnectorError as exc:
        reason = (
            "connection refused"
            if isinstance(exc.os_error, ConnectionRefusedError)
            else str(exc.os_error or exc)
        )
        raise InputError(
            f"cannot reach {endpoint.root}: {reason}", "start the server or fix --url"
        ) from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise InputError(
            f"cannot reach {endpoint.root}: {type(exc).__name__}", "start the server or fix --url"
        ) from None
    data = body.get("data") if isinstance(body, dict) else None
    models = [str(m.get("id", "")) for m in data or [] if isinstance(m, dict)]
    if endpoint.model not in models:
        raise InputError(
            f"the server does not serve model {endpoint.model!r}",
            f"use one of: {', '.join(models) or '(none listed)'}",
        )
    return ServerInfo(models, has_tokenize)


async def _probe_tokenize(session: aiohttp.ClientSession, endpoint: Endpoint) -> bool:
    try:
        async with session.post(
            endpoint.root + "/tokenize",
            headers=endpoint.headers(),
            json={"model": endpoint.model, "prompt": "hello"},
            timeout=aiohttp.ClientTimeout(total=15),
        ) as response:
            return response.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


def token_counter(
    session: aiohttp.ClientSession, endpoint: Endpoint
) -> Callable[[str | list[dict[str, str]]], Awaitable[int | None]]:
    """Count a prompt's tokens with the server's /tokenize, templated as the endpoint sends it."""

    async def count(prompt: str | list[dict[str, str]]) -> int | None:
        body: dict[str, Any] = {"model": endpoint.model}
        if endpoint.kind == "chat":
            messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            body.update(messages=messages, add_generation_prompt=True)
        else:
            body["prompt"] = prompt
        return await tokenize(session, endpoint, body)

    return count
