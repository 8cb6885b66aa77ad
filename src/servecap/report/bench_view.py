"""Terminal views of a load test: metric table, aggregates, server and client views, SLOs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bench_summary import DEFINITIONS, METRIC_KEYS, NAME_MAPS, server_sentence

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from ..loadtest.bench import StepResult
    from ..loadtest.records import RequestRecord

_STATS = ("mean", "p50", "p90", "p95", "p99", "max")
_OWN_NAMES = {
    "ttft_s": "TTFT",
    "tpot_s": "TPOT",
    "itl_s": "ITL",
    "e2e_s": "E2E",
    "tokens_per_s": "tokens/s",
}


def _cell(value: float | None, key: str) -> str:
    if value is None:
        return "-"
    if key == "tokens_per_s":
        return f"{value:.1f}"
    return f"{value * 1000:.1f}"


def metrics_table(summary: dict[str, Any], names: str = "servecap") -> Table:
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, title_justify="left")
    table.add_column("metric")
    table.add_column("unit")
    table.add_column("n", justify="right")
    for stat in _STATS:
        table.add_column(stat, justify="right")
    labels = NAME_MAPS.get(names, _OWN_NAMES)
    for key in METRIC_KEYS:
        stats = summary.get(key) or {}
        label = labels[key]
        unit = "tok/s" if key == "tokens_per_s" else "ms"
        table.add_row(
            label, unit, str(stats.get("count", 0)), *(_cell(stats.get(s), key) for s in _STATS)
        )
    return table


def aggregate_lines(summary: dict[str, Any]) -> list[str]:
    s = summary
    lines = [
        f"requests: {s['requests']} ({s['succeeded']} succeeded, {s['failed']} failed"
        + (f", {s['cancelled']} cancelled" if s.get("cancelled") else "")
        + ")"
        + (
            f"; errors: {', '.join(f'{k} {v}' for k, v in s['errors'].items())}"
            if s["errors"]
            else ""
        ),
        f"duration {s['duration_s']:.2f} s; output {s['output_tokens_total']:,} tokens; "
        f"{_num(s['output_throughput_tok_s'])} tok/s; {_num(s['request_throughput_rps'], 3)} "
        f"requests/s; goodput {_num(s['goodput_rps'], 3)} requests/s",
    ]
    if s.get("ended_early"):
        lines.append(f"warning: {s['ended_early']} requests ended before their forced length")
    if s.get("usage_missing"):
        lines.append(
            f"warning: the server sent no usage for {s['usage_missing']} requests; "
            + _fallback_counts(s.get("token_sources") or {"chunks": s["usage_missing"]})
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
    summary: dict[str, Any], names: str = "servecap", definitions: bool = True
) -> list[RenderableType]:
    out: list[RenderableType] = [metrics_table(summary, names), ""]
    out += aggregate_lines(summary)
    if summary.get("server"):
        out.append("server: " + server_sentence(summary["server"], summary["requests"]))
    client = summary.get("client") or {}
    if client:
        verdict = (
            "[bold red]the client was the bottleneck: treat these numbers as a lower bound[/]"
            if client.get("client_bound")
            else "the client kept up"
        )
        where = f" (worst step {client['worst_step']})" if client.get("worst_step") else ""
        out.append(
            f"client{where}: event-loop lag p99 {client.get('loop_lag_p99_ms')} ms, dispatch "
            f"lag p95 {client.get('dispatch_lag_p95_ms')} ms; {verdict}"
        )
    for result in summary.get("slos") or []:
        mark = "[green]met[/]" if result["met"] else "[red]missed[/]"
        value = result["value"]
        shown = "-" if value is None else f"{value:.4g}"
        out.append(f"SLO {result['slo']}: {shown} {mark}")
    if definitions:
        out.append("")
        out += [f"[dim]{text}[/]" for text in DEFINITIONS.values()]
    return out


def steps_table(steps: list[StepResult]) -> Table:
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
        server = s.get("server") or {}
        slos = s.get("slos")
        verdict = "-" if not slos else ("met" if all(r["met"] for r in slos) else "missed")
        table.add_row(
            step.phase or "run",
            f"{s['succeeded']}/{s['requests']}",
            _num(s["output_throughput_tok_s"]),
            _num(s["request_throughput_rps"], 2),
            _cell(s["ttft_s"].get("p50"), "ttft_s"),
            _cell(s["ttft_s"].get("p95"), "ttft_s"),
            _cell(s["tpot_s"].get("p50"), "tpot_s"),
            _cell(s["tokens_per_s"].get("p50"), "tokens_per_s"),
            _num(server.get("max_running"), 0),
            _num(server.get("max_waiting"), 0),
            verdict,
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
