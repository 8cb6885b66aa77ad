"""A run's summary as typed data: counts, throughput, one Summary per metric, SLOs, and what
the server and the client saw. `bench`, `simulate`, `calibrate` and `report` all build it here;
`to_dict()` is the `--json` object.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

from ..vllm.metrics import ServerSample
from .records import METRIC_KEYS, RequestRecord, itl_values, metric_values
from .slo import SLO, SLOResult, evaluate_slos, request_meets
from .stats import Summary


@dataclass(frozen=True)
class ServerView:
    """What vLLM's own gauges showed during a run."""

    samples: int
    max_running: float
    median_running: float
    max_waiting: float
    max_kv_usage: float | None
    preemptions: float
    prefix_cache_hit_rate: float | None
    num_gpu_blocks: int | None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def server_view(samples: list[ServerSample]) -> ServerView | None:
    """The server view of a run's /metrics samples (None when none could be read)."""
    readable = [s for s in samples if s.running is not None]
    if not readable:
        return None
    running = [s.running or 0.0 for s in readable]
    waiting = [s.waiting or 0.0 for s in readable]
    kv = [s.kv_cache_usage for s in readable if s.kv_cache_usage is not None]
    preempt = [s.preemptions for s in readable if s.preemptions is not None]
    queries = [s.prefix_cache_queries for s in readable if s.prefix_cache_queries is not None]
    hits = [s.prefix_cache_hits for s in readable if s.prefix_cache_hits is not None]
    hit_rate = None
    if len(queries) >= 2 and len(hits) >= 2 and queries[-1] > queries[0]:
        hit_rate = (hits[-1] - hits[0]) / (queries[-1] - queries[0])
    return ServerView(
        samples=len(readable),
        max_running=max(running),
        median_running=statistics.median(running),
        max_waiting=max(waiting),
        max_kv_usage=max(kv) if kv else None,
        preemptions=(preempt[-1] - preempt[0]) if len(preempt) >= 2 else 0.0,
        prefix_cache_hit_rate=hit_rate,
        num_gpu_blocks=readable[-1].num_gpu_blocks,
    )


@dataclass(frozen=True)
class ClientView:
    """The load generator's own timing over a run: event-loop and dispatch lag."""

    loop_lag_p50_ms: float | None
    loop_lag_p99_ms: float | None
    loop_lag_max_ms: float | None
    dispatch_lag_p95_ms: float | None
    client_bound: bool
    worst_step: str | None = None  # the step it is the worst of, for several steps

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientView:
        """A view read back from a result file's client line."""

        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, int | float) else None

        worst = data.get("worst_step")
        return cls(
            number("loop_lag_p50_ms"),
            number("loop_lag_p99_ms"),
            number("loop_lag_max_ms"),
            number("dispatch_lag_p95_ms"),
            bool(data.get("client_bound")),
            str(worst) if worst else None,
        )

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.worst_step is None:
            del data["worst_step"]
        return data


def combine_clients(views: dict[str, list[ClientView]]) -> ClientView | None:
    """One client view for several steps (or load generators): the worst of them.

    Lags are never pooled across steps: a sweep is client-bound where any one step was, and
    the view names that step.
    """
    flat = [(phase, view) for phase, group in views.items() for view in group]
    if not flat:
        return None
    if len(flat) == 1:
        return flat[0][1]
    phase, worst = max(flat, key=lambda pv: (pv[1].client_bound, pv[1].loop_lag_p99_ms or 0))
    if not phase:
        return worst
    return ClientView(
        worst.loop_lag_p50_ms,
        worst.loop_lag_p99_ms,
        worst.loop_lag_max_ms,
        worst.dispatch_lag_p95_ms,
        worst.client_bound,
        phase,
    )


@dataclass(frozen=True)
class RunSummary:
    """A run (or one step of it) in numbers: what `bench --json` prints at its top level."""

    mode: str
    requests: int
    succeeded: int
    failed: int
    cancelled: int
    errors: dict[str, int]
    success_rate: float | None
    duration_s: float
    output_tokens_total: int
    output_throughput_tok_s: float | None
    request_throughput_rps: float | None
    goodput_rps: float | None
    ended_early: int
    usage_missing: int
    token_sources: dict[str, int]
    ttft_s: Summary
    tpot_s: Summary
    itl_s: Summary
    e2e_s: Summary
    tokens_per_s: Summary
    server: ServerView | None = None
    client: ClientView | None = None
    slos: tuple[SLOResult, ...] = ()
    simulated: bool = False
    engine_steps: int | None = None  # simulated runs: the engine steps taken

    def metric(self, key: str) -> Summary:
        """The Summary of 'ttft_s', 'tpot_s', 'itl_s', 'e2e_s' or 'tokens_per_s'."""
        if key not in METRIC_KEYS:
            raise KeyError(key)
        value: Summary = getattr(self, key)
        return value

    @property
    def slos_met(self) -> bool | None:
        """Whether every SLO was met (None when no SLO was given)."""
        return all(r.met for r in self.slos) if self.slos else None

    @property
    def missed(self) -> list[SLOResult]:
        return [r for r in self.slos if not r.met]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "mode",
                "requests",
                "succeeded",
                "failed",
                "cancelled",
                "errors",
                "success_rate",
                "duration_s",
                "output_tokens_total",
                "output_throughput_tok_s",
                "request_throughput_rps",
                "goodput_rps",
                "ended_early",
                "usage_missing",
                "token_sources",
            )
        }
        for key in METRIC_KEYS:
            data[key] = self.metric(key).to_dict()
        if self.server is not None:
            data["server"] = self.server.to_dict()
        if self.client is not None:
            data["client"] = self.client.to_dict()
        if self.slos:
            data["slos"] = [r.to_dict() for r in self.slos]
        if self.simulated:
            data["simulated"] = True
            data["sim_steps"] = self.engine_steps
        return data


def summarize_run(
    records: list[RequestRecord],
    samples: list[ServerSample] | None = None,
    mode: str = "",
    slos: list[SLO] | None = None,
    client: ClientView | None = None,
    simulated: bool = False,
    engine_steps: int | None = None,
) -> RunSummary:
    """Counts, errors, throughput and one Summary per metric, over the measured requests."""
    measured = [r for r in records if not r.warmup and r.status != "cancelled"]
    ok = [r for r in measured if r.ok]
    starts = [r.send_s for r in measured]
    ends = [r.end_s for r in measured if r.end_s is not None]
    duration = (max(ends) - min(starts)) if starts and ends else 0.0
    out_tokens = sum(r.output_tokens or 0 for r in ok)
    slos = slos or []
    good = sum(1 for r in measured if request_meets(r, slos)) if slos else len(ok)
    metrics = {
        key: Summary.of(itl_values(measured) if key == "itl_s" else metric_values(measured, key))
        for key in METRIC_KEYS
    }
    return RunSummary(
        mode=mode,
        requests=len(measured),
        succeeded=len(ok),
        failed=len(measured) - len(ok),
        cancelled=sum(1 for r in records if r.status == "cancelled"),
        errors=dict(Counter(r.error_class or "other" for r in measured if not r.ok)),
        success_rate=len(ok) / len(measured) if measured else None,
        duration_s=duration,
        output_tokens_total=out_tokens,
        output_throughput_tok_s=out_tokens / duration if duration else None,
        request_throughput_rps=len(ok) / duration if duration else None,
        goodput_rps=good / duration if duration else None,
        ended_early=sum(1 for r in ok if r.ended_early),
        usage_missing=sum(1 for r in ok if r.token_source != "usage"),
        token_sources=dict(Counter(r.token_source for r in ok)),
        server=server_view(samples or []),
        client=client,
        slos=tuple(evaluate_slos(measured, slos)) if slos else (),
        simulated=simulated,
        engine_steps=engine_steps,
        ttft_s=metrics["ttft_s"],
        tpot_s=metrics["tpot_s"],
        itl_s=metrics["itl_s"],
        e2e_s=metrics["e2e_s"],
        tokens_per_s=metrics["tokens_per_s"],
    )


def step_samples(records: list[RequestRecord], samples: list[ServerSample]) -> list[ServerSample]:
    """The /metrics samples taken while a step's requests ran: first send to last end.

    Steps are cut this way everywhere, so a step without a sample inside it has no server
    view ("-"), rather than a reading taken before it began.
    """
    measured = [r for r in records if not r.warmup]
    if not measured:
        return []
    first = min(r.send_s for r in measured)
    last = max(r.end_s if r.end_s is not None else r.send_s for r in measured)
    return [s for s in samples if first <= s.time_s <= last]
