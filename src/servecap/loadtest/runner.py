"""Drive load against a server: one request, N users at once, fixed concurrency, or a rate.

Everything runs on one event loop (uvloop where installed, see eventloop.py) with the one
aiohttp session it is given (`client.open_session`). Beside the requests, two helpers run: a
sampler that reads vLLM's /metrics, and a monitor that measures this loop's own lag, so a run
where the client was the bottleneck is marked as such.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from ..vllm.metrics import ServerSample, fetch_metrics
from .client import Clock, Endpoint, build_payload, stream_request
from .load import LoadProfile, arrival_times, streams_at_start
from .records import RequestRecord
from .stats import percentile
from .summary import ClientView
from .workload import PreparedRequest


@dataclass
class ClientHealth:
    """The load generator's own timing: event-loop lag and dispatch lag (seconds)."""

    loop_lags: list[float] = field(default_factory=list)
    dispatch_lags: list[float] = field(default_factory=list)
    dispatch_limit_s: float = 0.010

    def view(self) -> ClientView:
        loop_p99 = percentile(self.loop_lags, 99)
        dispatch_p95 = percentile(self.dispatch_lags, 95)
        return ClientView(
            loop_lag_p50_ms=_ms(percentile(self.loop_lags, 50)),
            loop_lag_p99_ms=_ms(loop_p99),
            loop_lag_max_ms=_ms(max(self.loop_lags) if self.loop_lags else None),
            dispatch_lag_p95_ms=_ms(dispatch_p95),
            client_bound=client_bound(loop_p99, dispatch_p95, self.dispatch_limit_s),
        )


def client_bound(
    loop_lag_p99_s: float | None,
    dispatch_lag_p95_s: float | None,
    dispatch_limit_s: float = 0.010,
) -> bool:
    """Whether the load generator, not the server, set the pace.

    A loop that wakes more than 5 ms late (p99) delays reading every stream, so chunk times
    and TTFT include the client's own delay; requests sent more than 10 ms after their
    scheduled time (p95) mean the offered load was lower than asked. N users "at once" only
    need to be sent before the first answer ends, so their limit is that time when longer.
    """
    return (loop_lag_p99_s or 0) > 0.005 or (dispatch_lag_p95_s or 0) > dispatch_limit_s


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


async def _monitor_loop(health: ClientHealth, stop: asyncio.Event, interval: float = 0.01) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(interval)
        health.loop_lags.append(max(0.0, time.perf_counter() - before - interval))


class MetricsSampler(threading.Thread):
    """Reads /metrics every `interval` seconds on its own thread.

    A thread, not a task on the client's loop: when that loop is busy with hundreds of
    streams, readings would bunch up exactly when they matter most.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        clock: Clock,
        on_sample: Callable[[ServerSample], None],
        interval: float,
    ) -> None:
        super().__init__(name="servecap-metrics", daemon=True)
        self.url = endpoint.root + "/metrics"
        self.headers = endpoint.headers()
        self.clock = clock
        self.on_sample = on_sample
        self.interval = interval
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                self.on_sample(fetch_metrics(self.url, self.headers, clock=self.clock))
            except urllib.error.HTTPError:
                return  # no /metrics: not a vLLM server, no server view
            except (urllib.error.URLError, OSError, ValueError):
                pass
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=15)


async def _open_connections(session: aiohttp.ClientSession, endpoint: Endpoint, count: int) -> None:
    """Open `count` keep-alive connections before the clock starts, so that the first
    requests' TTFT does not include TCP set-up (each connection carries one GET /v1/models)."""

    async def one() -> None:
        async with session.get(endpoint.root + "/v1/models", headers=endpoint.headers()) as r:
            await r.read()

    await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)


@dataclass
class Runner:
    """Sends prepared requests according to a profile and reports each finished record."""

    session: aiohttp.ClientSession
    endpoint: Endpoint
    on_record: Callable[[RequestRecord], None]
    on_sample: Callable[[ServerSample], None] = lambda sample: None
    clock: Clock = time.perf_counter
    timeout_s: float = 600.0
    sample_interval_s: float = 0.5
    extra_body: dict[str, object] = field(default_factory=dict)
    tokenize_output: bool = False  # count usage-less answers with the server's /tokenize
    health: ClientHealth = field(default_factory=ClientHealth)  # of the latest run() only
    in_flight: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def run(
        self,
        profile: LoadProfile,
        requests: list[PreparedRequest],
        warmup: list[PreparedRequest] | None = None,
        phase: str = "",
        seed: int = 0,
        start_at: float | None = None,
    ) -> ClientHealth:
        """Run warm-up requests (together, flagged), then the profile, at Unix time
        `start_at` if given (so that clients on several machines or processes start together).

        Returns the client's health over this run alone (warm-up left out), so each step of
        a sweep is judged on its own.
        """
        self.health = ClientHealth()
        session = self.session
        stop = asyncio.Event()
        monitor: asyncio.Task[None] | None = None
        sampler = MetricsSampler(self.endpoint, self.clock, self.on_sample, self.sample_interval_s)
        try:
            # all at once: a GPU server compiles its batched kernels (vLLM's sampler for
            # 8+ requests) on the first batch, which must not land in a measured step
            await asyncio.gather(
                *(
                    self._send(session, request, self.clock(), phase, warmup=True)
                    for request in warmup or []
                )
            )
            if start_at is not None:
                await asyncio.sleep(max(0.0, start_at - time.time()))
            # after the wait: vLLM drops connections idle 5 s (VLLM_HTTP_TIMEOUT_KEEP_ALIVE)
            streams = streams_at_start(profile, len(requests))
            await _open_connections(session, self.endpoint, streams)
            monitor = asyncio.create_task(_monitor_loop(self.health, stop))
            sampler.start()
            await self._dispatch(session, profile, requests, phase, seed)
        finally:
            stop.set()
            if monitor is not None:
                await asyncio.gather(monitor, return_exceptions=True)
            if sampler.is_alive():
                await asyncio.to_thread(sampler.stop)
        return self.health

    async def _dispatch(
        self,
        session: aiohttp.ClientSession,
        profile: LoadProfile,
        requests: list[PreparedRequest],
        phase: str,
        seed: int,
    ) -> None:
        if not requests:
            return
        start = self.clock()
        deadline = start + profile.duration_s if profile.duration_s else None
        if profile.mode == "single":
            for request in requests:
                if deadline and self.clock() > deadline:
                    break
                await self._send(session, request, self.clock(), phase)
        elif profile.mode == "users":
            now = self.clock()  # all users start together, like the seed's barrier
            records = await asyncio.gather(*(self._send(session, r, now, phase) for r in requests))
            ends = [r.end_s for r in records if r.end_s is not None]
            if ends:
                self.health.dispatch_limit_s = max(0.010, min(ends) - now)
        elif profile.mode == "concurrency":
            await self._closed_loop(session, profile, requests, phase, deadline)
        else:
            await self._open_loop(session, profile, requests, phase, start, deadline, seed)

    async def _closed_loop(
        self,
        session: aiohttp.ClientSession,
        profile: LoadProfile,
        requests: list[PreparedRequest],
        phase: str,
        deadline: float | None,
    ) -> None:
        limit = profile.requests if profile.requests else (None if deadline else len(requests))
        source = itertools.cycle(requests) if deadline else iter(requests)
        issued = itertools.count()

        async def worker() -> None:
            while True:
                if deadline and self.clock() >= deadline:
                    return
                if limit is not None and next(issued) >= limit:
                    return
                request = next(source, None)
                if request is None:
                    return
                await self._send(session, request, self.clock(), phase)

        assert profile.concurrency is not None
        await asyncio.gather(*(worker() for _ in range(profile.concurrency)))

    async def _open_loop(
        self,
        session: aiohttp.ClientSession,
        profile: LoadProfile,
        requests: list[PreparedRequest],
        phase: str,
        start: float,
        deadline: float | None,
        seed: int,
    ) -> None:
        assert profile.rate is not None
        count = profile.requests or len(requests)
        if deadline:
            count = max(count, int(profile.rate * (profile.duration_s or 0) * 1.5) + 1)
        times = arrival_times(profile.rate, count, profile.burstiness, seed)
        tasks = []
        for offset, request in zip(times, itertools.cycle(requests), strict=False):
            due = start + offset
            if deadline and due > deadline:
                break
            delay = due - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._send(session, request, due, phase)))
        await asyncio.gather(*tasks)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        request: PreparedRequest,
        scheduled: float,
        phase: str,
        warmup: bool = False,
    ) -> RequestRecord:
        record = RequestRecord(
            next(self._ids),
            scheduled_s=scheduled,
            phase=phase,
            warmup=warmup,
            requested_output_tokens=(request.max_tokens if request.force_length else None),
        )
        payload = build_payload(
            self.endpoint, request.prompt, request.max_tokens, request.force_length, self.extra_body
        )
        self.in_flight += 1
        try:
            await stream_request(
                session,
                self.endpoint,
                payload,
                record,
                self.clock,
                self.timeout_s,
                self.tokenize_output,
            )
        except asyncio.CancelledError:
            record.status, record.error_class = "cancelled", "cancelled"
            record.error_detail = "the run was interrupted while this request was in flight"
            record.end_s = self.clock()
            self.on_record(record)
            raise
        finally:
            self.in_flight -= 1
        if not warmup:
            self.health.dispatch_lags.append(max(0.0, record.send_s - scheduled))
        self.on_record(record)
        return record
