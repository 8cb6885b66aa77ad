"""`twin`: an OpenAI-compatible server whose timing comes from the simulated engine.

Requests join the simulated scheduler's queue as they arrive; an engine task runs one step at
a time, sleeps for the step's simulated duration (divided by `speedup`), and streams each
token the step produced. It answers like vLLM (`twin_server.py`) and says that it is
simulated: model ids end in `-sim` and every response carries `X-Servecap-Simulated`.
Faults can be injected to test clients and gateways.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from dataclasses import dataclass, field

from ..errors import InvalidValueError
from ..memory.plan import MemoryPlan
from .request import SimRequest
from .scheduler import Scheduler
from .simulate import engine_config
from .steptime import Profile, build_model


@dataclass(frozen=True)
class Faults:
    """What to break, for testing clients and gateways."""

    error_rate: float = 0.0  # share of requests answered with `error_status`
    error_status: int = 500
    stall_rate: float = 0.0  # share of streams that pause once for `stall_s`
    stall_s: float = 5.0
    disconnect_rate: float = 0.0  # share of streams cut mid-way
    slow_start_s: float = 0.0  # /health answers 503 this long after start

    def __post_init__(self) -> None:
        for flag, rate in (
            ("--error-rate", self.error_rate),
            ("--stall-rate", self.stall_rate),
            ("--disconnect-rate", self.disconnect_rate),
        ):
            if not 0 <= rate <= 1:
                raise InvalidValueError(
                    f"{flag} must be between 0 and 1, not {rate}", "give a share such as 0.05"
                )
        for flag, seconds in (("--stall-s", self.stall_s), ("--slow-start", self.slow_start_s)):
            if not 0 <= seconds < math.inf:
                raise InvalidValueError(
                    f"{flag} must be 0 or more seconds, not {seconds}", "give e.g. 5"
                )


@dataclass
class Stream:
    """One request's tokens on their way to its HTTP response: 1 per token, None at the end."""

    req: SimRequest
    queue: asyncio.Queue[int | None] = field(default_factory=asyncio.Queue)


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
        if not 0 < speedup < math.inf:
            raise InvalidValueError(f"--speedup must be positive, not {speedup}", "give e.g. 10")
        self.plan = plan
        self.config = engine_config(plan)
        self.engine = Scheduler(self.config, build_model(plan, profile))
        self.speedup = speedup
        self.faults = faults or Faults()
        self.api_key = api_key
        self.natural = natural_output_tokens
        self.rng = random.Random(seed)
        self.model_id = f"{plan.model.name}-sim"
        self.streams: dict[int, Stream] = {}
        self.ids = itertools.count()
        self.wake = asyncio.Event()
        self.started = time.monotonic()
        self.generated_total = 0
        self.prompt_total = 0
        self.finished_total = 0

    async def run_engine(self) -> None:
        """Step the engine in (scaled) real time, forever; idle time is not simulated."""
        engine = self.engine
        loop = asyncio.get_running_loop()
        origin_wall, origin_sim = loop.time(), engine.clock
        while True:
            if engine.idle:
                self.wake.clear()
                await self.wake.wait()
                origin_wall, origin_sim = loop.time(), engine.clock
            before = {rid: s.req.generated for rid, s in self.streams.items()}
            finished = engine.step()
            # sleep to an absolute schedule, so per-step wake-up delays do not accumulate
            due = origin_wall + (engine.clock - origin_sim) / self.speedup
            await asyncio.sleep(max(0.0, due - loop.time()))
            for rid, start in before.items():
                stream = self.streams.get(rid)
                if stream is None:
                    continue
                produced = stream.req.generated - start
                for _ in range(produced):
                    stream.queue.put_nowait(1)
                self.generated_total += produced
            for req in finished:
                stream = self.streams.get(req.id)
                if stream is not None:
                    stream.queue.put_nowait(None)
                req.chunks.clear()

    def submit(self, prompt_tokens: int, output_tokens: int) -> Stream:
        """A request arrives: it joins the engine's queue, and its stream is returned."""
        rid = next(self.ids)
        stream = Stream(SimRequest(rid, prompt_tokens, output_tokens, self.engine.clock))
        self.streams[rid] = stream
        self.engine.submit(stream.req)
        self.prompt_total += prompt_tokens
        self.wake.set()
        return stream
