"""vLLM's Prometheus /metrics, read with prometheus_client's parser.

Metric names as vLLM V1 exports them (`vllm/v1/metrics/loggers.py`); older releases called
the KV gauge `vllm:gpu_cache_usage_perc` and the prefix-cache counters `..._queries/_hits`.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSample:
    """One reading of vLLM's scheduler gauges and counters (summed over engines)."""

    time_s: float
    running: float | None
    waiting: float | None
    kv_cache_usage: float | None  # 0..1
    preemptions: float | None  # counter, total so far
    prefix_cache_queries: float | None
    prefix_cache_hits: float | None
    num_gpu_blocks: int | None = None
    block_size: int | None = None


_RUNNING = ("vllm:num_requests_running",)
_WAITING = ("vllm:num_requests_waiting",)
_KV = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
_PREEMPT = ("vllm:num_preemptions", "vllm:num_preemptions_total")
_PREFIX_Q = ("vllm:prefix_cache_queries", "vllm:gpu_prefix_cache_queries")
_PREFIX_H = ("vllm:prefix_cache_hits", "vllm:gpu_prefix_cache_hits")


_CONFIG = "vllm:cache_config_info"
_WANTED = (*_RUNNING, *_WAITING, *_KV, *_PREEMPT, *_PREFIX_Q, *_PREFIX_H, _CONFIG)
_WANTED_LINES = (*_WANTED, *(f"# {kind} {name}" for kind in ("HELP", "TYPE") for name in _WANTED))


def _wanted_lines(text: str) -> str:
    """The lines of the metrics read here. vLLM's page is mostly histogram buckets, and
    parsing all of them holds the GIL for milliseconds, which a load generator's event loop
    (the sampler runs on its thread) feels as lag."""
    return "\n".join(line for line in text.splitlines() if line.startswith(_WANTED_LINES))


def parse_metrics(text: str, time_s: float = 0.0) -> ServerSample:
    """Turn a /metrics body into a ServerSample (None for metrics the server lacks)."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[str, float] = {}
    blocks: int | None = None
    block_size: int | None = None
    for family in text_string_to_metric_families(_wanted_lines(text)):
        for sample in family.samples:
            name = sample.name
            if name.endswith("_created"):
                continue
            if name == _CONFIG:
                raw_blocks = sample.labels.get("num_gpu_blocks")
                raw_size = sample.labels.get("block_size")
                blocks = int(raw_blocks) if raw_blocks and raw_blocks.isdigit() else None
                block_size = int(raw_size) if raw_size and raw_size.isdigit() else None
                continue
            if "reason" in sample.labels:  # per-reason breakdowns repeat the totals
                continue
            totals[name] = totals.get(name, 0.0) + float(sample.value)

    def pick(names: tuple[str, ...]) -> float | None:
        for name in names:
            for key in (name, f"{name}_total"):
                if key in totals:
                    return totals[key]
        return None

    return ServerSample(
        time_s=time_s,
        running=pick(_RUNNING),
        waiting=pick(_WAITING),
        kv_cache_usage=pick(_KV),
        preemptions=pick(_PREEMPT),
        prefix_cache_queries=pick(_PREFIX_Q),
        prefix_cache_hits=pick(_PREFIX_H),
        num_gpu_blocks=blocks,
        block_size=block_size,
    )


def fetch_metrics(
    url: str,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    clock: Callable[[], float] = lambda: 0.0,
) -> ServerSample:
    """Read one /metrics page (`url` ends in /metrics) and parse it, stamped with `clock()`.

    urllib's errors reach the caller: HTTPError means the server has no /metrics.
    """
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read().decode("utf-8", errors="replace")
    return parse_metrics(text, clock())
