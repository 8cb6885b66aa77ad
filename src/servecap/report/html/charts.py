"""The report's charts: memory, latency distributions, load sweeps, /metrics timeline, Gantt.

Each function returns a `figure` (title, chart, legend, caption), or a short note where its
data is empty, so a partial or failed run still renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...loadtest.records import RequestRecord
from ...loadtest.slo import SLO
from ...vllm.metrics import ServerSample
from .layout import figure, legend, no_data
from .plot import Segment, bars, line_chart
from .svg import FULL, Rule, Safe, Series, fmt, fmt_s, join

BLUE, ORANGE, AMBER, GREEN, RED, GREY = (
    "#2563eb",
    "#ea580c",
    "#d97706",
    "#059669",
    "#dc2626",
    "#94a3b8",
)
MEMORY_PARTS = (  # (plan key, label, colour)
    ("weights_gib", "weights", "#4f46e5"),
    ("activation_peak_gib", "activation peak", "#0891b2"),
    ("non_torch_gib", "non-torch", "#64748b"),
    ("other_gib", "other", "#a3a3a3"),
    ("cudagraph_gib", "CUDA graphs", "#a855f7"),
    ("kv_cache_gib", "KV cache", "#10b981"),
)
FREE = "#e5e7eb"
MAX_GANTT_ROWS = 120
CDF_POINTS = 200


def memory_chart(chart_id: str, rows: Sequence[tuple[str, dict[str, Any]]]) -> Safe:
    """Stacked bars of where each plan's GPU memory goes, against the GPU's total."""
    if not rows:
        return no_data("GPU memory", "no plan to draw")
    drawn = []
    total = 0.0
    for label, plan in rows:
        gpu_total = float(plan.get("gpu_total_gib") or 0.0)
        total = max(total, gpu_total)
        segments, at = [], 0.0
        parts = list(MEMORY_PARTS)
        if plan.get("cudagraph_in_budget") is False:  # charged after the budget: drawn past it
            parts.append(parts.pop(4))
        for key, name, color in parts:
            value = float(plan.get(key) or 0.0)
            if value <= 0:
                continue
            if key == "cudagraph_gib" and plan.get("cudagraph_in_budget") is False:
                name += " (outside the budget)"
            share = f" ({value / gpu_total:.0%} of the GPU)" if gpu_total else ""
            segments.append(Segment(at, at + value, color, f"{name}: {value:.2f} GiB{share}"))
            at += value
        if gpu_total > at:
            segments.append(
                Segment(at, gpu_total, FREE, f"free / unreserved: {gpu_total - at:.2f} GiB")
            )
        drawn.append((label, segments))
    rules = []
    if len(rows) == 1:
        plan = rows[0][1]
        util = plan.get("gpu_memory_utilization")
        if util and plan.get("gpu_total_gib"):
            budget = float(util) * float(plan["gpu_total_gib"])
            rules.append(
                Rule(budget, f"vLLM budget {float(util):g} × total", "#111827", vertical=True)
            )
    label_width = max(64, min(220, 8 + 7 * max(len(label) for label, _ in rows)))
    chart = bars(
        chart_id,
        drawn,
        "GPU memory (GiB)",
        lambda v: fmt(v),
        total or None,
        rules,
        row_height=34,
        label_width=label_width,
    )
    keys = legend(
        [(name, color, False) for _, name, color in MEMORY_PARTS] + [("free", FREE, False)]
    )
    caption = (
        "Each bar is one GPU's memory as vLLM accounts it; "
        "the grey end is memory vLLM leaves unused."
    )
    return figure(chart_id, "Where the GPU memory goes", chart, caption, keys)


def _cdf(values: Sequence[float]) -> list[tuple[float, float]]:
    data = np.sort(np.asarray(values, dtype=float))
    if data.size == 0:
        return []
    if data.size > CDF_POINTS:
        qs = np.linspace(0, 1, CDF_POINTS)
        return [(float(np.quantile(data, q)), float(q * 100)) for q in qs]
    return [(float(v), (i + 1) / data.size * 100) for i, v in enumerate(data)]


def latency_cdf(
    chart_id: str,
    title: str,
    sides: Sequence[tuple[str, Sequence[float], str, bool]],
    slo: SLO | None = None,
    unit: str = "s",
) -> Safe:
    """CDFs of one metric for one or more runs: (name, values, colour, dashed).

    Latencies are in seconds (unit "s"); any other unit is printed as it is.
    """
    show = fmt_s if unit == "s" else (lambda v: fmt(v, unit))
    series = []
    for name, values, color, dashed in sides:
        points = _cdf(values)
        if not points:
            continue
        p50, p95 = np.percentile(np.asarray(values, dtype=float), [50, 95])
        tips = [f"{name}: {show(x)} or less for {y:.0f}% of requests" for x, y in points]
        series.append(
            Series(
                f"{name} (p50 {show(float(p50))}, p95 {show(float(p95))})",
                points,
                color,
                dash=dashed,
                step=True,
                markers=False,
                tips=tips,
            )
        )
        if len(points) <= 60:
            series[-1].markers = True
    if not series:
        return no_data(title, "no successful request measured this")
    rules = [Rule(slo.threshold, f"SLO {slo}", RED, vertical=True)] if slo else []
    chart = line_chart(
        chart_id,
        series,
        "seconds" if unit == "s" else unit,
        "% of requests at or below",
        rules,
        x_fmt=show,
        y_fmt=lambda v: f"{v:.0f}%",
        y_max=100.0,
        x_floor=0.0,
        height=260,
    )
    keys = legend([(s.name, s.color, s.dash) for s in series])
    return figure(
        chart_id, title, chart, "Read across: the share of requests at or below each value.", keys
    )


def sweep_chart(
    chart_id: str,
    title: str,
    sides: Sequence[tuple[str, Sequence[tuple[float, float]], str, bool]],
    x_label: str,
    y_label: str,
    rules: Sequence[Rule] = (),
    seconds: bool = False,
    caption: str = "",
) -> Safe:
    """One metric against load (users or rate), one line per side, with SLO rules."""
    series = []
    y_fmt = fmt_s if seconds else fmt
    for name, points, color, dashed in sides:
        if not points:
            continue
        tips = [f"{name} at {fmt(px)}: {y_fmt(py)}" for px, py in points]
        series.append(Series(name, list(points), color, dash=dashed, markers=True, tips=tips))
    if not series:
        return no_data(title, "no load steps to draw")
    chart = line_chart(chart_id, series, x_label, y_label, rules, y_fmt=y_fmt, x_floor=0.0)
    keys = legend(
        [(s.name, s.color, s.dash) for s in series] + [(r.label, r.color, False) for r in rules]
    )
    return figure(chart_id, title, chart, caption, keys)


def _origin(records: Sequence[RequestRecord]) -> float:
    return min((r.send_s for r in records), default=0.0)


def timeline_chart(
    chart_id: str,
    sides: Sequence[tuple[str, Sequence[ServerSample], float, bool]],
    field: str,
    title: str,
    y_label: str,
    scale: float = 1.0,
    colors: tuple[str, ...] = (BLUE, ORANGE),
) -> Safe:
    """One /metrics gauge over time, from each side's first request.

    `sides` holds (name, samples, origin, dashed).
    """
    series = []
    for (name, samples, origin, dashed), color in zip(sides, colors, strict=False):
        points = [
            (s.time_s - origin, float(value) * scale)
            for s in samples
            if (value := getattr(s, field)) is not None
        ]
        if points:
            series.append(Series(name, points, color, dash=dashed, step=True))
    if not series:
        return no_data(title, "the server's /metrics were not read during this run")
    y_max = 100.0 if scale == 100.0 else None
    chart = line_chart(
        chart_id,
        series,
        "seconds since the first request",
        y_label,
        y_max=y_max,
        x_floor=0.0,
        height=220,
    )
    keys = legend([(s.name, s.color, s.dash) for s in series]) if len(series) > 1 else None
    return figure(chart_id, title, chart, "", keys)


def gauges_chart(chart_id: str, samples: Sequence[ServerSample], origin: float) -> Safe:
    """Running and waiting requests, and KV-cache usage, from vLLM's /metrics over the run."""
    readable = [s for s in samples if s.running is not None]
    if not readable:
        return no_data(
            "Server load over time", "the server's /metrics were not read during this run"
        )
    series = [
        Series(
            "running", [(s.time_s - origin, s.running or 0.0) for s in readable], BLUE, step=True
        ),
        Series(
            "waiting", [(s.time_s - origin, s.waiting or 0.0) for s in readable], AMBER, step=True
        ),
    ]
    kv = [
        (s.time_s - origin, s.kv_cache_usage * 100)
        for s in readable
        if s.kv_cache_usage is not None
    ]
    top = line_chart(
        chart_id,
        series,
        "seconds since the first request",
        "requests",
        x_floor=0.0,
        height=260,
        width=FULL,
    )
    parts = [top]
    if kv:
        parts.append(
            line_chart(
                f"{chart_id}-kv",
                [Series("KV cache usage", kv, GREEN, step=True)],
                "seconds since the first request",
                "KV cache used (%)",
                y_fmt=lambda v: f"{v:.0f}%",
                y_max=100.0,
                x_floor=0.0,
                height=200,
                width=FULL,
            )
        )
    keys = legend(
        [("running", BLUE, False), ("waiting", AMBER, False)]
        + ([("KV cache usage", GREEN, False)] if kv else [])
    )
    return figure(
        chart_id,
        "Server load over time (vLLM /metrics)",
        join(parts),
        "Requests vLLM is running and holding in its queue, and how full its KV cache is.",
        keys,
    )


def gantt_chart(chart_id: str, records: Sequence[RequestRecord]) -> Safe:
    """One row per request: client wait, send to first token (queue + prefill), decode."""
    measured = sorted((r for r in records if not r.warmup), key=lambda r: r.send_s)
    if not measured:
        return no_data("Requests over time", "no requests in this run")
    shown = measured
    note = ""
    if len(measured) > MAX_GANTT_ROWS:
        picks = np.linspace(0, len(measured) - 1, MAX_GANTT_ROWS).round().astype(int)
        shown = [measured[i] for i in sorted(set(picks.tolist()))]
        note = f" Showing {len(shown)} of {len(measured)} requests, evenly spread over the run."
    origin = min(min(r.scheduled_s, r.send_s) for r in shown)
    rows = []
    for r in shown:
        segments = []
        label = f"#{r.request_id}" + (f" {r.phase}" if r.phase else "")
        send = r.send_s - origin
        if r.send_s > r.scheduled_s:
            segments.append(
                Segment(
                    r.scheduled_s - origin,
                    send,
                    GREY,
                    f"{label}: waited {fmt_s(r.send_s - r.scheduled_s)} to be sent",
                )
            )
        if not r.ok:
            end = (r.end_s if r.end_s is not None else r.send_s) - origin
            reason = r.error_class or "error"
            detail = f" ({r.error_detail})" if r.error_detail else ""
            segments.append(
                Segment(
                    send,
                    max(end, send),
                    RED,
                    f"{label}: failed after {fmt_s(end - send)}: {reason}{detail}",
                )
            )
        else:
            first = (r.first_token_s if r.first_token_s is not None else r.send_s) - origin
            end = (r.end_s if r.end_s is not None else r.first_token_s or r.send_s) - origin
            segments.append(
                Segment(
                    send,
                    first,
                    AMBER,
                    f"{label}: first token after {fmt_s(first - send)} (server queue + prefill)",
                )
            )
            tokens = f", {r.output_tokens} tokens" if r.output_tokens else ""
            segments.append(
                Segment(
                    first, max(end, first), BLUE, f"{label}: decode {fmt_s(end - first)}{tokens}"
                )
            )
        rows.append(("", segments))
    row_height = max(1.5, min(12.0, 480 / len(rows)))
    chart = bars(
        chart_id,
        rows,
        "seconds since the first request",
        row_height=row_height,
        gap=max(0.5, row_height / 5),
        label_width=24,
    )
    keys = legend(
        [
            ("waiting to be sent (client)", GREY, False),
            ("send → first token (queue + prefill)", AMBER, False),
            ("decode", BLUE, False),
            ("failed", RED, False),
        ]
    )
    return figure(
        chart_id,
        "Requests over time",
        chart,
        "One row per request, in the order they were sent; hover for its numbers." + note,
        keys,
    )
