"""A small OpenAI-compatible streaming server with scripted timing, for client tests.

Every response follows a `Script`: time to the first token, the gap between tokens, the
number of tokens, and faults (HTTP errors, a stall, a disconnect mid-stream, a malformed
chunk, no usage), reasoning deltas, a cap on requests served at once (the rest queue), and
whether /tokenize exists (it counts whitespace-separated words). The server runs on its own
thread and event loop, on a free loopback port.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Script:
    ttft_s: float = 0.05
    gap_s: float = 0.01
    tokens: int | None = None  # None: the request's max_tokens
    status: int = 200
    fail_every: int = 0  # every n-th request answers HTTP 500
    stall_after: int | None = None  # tokens before a stall
    stall_s: float = 0.0
    disconnect_after: int | None = None  # tokens before the connection drops
    malformed_after: int | None = None
    usage: bool = True
    role_chunk: bool = True
    words_per_chunk: int = 1  # what /tokenize counts per chunk
    reasoning_tokens: int = 0  # the first tokens come as reasoning deltas
    reasoning_field: str = "reasoning_content"  # or "reasoning" (newer vLLM)
    max_running: int | None = None  # requests served at once; the rest wait
    tokenize: bool = True  # False: /tokenize answers 404
    models: tuple[str, ...] = ("fake-model",)
    metrics: str | None = None  # /metrics body, or None for 404


@dataclass
class FakeServer:
    script: Script = field(default_factory=Script)
    port: int = 0
    requests: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    tokenized: list[dict[str, Any]] = field(default_factory=list)  # /tokenize bodies

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._slots = asyncio.Semaphore(self.script.max_running or 1_000_000)
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._complete)
        app.router.add_post("/v1/completions", self._complete)
        app.router.add_post("/tokenize", self._tokenize)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": m} for m in self.script.models]})

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.script.metrics is None:
            return web.Response(status=404)
        return web.Response(text=self.script.metrics)

    async def _tokenize(self, request: web.Request) -> web.Response:
        if not self.script.tokenize:
            return web.Response(status=404)
        body = await request.json()
        self.tokenized.append(body)
        text = body.get("prompt") or " ".join(m["content"] for m in body.get("messages", []))
        count = len(text.split()) + (3 if "messages" in body else 0)
        return web.json_response({"count": count, "tokens": list(range(count))})

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        s = self.script
        self.requests += 1
        body = await request.json()
        self.bodies.append(body)
        if s.status != 200 or (s.fail_every and self.requests % s.fail_every == 0):
            return web.json_response(
                {"error": "scripted failure"}, status=s.status if s.status != 200 else 500
            )
        async with self._slots:
            return await self._stream(request, body)

    async def _stream(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        s = self.script
        chat = request.path.endswith("chat/completions")
        tokens = s.tokens if s.tokens is not None else int(body.get("max_tokens", 16))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(obj: Any) -> None:
            data = obj if isinstance(obj, str) else json.dumps(obj)
            await response.write(f"data: {data}\n\n".encode())

        start = time.perf_counter()
        if chat and s.role_chunk:
            await send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for i in range(tokens):
            due = start + s.ttft_s + i * s.gap_s
            if s.stall_after is not None and i >= s.stall_after:
                due += s.stall_s
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if s.disconnect_after is not None and i == s.disconnect_after:
                assert request.transport is not None
                request.transport.close()
                return response
            if s.malformed_after is not None and i == s.malformed_after:
                await send("{not json")
                continue
            text = f" t{i}" * s.words_per_chunk
            key = s.reasoning_field if i < s.reasoning_tokens else "content"
            choice = {"index": 0, "delta": {key: text}} if chat else {"index": 0, "text": text}
            if i == tokens - 1:
                choice["finish_reason"] = "length"
            await send({"choices": [choice]})
        if s.usage:
            await send(
                {
                    "choices": [],
                    "usage": {
                        "prompt_tokens": 7,
                        "completion_tokens": tokens,
                        "total_tokens": tokens + 7,
                    },
                }
            )
        await send("[DONE]")
        await response.write_eof()
        return response
