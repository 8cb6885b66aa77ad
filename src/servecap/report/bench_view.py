"""Terminal views of a load test: metric table, aggregates, server and client views, SLOs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from ..loadtest.records import METRIC_KEYS
from .text import DEFINITIONS, NAME_MAPS, OWN_NAMES, server_sentence

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from ..loadtest.records import RequestRecord
    from ..loadtest.steps import Step
    from ..loadtest.summary import RunSummary

_STATS = ("mean", "p50", "p90", "p95", "p99", "max")


def _cell(value: float | None, key: str) -> str:
    if value is None:
        return "-"
    if key == "tokens_per_s":
        return f"{value:.1f}"
    return f"{value * 1000:.1f}"


def metrics_table(summary: RunSummary, names: str = "servecap") -> Table:
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, title_justify="left")
    table.add_column("metric")
    table.add_column("unit")
    table.add_column("n", justify="right")
    for stat in _STATS:
        table.add_column(stat, justify="right")
    labels = NAME_MAPS.get(names, OWN_NAMES)
    for key in METRIC_KEYS:
        stats = summary.metric(key)
        unit = "tok/s" if key == "tokens_per_s" else "ms"
        table.add_row(
            labels[key],
            unit,
            str(stats.count),
            *(_cell(stats.percentile(s), key) for s in _STATS),
        )
    return table


def aggregate_lines(s: RunSummary) -> list[str]:
    lines = [
        f"requests: {s.requests} ({s.succeeded} succeeded, {s.failed} failed"
        + (f", {s.cancelled} cancelled" if s.cancelled else "")
        + ")"
        + (f"; errors: {', '.join(f'{k} {v}' for k, v in s.errors.items())}" if s.errors else ""),
        f"duration {s.duration_s:.2f} s; output {s.output_tokens_total:,} tokens; "
        f"{_num(s.output_throughput_tok_s)} tok/s; {_num(s.request_throughput_rps, 3)} "
        f"requests/s; goodput {_num(s.goodput_rps, 3)} requests/s",
    ]
    if s.ended_early:
        lines.append(f"warning: {s.ended_early} requests ended before their forced length")
    if s.usage_missing:
        lines.append(
            f"warning: the server sent no usage for {s.usage_missing} requests; "
            + _fallback_counts(s.token_sources or {"chunks": s.usage_missing})
        )
    return lines


def _fallback_counts(sources: dict[str, int]) -> str:
    """How the tokens of requests without usage were counted, in words."""
    parts = []
    if sources.get("tokenizer"):
        parts.append(f"{sources['tokenizer']} counted with the server's tokenizer (/tokenize)")
    if sources.get("chunks"):
        parts.append(f"{sources['chunks']} counted as stream chunks (one token per chunk)")
    return "; ".join(parts)


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def summary_renderables(
    summary: RunSummary, names: str = "servecap", definitions: bool = True
) -> list[RenderableType]:
    out: list[RenderableType] = [metrics_table(summary, names), ""]
    out += aggregate_lines(summary)
    if summary.server is not None:
        out.append("server: " + server_sentence(summary.server, summary.requests))
    client = summary.client
    if client is not None:
        verdict = (
            "[bold red]the client was the bottleneck: treat these numbers as a lower bound[/]"
            if client.client_bound
            else "the client kept up"
        )
        where = f" (worst step {client.worst_step})" if client.worst_step else ""
        out.append(
            f"client{where}: event-loop lag p99 {client.loop_lag_p99_ms} ms, dispatch "
            f"lag p95 {client.dispatch_lag_p95_ms} ms; {verdict}"
        )
    for result in summary.slos:
        mark = "[green]met[/]" if result.met else "[red]missed[/]"
        shown = "-" if result.value is None else f"{result.value:.4g}"
        out.append(f"SLO {result.slo}: {shown} {mark}")
    if definitions:
        out.append("")
        out += [f"[dim]{text}[/]" for text in DEFINITIONS.values()]
    return out


def steps_table(steps: list[Step]) -> Table:
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for col in (
        "step",
        "ok/total",
        "tok/s",
        "req/s",
        "TTFT p50 ms",
        "TTFT p95 ms",
        "TPOT p50 ms",
        "tok/s/user p50",
        "max running",
        "max waiting",
        "SLOs",
    ):
        table.add_column(col, justify="right")
    for step in steps:
        s = step.summary
        met = s.slos_met
        table.add_row(
            step.phase or "run",
            f"{s.succeeded}/{s.requests}",
            _num(s.output_throughput_tok_s),
            _num(s.request_throughput_rps, 2),
            _cell(s.ttft_s.p50, "ttft_s"),
            _cell(s.ttft_s.p95, "ttft_s"),
            _cell(s.tpot_s.p50, "tpot_s"),
            _cell(s.tokens_per_s.p50, "tokens_per_s"),
            _num(s.server.max_running if s.server else None, 0),
            _num(s.server.max_waiting if s.server else None, 0),
            "-" if met is None else ("met" if met else "missed"),
        )
    return table


CSV_COLUMNS = (
    "request_id",
    "phase",
    "warmup",
    "status",
    "error_class",
    "http_status",
    "send_s",
    "ttft_s",
    "tpot_s",
    "e2e_s",
    "prompt_tokens",
    "output_tokens",
    "token_source",
    "finish_reason",
    "error_detail",
)


def write_csv(records: list[RequestRecord], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for record in records:
            row = record.to_dict()
            writer.writerow([row.get(c) for c in CSV_COLUMNS])
