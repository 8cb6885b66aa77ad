"""Summaries of load-test records: the `bench --json` object, server and client views, SLOs.

Metric definitions (printed with every report; the field's names disagree, see NAME_MAPS):
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..loadtest.records import RequestRecord
from ..loadtest.slo import SLO
from ..vllm.metrics import ServerSample
from .stats import Summary, percentile

DEFINITIONS = {
    "ttft_s": "TTFT: send to the first chunk carrying a token (content or reasoning); "
    "role-only chunks do not count",
    "tpot_s": "TPOT: (last token - first token) / (output tokens - 1), per request",
    "itl_s": "ITL: gaps between consecutive token-bearing chunks, pooled over requests",
    "e2e_s": "E2E: send to the last token",
    "tokens_per_s": "tokens/s: output tokens / E2E, per request (what the seed prints)",
}
# The same numbers under other tools' names (shared/research/bench-tools.md §1).
NAME_MAPS = {
    "vllm": {
        "ttft_s": "TTFT",
        "tpot_s": "TPOT",
        "itl_s": "ITL",
        "e2e_s": "E2EL",
        "tokens_per_s": "output tok/s per request",
    },
    "guidellm": {
        "ttft_s": "time_to_first_token",
        "tpot_s": "inter_token_latency",
        "itl_s": "(not recorded)",
        "e2e_s": "request_latency",
        "tokens_per_s": "output_tokens_per_second",
    },
    "aiperf": {
        "ttft_s": "Time to First Token",
        "tpot_s": "Inter Token Latency",
        "itl_s": "Inter Chunk Latency",
        "e2e_s": "Request Latency",
        "tokens_per_s": "Output Token Throughput Per User",
    },
}
METRIC_KEYS = ("ttft_s", "tpot_s", "itl_s", "e2e_s", "tokens_per_s")
_SLO_KEYS = {
    "ttft": "ttft_s",
    "tpot": "tpot_s",
    "itl": "itl_s",
    "e2e": "e2e_s",
    "tokens_per_s": "tokens_per_s",
}


_PER_REQUEST = frozenset({"ttft_s", "tpot_s", "e2e_s", "tokens_per_s"})


def _per_request(record: RequestRecord, key: str) -> float | None:
    value: float | None = getattr(record, key) if key in _PER_REQUEST else None
    return value


def metric_values(records: list[RequestRecord], key: str) -> list[float]:
    """The values of one metric over successful requests (ITL pools every gap)."""
    ok = [r for r in records if r.ok]
    if key == "itl_s":
        return [gap for r in ok for gap in r.itl_s]
    return [v for r in ok if (v := _per_request(r, key)) is not None]


def itl_values(records: list[RequestRecord]) -> np.ndarray:
    """Every chunk gap of the successful requests, pooled (ITL), without a Python loop per
    gap: a simulated run of 10,000 requests holds millions of them."""
    arrays = [np.diff(np.asarray(r.chunk_times_s, dtype=float)) for r in records if r.ok]
    return np.concatenate(arrays) if arrays else np.empty(0)


def request_meets(record: RequestRecord, slos: list[SLO]) -> bool:
    """Whether one request meets every SLO's threshold itself (the goodput criterion)."""
    if not record.ok:
        return False
    for slo in slos:
        key = _SLO_KEYS[slo.metric]
        if key == "itl_s":
            value = max(record.itl_s) if record.itl_s else None
        else:
            value = _per_request(record, key)
        if not slo.request_ok(value):
            return False
    return True


_FAILED = 1e18  # the latency a failed request counts with


@dataclass(frozen=True)
class SLOResult:
    slo: SLO
    value: float | None
    met: bool


def evaluate_slos(records: list[RequestRecord], slos: list[SLO]) -> list[SLOResult]:
    """Each SLO's statistic over the run. Failed requests count as missing the SLO."""
    results = []
    failed = sum(1 for r in records if not r.ok and not r.warmup)
    for slo in slos:
        values = metric_values(records, _SLO_KEYS[slo.metric])
        # a failed request is the worst case: endless latency, zero tokens/s
        values += [0.0 if slo.higher_is_better else _FAILED] * failed
        if slo.quantile is not None:
            value = percentile(values, slo.quantile)
        else:
            summary = Summary.of(values)
            value = summary.percentile(slo.stat)
        met = slo.met_by(value)
        results.append(SLOResult(slo, None if value is not None and value > 1e9 else value, met))
    return results


def server_view(samples: list[ServerSample]) -> dict[str, Any] | None:
    """What vLLM's own gauges showed during the run."""
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
    return {
        "samples": len(readable),
        "max_running": max(running),
        "median_running": statistics.median(running),
        "max_waiting": max(waiting),
        "max_kv_usage": max(kv) if kv else None,
        "preemptions": (preempt[-1] - preempt[0]) if len(preempt) >= 2 else 0.0,
        "prefix_cache_hit_rate": hit_rate,
        "num_gpu_blocks": readable[-1].num_gpu_blocks,
    }


def server_sentence(view: dict[str, Any], requests: int) -> str:
    """The server view in plain words."""
    running = int(view["max_running"])
    parts = [
        f"vLLM ran at most {running} request{'s' if running != 1 else ''} at once "
        f"(median {view['median_running']:g})"
    ]
    if view["max_waiting"] > 0:
        parts.append(f"up to {int(view['max_waiting'])} waited")
    else:
        parts.append("none waited")
    if view["max_kv_usage"] is not None:
        parts.append(f"KV cache peaked at {view['max_kv_usage']:.0%} full")
    parts.append(f"{int(view['preemptions'])} preemption{'s' if view['preemptions'] != 1 else ''}")
    if view["prefix_cache_hit_rate"]:
        parts.append(f"prefix-cache hit rate {view['prefix_cache_hit_rate']:.0%}")
    return "; ".join(parts) + f" (over {requests} requests)."


def summarize(
    records: list[RequestRecord],
    samples: list[ServerSample] | None = None,
    mode: str = "",
    slos: list[SLO] | None = None,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `bench --json` summary: counts, errors, throughput, one Summary per metric."""
    measured = [r for r in records if not r.warmup and r.status != "cancelled"]
    ok = [r for r in measured if r.ok]
    starts = [r.send_s for r in measured]
    ends = [r.end_s for r in measured if r.end_s is not None]
    duration = (max(ends) - min(starts)) if starts and ends else 0.0
    out_tokens = sum(r.output_tokens or 0 for r in ok)
    slos = slos or []
    good = sum(1 for r in measured if request_meets(r, slos)) if slos else len(ok)
    data: dict[str, Any] = {
        "mode": mode,
        "requests": len(measured),
        "succeeded": len(ok),
        "failed": len(measured) - len(ok),
        "cancelled": sum(1 for r in records if r.status == "cancelled"),
        "errors": dict(Counter(r.error_class or "other" for r in measured if not r.ok)),
        "success_rate": len(ok) / len(measured) if measured else None,
        "duration_s": duration,
        "output_tokens_total": out_tokens,
        "output_throughput_tok_s": out_tokens / duration if duration else None,
        "request_throughput_rps": len(ok) / duration if duration else None,
        "goodput_rps": good / duration if duration else None,
        "ended_early": sum(1 for r in ok if r.ended_early),
        "usage_missing": sum(1 for r in ok if r.token_source != "usage"),
        "token_sources": dict(Counter(r.token_source for r in ok)),
    }
    for key in METRIC_KEYS:
        values = itl_values(measured) if key == "itl_s" else metric_values(measured, key)
        data[key] = Summary.of(values).to_dict()
    view = server_view(samples or [])
    if view is not None:
        data["server"] = view
    if client:
        data["client"] = client
    if slos:
        data["slos"] = [
            {"slo": str(r.slo), "value": r.value, "met": r.met}
            for r in evaluate_slos(measured, slos)
        ]
    return data


def step_samples(records: list[RequestRecord], samples: list[ServerSample]) -> list[ServerSample]:
    """The /metrics samples taken while a step's requests ran: first send to last end.

    `bench` and `report` both cut steps this way, so a step without a sample inside it has
    no server view ("-") in either, rather than a reading taken before it began.
    """
    measured = [r for r in records if not r.warmup]
    if not measured:
        return []
    first = min(r.send_s for r in measured)
    last = max(r.end_s if r.end_s is not None else r.send_s for r in measured)
    return [s for s in samples if first <= s.time_s <= last]


def step_summary(
    records: list[RequestRecord],
    samples: list[ServerSample],
    mode: str,
    slos: list[SLO] | None = None,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One sweep step's summary, with only the samples taken during the step."""
    return summarize(records, step_samples(records, samples), mode, slos, client)


def combine_clients(views: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """One client view for several steps (or load generators): the worst of them.

    Lags are never pooled across steps: a sweep is client-bound where any one step was, and
    the view names that step.
    """
    flat = [(phase, view) for phase, group in views.items() for view in group]
    if not flat:
        return None
    if len(flat) == 1:
        return flat[0][1]
    phase, worst = max(
        flat, key=lambda pv: (bool(pv[1].get("client_bound")), pv[1].get("loop_lag_p99_ms") or 0)
    )
    return {**worst, "worst_step": phase} if phase else worst
