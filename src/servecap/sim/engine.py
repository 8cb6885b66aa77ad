"""A discrete-event simulation of one vLLM V1 engine serving a workload.

Time advances from event to event on an explicit clock: request arrivals (from the same load
profiles as `bench`) and engine steps (`scheduler.py`), whose length comes from the step-time
model. Every run starts from an empty engine. Decodes move as one group where they can
(`decode_group.py`); chunk times then pass through the API server's delivery (`delivery.py`).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..loadtest.load import LoadProfile, arrival_times
from ..loadtest.records import RequestRecord
from ..vllm.metrics import ServerSample
from .decode_group import FastDecode
from .delivery import deliver_through_api_server
from .request import SimRequest
from .scheduler import EngineConfig, Scheduler
from .steptime import StepTimeModel


@dataclass
class SimResult:
    records: list[RequestRecord]
    samples: list[ServerSample]
    steps: int
    preemptions: int
    sim_seconds: float


class MetricsTimeline:
    """The simulated /metrics readings, one every `interval_s` of simulated time."""

    def __init__(self, scheduler: Scheduler, interval_s: float) -> None:
        self.sched = scheduler
        self.interval_s = interval_s
        self.next_s = 0.0
        self.samples: list[ServerSample] = []

    def until(self, t: float) -> None:
        """The readings due up to time t, with the engine's current state."""
        sched = self.sched
        while self.next_s <= t:
            self.samples.append(
                ServerSample(
                    time_s=self.next_s,
                    running=float(len(sched.running)),
                    waiting=float(len(sched.waiting)),
                    kv_cache_usage=sched.pool.usage,
                    preemptions=float(sched.preemptions),
                    prefix_cache_queries=None,
                    prefix_cache_hits=None,
                    num_gpu_blocks=sched.config.num_blocks,
                    block_size=sched.config.block_size,
                )
            )
            self.next_s += self.interval_s

    def close(self, t: float) -> None:
        """One last reading at the end of the run."""
        self.next_s = min(self.next_s, t)
        self.until(t)


@dataclass
class Simulator:
    """One engine, one load profile at a time, deterministic for given inputs."""

    config: EngineConfig
    steps: StepTimeModel
    sample_interval_s: float = 0.5
    fast_decode: bool = True  # False: every step scheduled request by request

    def run(
        self,
        profile: LoadProfile,
        lengths: list[tuple[int, int]],
        seed: int = 0,
        on_record: Callable[[RequestRecord], None] | None = None,
        arrivals_s: list[float] | None = None,
    ) -> SimResult:
        """Serve `lengths` (prompt, output) as the profile releases them, from an empty engine.

        `arrivals_s` replays given send times instead (a measured run, for calibration).
        """
        sched = Scheduler(self.config, self.steps)
        timeline = MetricsTimeline(sched, self.sample_interval_s)
        fast = FastDecode(sched) if self.fast_decode else None
        # (when the scheduler sees it, seq, length index, when it was sent): a request reaches
        # the scheduler after the API server's latency (HTTP, tokenizing its prompt)
        arrivals: list[tuple[float, int, int, float]] = []
        seq = itertools.count()
        profile_ = self.steps.profile
        intake_free = 0.0  # when the API server's thread is next free

        def arrive(sent: float, i: int) -> None:
            nonlocal intake_free
            start = max(sent + profile_.request_latency_s, intake_free)
            intake_free = start + profile_.intake_s(lengths[i][0])
            heapq.heappush(arrivals, (intake_free, next(seq), i, sent))

        pending = deque(range(len(lengths)))
        closed_loop = profile.mode in ("single", "concurrency")
        deadline = profile.duration_s
        if arrivals_s is not None:
            for t, i in sorted(zip(arrivals_s, list(pending), strict=True)):
                arrive(t, i)
            pending.clear()
            closed_loop = False
        elif profile.mode == "users":
            for i in list(pending):
                arrive(0.0, i)
            pending.clear()
        elif profile.mode == "rate":
            assert profile.rate is not None
            times = arrival_times(profile.rate, len(lengths), profile.burstiness, seed)
            for t, i in zip(times, list(pending), strict=False):
                if deadline is None or t <= deadline:
                    arrive(t, i)
            pending.clear()
        else:
            slots = 1 if profile.mode == "single" else (profile.concurrency or 1)
            for _ in range(min(slots, len(pending))):
                arrive(0.0, pending.popleft())
        records: list[RequestRecord] = []
        while arrivals or not sched.idle:
            if sched.idle and arrivals:
                sched.clock = max(sched.clock, arrivals[0][0])
            while arrivals and arrivals[0][0] <= sched.clock:
                _, _, i, sent = heapq.heappop(arrivals)
                prompt, output = lengths[i]
                sched.submit(SimRequest(i, prompt, output, sent))
            timeline.until(sched.clock)
            horizon = arrivals[0][0] if arrivals else None
            finished = fast.step(horizon, timeline) if fast is not None else None
            if finished is None:
                if fast is not None:
                    fast.dissolve()
                finished = sched.step()
            for req in finished:
                record = req.record()
                records.append(record)
                if on_record:
                    on_record(record)
                if closed_loop and pending and (deadline is None or sched.clock < deadline):
                    arrive(sched.clock, pending.popleft())
        timeline.close(sched.clock)
        records.sort(key=lambda r: r.request_id)
        deliver_through_api_server(records, self.steps.profile.api_chunk_s)
        return SimResult(
            records, timeline.samples, sched.step_count, sched.preemptions, sched.clock
        )
