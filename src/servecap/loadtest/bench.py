"""`bench` as a library: check the server, prepare the workload, run, write, summarise."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ..errors import InvalidValueError
from ..outputs import default_output
from ..vllm.metrics import ServerSample
from .client import Endpoint, open_session
from .load import LoadProfile, LoadStep, load_steps
from .records import RequestRecord
from .results import ResultWriter
from .runner import Runner
from .server_info import ServerInfo, check_server, token_counter
from .slo import SLO
from .steps import RunResult, Step, capacity_sentence, saturation, summarize_step
from .summary import ClientView, combine_clients, summarize_run
from .workload import WorkloadSpec, prepare


@dataclass
class BenchConfig:
    """One benchmark: where, what load, which workload, and where results go."""

    endpoint: Endpoint
    profile: LoadProfile
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    warmup: int = 0
    sweep_users: list[int] = field(default_factory=list)
    sweep_rates: list[float] = field(default_factory=list)
    slos: list[SLO] = field(default_factory=list)
    output: Path = field(default_factory=lambda: default_output("bench"))
    timeout_s: float = 600.0
    sample_interval_s: float = 0.5
    seed: int = 0
    start_at: float | None = None  # Unix time of the first measured request (several clients)

    def __post_init__(self) -> None:
        limits = (("--timeout", self.timeout_s), ("--metrics-interval", self.sample_interval_s))
        for flag, value in limits:
            if not 0 < value < math.inf:
                raise InvalidValueError(f"{flag} must be positive, not {value}", f"give {flag} > 0")
        if self.warmup < 0:
            raise InvalidValueError(
                f"--warmup must not be negative, not {self.warmup}", "give 0 or more"
            )
        if self.start_at is not None and not math.isfinite(self.start_at):
            raise InvalidValueError(
                f"--start-at {self.start_at} is not a Unix time",
                "give a future Unix time, e.g. $(($(date +%s) + 30))",
            )
        if self.start_at is not None and self.start_at < time.time() - 1:
            ago = time.time() - self.start_at
            raise InvalidValueError(
                f"--start-at {self.start_at:.0f} is {ago:.0f} s in the past",
                "give a future Unix time, e.g. $(($(date +%s) + 30))",
            )

    @property
    def sweep(self) -> bool:
        return bool(self.sweep_users or self.sweep_rates)

    @property
    def mode(self) -> str:
        return "sweep" if self.sweep else self.profile.mode

    def steps(self) -> list[LoadStep]:
        return load_steps(self.profile, self.sweep_users, self.sweep_rates)


@dataclass
class BenchProgress:
    """Live counters for a progress display (updated from the run's loop)."""

    phase: str = ""
    planned: int = 0
    done: int = 0
    failed: int = 0
    output_tokens: int = 0
    started_s: float = field(default_factory=time.perf_counter)
    running: float | None = None
    waiting: float | None = None
    kv_usage: float | None = None


def _meta(config: BenchConfig, info: ServerInfo) -> dict[str, Any]:
    """The result file's run line: what was run (never the API key)."""
    workload = config.workload
    return {
        "tool": "servecap bench",
        "url": config.endpoint.root,
        "model": config.endpoint.model,
        "endpoint": config.endpoint.kind,
        "mode": config.mode,
        "profile": vars(config.profile),
        "workload": {
            "source": workload.source,
            "prompt_tokens": vars(workload.prompt_tokens),
            "output_tokens": vars(workload.output_tokens),
            "force_length": workload.force_length,
            "dataset": str(workload.dataset) if workload.dataset else None,
        },
        "warmup": config.warmup,
        "slos": [s.spec for s in config.slos],
        "tokenize": info.has_tokenize,
    }


class _Recorder:
    """Writes each record and sample the moment it arrives, and keeps them for the summary."""

    def __init__(
        self,
        writer: ResultWriter,
        progress: BenchProgress,
        on_record: Callable[[RequestRecord], None] | None,
    ) -> None:
        self.writer = writer
        self.progress = progress
        self.on_record = on_record
        self.records: list[RequestRecord] = []
        self.samples: list[ServerSample] = []
        self.clients: dict[str, list[ClientView]] = {}

    def record(self, record: RequestRecord) -> None:
        self.writer.request(record)
        self.records.append(record)
        if not record.warmup:
            self.progress.done += 1
            self.progress.failed += 0 if record.ok else 1
            self.progress.output_tokens += (record.output_tokens or 0) if record.ok else 0
        if self.on_record:
            self.on_record(record)

    def sample(self, sample: ServerSample) -> None:
        self.writer.server(sample)
        self.samples.append(sample)
        self.progress.running, self.progress.waiting = sample.running, sample.waiting
        self.progress.kv_usage = sample.kv_cache_usage

    def client(self, phase: str, view: ClientView) -> None:
        self.clients[phase] = [view]
        self.writer.write({"type": "client", "phase": phase, **view.to_dict()})


async def run_bench(
    config: BenchConfig,
    progress: BenchProgress | None = None,
    on_record: Callable[[RequestRecord], None] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> RunResult:
    """Run the benchmark; every finished request is on disk before the next line runs.

    All requests, /tokenize calls and checks share one session: `session`, or one opened
    (and closed) here.
    """
    if session is None:
        async with open_session() as own:
            return await run_bench(config, progress, on_record, own)
    info = await check_server(session, config.endpoint)
    counter = token_counter(session, config.endpoint) if info.has_tokenize else None
    clock = time.perf_counter
    writer = ResultWriter(config.output, _meta(config, info), clock)
    progress = progress or BenchProgress()
    recorder = _Recorder(writer, progress, on_record)
    runner = Runner(
        session,
        config.endpoint,
        recorder.record,
        recorder.sample,
        clock=clock,
        timeout_s=config.timeout_s,
        sample_interval_s=config.sample_interval_s,
        extra_body=config.workload.extra,
        tokenize_output=info.has_tokenize,
    )
    steps: list[Step] = []
    stopped: str | None = None
    status = "failed"
    try:
        warmup = await prepare(config.workload, config.warmup, counter) if config.warmup else []
        prepared = len(warmup)
        for load in config.steps():
            requests = await prepare(
                config.workload,
                load.requests,
                counter,
                seed_single=load.profile.mode == "single",
                first=prepared,
            )
            prepared += load.requests
            progress.phase, progress.planned = load.phase, load.requests
            progress.done = progress.failed = 0
            first = len(recorder.records)
            try:
                await runner.run(
                    load.profile,
                    requests,
                    warmup if not steps else None,
                    load.phase,
                    config.seed,
                    start_at=config.start_at if not steps else None,
                )
            finally:  # also when interrupted: a partial file keeps the step's client view
                recorder.client(load.phase, runner.health.view())
            steps.append(
                summarize_step(
                    load.phase,
                    load.load,
                    load.unit,
                    recorder.records[first:],
                    recorder.samples,
                    load.profile.mode,
                    config.slos,
                    recorder.clients[load.phase][0],
                )
            )
            stopped = saturation(steps[-2] if len(steps) > 1 else None, steps[-1])
            if stopped and config.sweep:
                break
            stopped = None
        status = "complete"
    except asyncio.CancelledError:
        status = "interrupted"
        raise
    finally:
        writer.close(status)
    summary = summarize_run(
        recorder.records,
        recorder.samples,
        config.mode,
        config.slos,
        combine_clients(recorder.clients),
    )
    capacity = capacity_sentence(steps, config.slos)
    return RunResult(
        summary, steps, config.output, capacity, stopped, recorder.records, recorder.samples
    )
