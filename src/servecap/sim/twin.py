"""`twin`: an OpenAI-compatible server whose timing comes from the simulated engine.

Requests join the simulator's queues as they arrive; an engine task runs one scheduler step at
a time, sleeps for the step's simulated duration (divided by `speedup`), and streams each
token the step produced. It answers like vLLM (`/v1/chat/completions`, `/v1/completions`,
`/v1/models`, `/health`, `/tokenize`, `/metrics` with vLLM's metric names) and says that it
is simulated: model ids end in `-sim` and every response carries `X-Servecap-Simulated`.
Faults can be injected to test clients and gateways.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..memory.plan import MemoryPlan
from .engine import BlockPool, SimRequest, Simulator
from .simulate import engine_config
from .steptime import Profile, build_model

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


@dataclass(frozen=True)
class Faults:
    """What to break, for testing clients and gateways."""

    error_rate: float = 0.0  # share of requests answered with `error_status`
    error_status: int = 500
    stall_rate: float = 0.0  # share of streams that pause once for `stall_s`
    stall_s: float = 5.0
    disconnect_rate: float = 0.0  # share of streams cut mid-way
    slow_start_s: float = 0.0  # /health answers 503 this long after start


@dataclass
class _Stream:
    queue: asyncio.Queue[int | None] = field(default_factory=asyncio.Queue)
    req: SimRequest | None = None


def count_tokens(text: str) -> int:
    """The twin's tokenizer: one token per whitespace-separated word."""
    return max(1, len(text.split()))


CHAT_TEMPLATE_TOKENS = 10


class Twin:
    """The simulated deployment behind the HTTP handlers."""

    def __init__(
        self,
        plan: MemoryPlan,
        profile: Profile | None = None,
        speedup: float = 1.0,
        faults: Faults | None = None,
        api_key: str | None = None,
        natural_output_tokens: int = 256,
        seed: int = 0,
    ) -> None:
        self.plan = plan
        self.config = engine_config(plan)
        self.sim = Simulator(self.config, build_model(plan, profile))
        self.pool = BlockPool(self.config.num_blocks - 1, self.config.prefix_caching)
        self.speedup = speedup
        self.faults = faults or Faults()
        self.api_key = api_key
        self.natural = natural_output_tokens
        self.rng = random.Random(seed)
        self.model_id = f"{plan.model.name}-sim"
        self.streams: dict[int, _Stream] = {}
        self.ids = itertools.count()
        self.wake = asyncio.Event()
        self.started = time.monotonic()
        self.generated_total = 0
        self.prompt_total = 0
        self.finished_total = 0

    # -- engine ---------------------------------------------------------------------
    async def engine(self) -> None:
        sim = self.sim
        loop = asyncio.get_running_loop()
        origin_wall, origin_sim = loop.time(), sim.clock
        while True:
            if not sim.waiting and not sim.running:
                self.wake.clear()
                await self.wake.wait()
                origin_wall, origin_sim = loop.time(), sim.clock  # idle time is not simulated
            before = {r.id: r.generated for r in (*sim.running, *sim.waiting)}
            finished = sim.step(self.pool)
            # sleep to an absolute schedule, so per-step wake-up delays do not accumulate
            due = origin_wall + (sim.clock - origin_sim) / self.speedup
            await asyncio.sleep(max(0.0, due - loop.time()))
            for req in (*sim.running, *sim.waiting, *finished):
                produced = req.generated - before.get(req.id, req.generated)
                stream = self.streams.get(req.id)
                if stream is not None:
                    for _ in range(produced):
                        stream.queue.put_nowait(1)
                    self.generated_total += produced
            for req in finished:
                stream = self.streams.get(req.id)
                if stream is not None:
                    stream.queue.put_nowait(None)
                req.chunks.clear()

    def submit(self, prompt_tokens: int, output_tokens: int) -> tuple[int, _Stream]:
        rid = next(self.ids)
        req = SimRequest(rid, prompt_tokens, output_tokens, self.sim.clock)
        stream = _Stream(req=req)
        self.streams[rid] = stream
        self.sim.waiting.append(req)
        self.prompt_total += prompt_tokens
        self.wake.set()
        return rid, stream

    # -- HTTP ---------------------------------------------------------------------
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
        authorized = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        if self.api_key and request.path.startswith("/v1") and not authorized:
            return web.json_response(
                {"error": {"message": "Unauthorized"}}, status=401, headers={SIM_HEADER: "true"}
            )
        response: web.StreamResponse = await handler(request)
        if not response.prepared:
            response.headers[SIM_HEADER] = "true"
        return response

    async def _start_engine(self, app: web.Application) -> None:
        app[ENGINE_TASK] = asyncio.create_task(self.engine())

    async def _health(self, request: web.Request) -> web.Response:
        if time.monotonic() - self.started < self.faults.slow_start_s:
            return web.Response(status=503, text="starting")
        return web.Response(text="")

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {
                        "id": self.model_id,
                        "object": "model",
                        "owned_by": "servecap-twin",
                        "max_model_len": self.config.max_model_len,
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
                "max_model_len": self.config.max_model_len,
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
        labels = {"engine": "0", "model_name": self.model_id}

        def gauge(name: str, doc: str, value: float) -> None:
            Gauge(name, doc, list(labels), registry=registry).labels(**labels).set(value)

        gauge(
            "vllm:num_requests_running",
            "Requests in the running batch (simulated).",
            len(self.sim.running),
        )
        gauge("vllm:num_requests_waiting", "Requests waiting (simulated).", len(self.sim.waiting))
        gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache usage, 0..1 (simulated).",
            self.pool.held / self.pool.usable if self.pool.usable else 0.0,
        )
        for name, doc, value in (
            ("vllm:num_preemptions", "Preemptions (simulated).", self.sim.preemptions),
            ("vllm:generation_tokens", "Generated tokens (simulated).", self.generated_total),
            ("vllm:prompt_tokens", "Prompt tokens (simulated).", self.prompt_total),
            ("vllm:request_success", "Finished requests (simulated).", self.finished_total),
        ):
            Counter(name, doc, list(labels), registry=registry).labels(**labels).inc(value)
        Info("vllm:cache_config", "Cache configuration (simulated).", registry=registry).info(
            {
                "num_gpu_blocks": str(self.config.num_blocks),
                "block_size": str(self.config.block_size),
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
        if body.get("model") not in (self.model_id, self.plan.model.name):
            return web.json_response(
                {"error": {"message": f"The model `{body.get('model')}` does not exist."}},
                status=404,
            )
        faults = self.faults
        if faults.error_rate and self.rng.random() < faults.error_rate:
            return web.json_response(
                {"error": {"message": "injected failure"}}, status=faults.error_status
            )
        chat = request.path.endswith("chat/completions")
        prompt_tokens = self._prompt_tokens(body)
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        forced = bool(body.get("ignore_eos")) or int(body.get("min_tokens") or 0) >= max_tokens
        output = (
            max_tokens
            if forced
            else max(1, min(max_tokens, round(self.rng.expovariate(1 / self.natural))))
        )
        rid, stream = self.submit(prompt_tokens, output)
        try:
            if body.get("stream"):
                return await self._stream(request, body, chat, rid, stream, prompt_tokens)
            count = 0
            while await stream.queue.get() is not None:
                count += 1
            return web.json_response(self._full(chat, rid, count, prompt_tokens))
        finally:
            self.streams.pop(rid, None)
            self.finished_total += 1

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        chat: bool,
        rid: int,
        stream: _Stream,
        prompt_tokens: int,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", SIM_HEADER: "true"}
        )
        await response.prepare(request)
        base = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-sim-{rid}",
            "model": self.model_id,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
        }

        async def send(obj: Any) -> None:
            data = obj if isinstance(obj, str) else json.dumps({**base, **obj})
            await response.write(f"data: {data}\n\n".encode())

        faults = self.faults
        stall_at = disconnect_at = -1
        if faults.stall_rate and self.rng.random() < faults.stall_rate:
            stall_at = 1
        if faults.disconnect_rate and self.rng.random() < faults.disconnect_rate:
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
            "model": self.model_id,
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
        import threading

        self.twin = twin
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="servecap-twin", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> TwinServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the twin server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self.twin.wake = asyncio.Event()
        runner = web.AppRunner(self.twin.app(), access_log=None)
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
