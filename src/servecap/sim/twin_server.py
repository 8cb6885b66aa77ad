"""The twin's HTTP face: vLLM's OpenAI-compatible routes, /tokenize and /metrics, and a
server that runs it on its own thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import web

from ..errors import ServerError
from .twin import Stream, Twin

FILLER = (
    "the",
    "quick",
    "simulated",
    "answer",
    "runs",
    "on",
    "no",
    "GPU",
    "at",
    "all",
    "while",
    "tokens",
    "flow",
    "steadily",
    "through",
    "a",
    "modelled",
    "scheduler",
)
ENGINE_TASK = web.AppKey("engine", asyncio.Task)
SIM_HEADER = "X-Servecap-Simulated"
CHAT_TEMPLATE_TOKENS = 10


def count_tokens(text: str) -> int:
    """The twin's tokenizer: one token per whitespace-separated word."""
    return max(1, len(text.split()))


def twin_app(twin: Twin) -> web.Application:
    """The aiohttp application that serves `twin`."""
    return _Handlers(twin).app()


class _Handlers:
    def __init__(self, twin: Twin) -> None:
        self.twin = twin

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers])
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._completion)
        app.router.add_post("/v1/completions", self._completion)
        app.router.add_post("/tokenize", self._tokenize)
        app.router.add_get("/metrics", self._metrics)
        app.on_startup.append(self._start_engine)
        return app

    @web.middleware
    async def _headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        authorized = request.headers.get("Authorization") == f"Bearer {self.twin.api_key}"
        if self.twin.api_key and request.path.startswith("/v1") and not authorized:
            return web.json_response(
                {"error": {"message": "Unauthorized"}}, status=401, headers={SIM_HEADER: "true"}
            )
        response: web.StreamResponse = await handler(request)
        if not response.prepared:
            response.headers[SIM_HEADER] = "true"
        return response

    async def _start_engine(self, app: web.Application) -> None:
        app[ENGINE_TASK] = asyncio.create_task(self.twin.run_engine())

    async def _health(self, request: web.Request) -> web.Response:
        if time.monotonic() - self.twin.started < self.twin.faults.slow_start_s:
            return web.Response(status=503, text="starting")
        return web.Response(text="")

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {
                        "id": self.twin.model_id,
                        "object": "model",
                        "owned_by": "servecap-twin",
                        "max_model_len": self.twin.config.max_model_len,
                    }
                ],
            }
        )

    async def _tokenize(self, request: web.Request) -> web.Response:
        body = await request.json()
        count = self._prompt_tokens(body)
        return web.json_response(
            {
                "count": count,
                "max_model_len": self.twin.config.max_model_len,
                "tokens": list(range(count)),
            }
        )

    def _prompt_tokens(self, body: dict[str, Any]) -> int:
        if "messages" in body:
            text = " ".join(str(m.get("content") or "") for m in body["messages"])
            return count_tokens(text) + CHAT_TEMPLATE_TOKENS
        prompt = body.get("prompt") or ""
        return count_tokens(prompt if isinstance(prompt, str) else " ".join(map(str, prompt)))

    async def _metrics(self, request: web.Request) -> web.Response:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Info, generate_latest

        registry = CollectorRegistry()
        labels = {"engine": "0", "model_name": self.twin.model_id}

        def gauge(name: str, doc: str, value: float) -> None:
            Gauge(name, doc, list(labels), registry=registry).labels(**labels).set(value)

        gauge(
            "vllm:num_requests_running",
            "Requests in the running batch (simulated).",
            len(self.twin.engine.running),
        )
        gauge(
            "vllm:num_requests_waiting",
            "Requests waiting (simulated).",
            len(self.twin.engine.waiting),
        )
        gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache usage, 0..1 (simulated).",
            self.twin.engine.pool.usage,
        )
        for name, doc, value in (
            ("vllm:num_preemptions", "Preemptions (simulated).", self.twin.engine.preemptions),
            ("vllm:generation_tokens", "Generated tokens (simulated).", self.twin.generated_total),
            ("vllm:prompt_tokens", "Prompt tokens (simulated).", self.twin.prompt_total),
            ("vllm:request_success", "Finished requests (simulated).", self.twin.finished_total),
        ):
            Counter(name, doc, list(labels), registry=registry).labels(**labels).inc(value)
        Info("vllm:cache_config", "Cache configuration (simulated).", registry=registry).info(
            {
                "num_gpu_blocks": str(self.twin.config.num_blocks),
                "block_size": str(self.twin.config.block_size),
                "engine": "0",
            }
        )
        return web.Response(
            body=generate_latest(registry), content_type="text/plain", charset="utf-8"
        )

    async def _completion(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "body is not JSON"}}, status=400)
        if body.get("model") not in (self.twin.model_id, self.twin.plan.model.name):
            return web.json_response(
                {"error": {"message": f"The model `{body.get('model')}` does not exist."}},
                status=404,
            )
        faults = self.twin.faults
        if faults.error_rate and self.twin.rng.random() < faults.error_rate:
            return web.json_response(
                {"error": {"message": "injected failure"}}, status=faults.error_status
            )
        chat = request.path.endswith("chat/completions")
        prompt_tokens = self._prompt_tokens(body)
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        forced = bool(body.get("ignore_eos")) or int(body.get("min_tokens") or 0) >= max_tokens
        context = self.twin.config.max_model_len
        if prompt_tokens + max_tokens > context:  # as vLLM's serving_engine._validate_input
            message = (
                f"This model's maximum context length is {context} tokens. However, you "
                f"requested {prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, "
                f"{max_tokens} in the completion). Please reduce the length of the messages or "
                "completion."
            )
            return web.json_response({"error": {"message": message}}, status=400)
        output = (
            max_tokens
            if forced
            else max(1, min(max_tokens, round(self.twin.rng.expovariate(1 / self.twin.natural))))
        )
        stream = self.twin.submit(prompt_tokens, output)
        rid = stream.req.id
        try:
            if body.get("stream"):
                return await self._stream(request, body, chat, rid, stream, prompt_tokens)
            count = 0
            while await stream.queue.get() is not None:
                count += 1
            return web.json_response(self._full(chat, rid, count, prompt_tokens))
        finally:
            self.twin.streams.pop(rid, None)
            self.twin.finished_total += 1

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        chat: bool,
        rid: int,
        stream: Stream,
        prompt_tokens: int,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", SIM_HEADER: "true"}
        )
        await response.prepare(request)
        base = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-sim-{rid}",
            "model": self.twin.model_id,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
        }

        async def send(obj: Any) -> None:
            data = obj if isinstance(obj, str) else json.dumps({**base, **obj})
            await response.write(f"data: {data}\n\n".encode())

        faults = self.twin.faults
        stall_at = disconnect_at = -1
        if faults.stall_rate and self.twin.rng.random() < faults.stall_rate:
            stall_at = 1
        if faults.disconnect_rate and self.twin.rng.random() < faults.disconnect_rate:
            disconnect_at = 2
        if chat:
            await send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        count = 0
        while (token := await stream.queue.get()) is not None:
            del token
            if count == disconnect_at:
                assert request.transport is not None
                request.transport.close()
                return response
            if count == stall_at:
                await asyncio.sleep(faults.stall_s)
            word = " " + FILLER[(rid + count) % len(FILLER)]
            choice: dict[str, Any] = (
                {"index": 0, "delta": {"content": word}} if chat else {"index": 0, "text": word}
            )
            await send({"choices": [choice]})
            count += 1
        await send(
            {
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "length",
                        **({"delta": {}} if chat else {"text": ""}),
                    }
                ]
            }
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            await send(
                {
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": count,
                        "total_tokens": prompt_tokens + count,
                    },
                }
            )
        await send("[DONE]")
        await response.write_eof()
        return response

    def _full(self, chat: bool, rid: int, count: int, prompt_tokens: int) -> dict[str, Any]:
        text = " ".join(FILLER[(rid + i) % len(FILLER)] for i in range(count))
        choice: dict[str, Any] = (
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "length",
            }
            if chat
            else {"index": 0, "text": text, "finish_reason": "length"}
        )
        return {
            "id": f"sim-{rid}",
            "model": self.twin.model_id,
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": count,
                "total_tokens": prompt_tokens + count,
            },
        }


class TwinServer:
    """Runs a Twin on its own thread and event loop (for tests, `demo` and notebooks)."""

    def __init__(self, twin: Twin, host: str = "127.0.0.1", port: int = 0) -> None:
        self.twin = twin
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="servecap-twin", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> TwinServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise ServerError(
                "the twin server did not start within 30 s", "check that the port is free"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self.twin.wake = asyncio.Event()
        runner = web.AppRunner(twin_app(self.twin), access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, self.host, self.port)
        self._loop.run_until_complete(site.start())
        server = site._server
        if server is not None and self.port == 0:
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()
