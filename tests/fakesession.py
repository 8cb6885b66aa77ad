"""A scripted stand-in for the aiohttp session servecap's client is handed: no socket, no
sleeps. Each route answers with a status, a JSON body, or SSE bytes cut into given pieces."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes for the raw body
    pieces: list[bytes] = field(default_factory=list)  # a streamed body, piece by piece

    def raw(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return b"".join(self.pieces) if self.pieces else json.dumps(self.body).encode()


class _Content:
    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    async def iter_any(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


class _Response:
    def __init__(self, reply: Reply) -> None:
        self.status = reply.status
        self._reply = reply
        self.content = _Content(reply.pieces or [reply.raw()])

    async def json(self, content_type: str | None = None) -> Any:
        return json.loads(self._reply.raw())

    async def text(self) -> str:
        return self._reply.raw().decode()

    async def read(self) -> bytes:
        return self._reply.raw()

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


Route = Callable[[dict[str, Any]], Reply]


class FakeSession:
    """`get` and `post` as aiohttp's, answered by `routes[(method, path)]` with the JSON body
    the client sent; an unrouted path is a refused connection. Every call is kept."""

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self.routes = routes
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def _call(self, method: str, url: str, json_body: dict[str, Any] | None) -> _Response:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
        self.calls.append((method, path, json_body or {}))
        route = self.routes.get((method, path))
        if route is None:
            key = aiohttp.client_reqrep.ConnectionKey("fake", 0, False, True, None, None, None)
            raise aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
        return _Response(route(json_body or {}))

    def get(self, url: str, **kwargs: Any) -> _Response:
        return self._call("GET", url, kwargs.get("json"))

    def post(self, url: str, **kwargs: Any) -> _Response:
        return self._call("POST", url, kwargs.get("json"))
