"""`bench` as a library: check the server, prepare the workload, run, write, summarise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ..errors import InputError
from ..report.bench_summary import combine_clients, step_summary, summarize
from ..vllm.metrics import ServerSample
from .client import Endpoint, tokenize
from .records import RequestRecord
from .results import ResultWriter
from .runner import LoadProfile, Runner
from .slo import SLO
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
    output: Path = Path("servecap-bench.jsonl")
    timeout_s: float = 600.0
    sample_interval_s: float = 0.5
    seed: int = 0
    start_at: float | None = None  # Unix time of the first measured request (several clients)


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


@dataclass
class StepResult:
    """One load level of a run (the whole run when it is not a sweep)."""

    phase: str
    load: float  # users, concurrency or rate
    summary: dict[str, Any]


@dataclass
class BenchResult:
    path: Path
    summary: dict[str, Any]
    steps: list[StepResult]
    capacity_sentence: str | None = None
    stopped_early: str | None = None


@dataclass(frozen=True)
class ServerInfo:
    models: list[str]
    has_tokenize: bool


async def check_server(endpoint: Endpoint) -> ServerInfo:
    """Fail fast, in one line, on an unreachable URL or a model the server does not serve."""
    timeout = aiohttp.ClientTimeout(total=15)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(
                endpoint.root + "/v1/models", headers=endpoint.headers()
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
                body = await response.json(content_type=None)
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
    models = [m.get("id", "") for m in (body.get("data") or []) if isinstance(m, dict)]
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
        ) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


def token_counter(endpoint: Endpoint) -> Callable[[str | list[dict[str, str]]], Any]:
    """Count a prompt's tokens with the server's /tokenize, templated as the endpoint sends it."""

    async def count(prompt: str | list[dict[str, str]]) -> int | None:
        body: dict[str, Any] = {"model": endpoint.model}
        if endpoint.kind == "chat":
            messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            body.update(messages=messages, add_generation_prompt=True)
        else:
            body["prompt"] = prompt
        async with aiohttp.ClientSession() as session:
            return await tokenize(session, endpoint, body)

    return count


def _steps(config: BenchConfig) -> list[tuple[str, LoadProfile, float, int]]:
    """(phase, profile, load, request count) per step."""
    p = config.profile
    if config.sweep_users:
        return [(f"users={n}", LoadProfile("users", requests=n), n, n) for n in config.sweep_users]
    if config.sweep_rates:
        count = p.requests or 100
        return [
            (
                f"rate={r:g}",
                LoadProfile("rate", requests=count, rate=r, burstiness=p.burstiness),
                r,
                count,
            )
            for r in config.sweep_rates
        ]
    if p.mode == "users":
        return [("", p, p.requests or 1, p.requests or 1)]
    if p.mode == "single":
        return [("", p, 1, p.requests or 1)]
    count = p.requests or (max(64, (p.concurrency or 1) * 4) if p.duration_s else 100)
    load = p.concurrency if p.mode == "concurrency" else p.rate
    return [("", p, float(load or 0), count)]


def _saturated(previous: StepResult | None, current: StepResult) -> str | None:
    """Why a sweep should stop: throughput stopped growing while the server queued."""
    if previous is None:
        return None
    prev_tp = previous.summary.get("output_throughput_tok_s") or 0
    tp = current.summary.get("output_throughput_tok_s") or 0
    server = current.summary.get("server") or {}
    queued = (server.get("max_waiting") or 0) > 0
    if prev_tp and tp < prev_tp * 1.05 and queued:
        return (
            f"saturated at {current.phase}: output throughput {tp:.1f} tok/s did not grow "
            f"beyond {prev_tp:.1f} while requests waited in vLLM's queue"
        )
    if (current.summary.get("failed") or 0) > current.summary.get("requests", 0) / 2:
        return f"stopped at {current.phase}: most requests failed"
    return None


def capacity_sentence(steps: list[StepResult], slos: list[SLO], unit: str) -> str | None:
    """The largest load meeting every SLO, in one plain sentence."""
    if not slos:
        return None
    names = "; ".join(str(s) for s in slos)
    passing = [
        s for s in steps if s.summary.get("slos") and all(r["met"] for r in s.summary["slos"])
    ]
    if not passing:
        first = steps[0] if steps else None
        worst = ""
        if first:
            missed = [r for r in first.summary.get("slos", []) if not r["met"]]
            if missed:
                worst = (
                    f" (at {first.phase or unit}: {missed[0]['slo']} was "
                    f"{_fmt(missed[0]['value'])})"
                )
        return f"No tested load meets every SLO ({names}){worst}."
    best = max(passing, key=lambda s: s.load)
    text = f"With {names}, the server handles up to {best.load:g} {unit} at once."
    above = [s for s in steps if s.load > best.load]
    if above:
        nxt = min(above, key=lambda s: s.load)
        missed = [r for r in nxt.summary.get("slos", []) if not r["met"]]
        if missed:
            text = text[:-1] + (
                f"; at {nxt.load:g} {unit}, {missed[0]['slo'].split(' ')[0]} "
                f"{missed[0]['slo'].split(' ')[1]} was {_fmt(missed[0]['value'])}."
            )
    return text


def _fmt(value: float | None) -> str:
    if value is None:
        return "not measured"
    return f"{value:.3g}"


async def run_bench(
    config: BenchConfig,
    progress: BenchProgress | None = None,
    on_record: Callable[[RequestRecord], None] | None = None,
) -> BenchResult:
    """Run the benchmark; every finished request is on disk before the next line runs."""
    info = await check_server(config.endpoint)
    counter = token_counter(config.endpoint) if info.has_tokenize else None
    meta = {
        "tool": "servecap bench",
        "url": config.endpoint.root,
        "model": config.endpoint.model,
        "endpoint": config.endpoint.kind,
        "mode": "sweep" if (config.sweep_users or config.sweep_rates) else config.profile.mode,
        "profile": vars(config.profile),
        "workload": {
            "source": config.workload.source,
            "prompt_tokens": vars(config.workload.prompt_tokens),
            "output_tokens": vars(config.workload.output_tokens),
            "force_length": config.workload.force_length,
            "dataset": str(config.workload.dataset) if config.workload.dataset else None,
        },
        "warmup": config.warmup,
        "slos": [str(s) for s in config.slos],
        "tokenize": info.has_tokenize,
    }
    clock = time.perf_counter
    writer = ResultWriter(config.output, meta, clock)
    progress = progress or BenchProgress()
    all_records: list[RequestRecord] = []
    samples: list[ServerSample] = []
    clients: dict[str, list[dict[str, Any]]] = {}

    def record_done(record: RequestRecord) -> None:
        writer.request(record)
        all_records.append(record)
        if not record.warmup:
            progress.done += 1
            progress.failed += 0 if record.ok else 1
            progress.output_tokens += (record.output_tokens or 0) if record.ok else 0
        if on_record:
            on_record(record)

    def sample_done(sample: ServerSample) -> None:
        writer.server(sample)
        samples.append(sample)
        progress.running, progress.waiting = sample.running, sample.waiting
        progress.kv_usage = sample.kv_cache_usage

    runner = Runner(
        config.endpoint,
        record_done,
        sample_done,
        clock=clock,
        timeout_s=config.timeout_s,
        sample_interval_s=config.sample_interval_s,
        extra_body=config.workload.extra,
        tokenize_output=info.has_tokenize,
    )
    steps: list[StepResult] = []
    stopped: str | None = None
    status = "failed"
    try:
        warmup = await prepare(config.workload, config.warmup, counter) if config.warmup else []
        prepared = len(warmup)
        for phase, profile, load, count in _steps(config):
            requests = await prepare(
                config.workload,
                count,
                counter,
                seed_single=profile.mode == "single",
                first=prepared,
            )
            prepared += count
            progress.phase, progress.planned = phase, count
            progress.done = progress.failed = 0
            step_records_from = len(all_records)
            try:
                await runner.run(
                    profile,
                    requests,
                    warmup if not steps else None,
                    phase,
                    config.seed,
                    start_at=config.start_at if not steps else None,
                )
            finally:  # also when interrupted: a partial file keeps the step's client view
                client = runner.health.to_dict()
                clients[phase] = [client]
                writer.write({"type": "client", "phase": phase, **client})
            step = StepResult(
                phase,
                load,
                step_summary(
                    all_records[step_records_from:], samples, profile.mode, config.slos, client
                ),
            )
            steps.append(step)
            stopped = _saturated(steps[-2] if len(steps) > 1 else None, step)
            if stopped and (config.sweep_users or config.sweep_rates):
                break
            stopped = None
        status = "complete"
    except asyncio.CancelledError:
        status = "interrupted"
        raise
    finally:
        writer.close(status)
    mode = "sweep" if (config.sweep_users or config.sweep_rates) else config.profile.mode
    summary = summarize(all_records, samples, mode, config.slos, combine_clients(clients))
    unit = (
        "users"
        if config.sweep_users or config.profile.mode == "users"
        else ("requests/s" if config.sweep_rates or config.profile.mode == "rate" else "streams")
    )
    sentence = capacity_sentence(steps, config.slos, unit) if config.slos else None
    return BenchResult(config.output, summary, steps, sentence, stopped)
