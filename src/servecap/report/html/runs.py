"""The sections of a load test's page (`bench` or `simulate` results), alone or beside another."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ...loadtest.compare import compare_runs
from ...loadtest.records import metric_values
from ...loadtest.results import RunData
from ...loadtest.slo import SLO
from ...loadtest.steps import RunResult, Step, summarize_results
from ...loadtest.summary import RunSummary
from ..text import server_sentence
from .charts import (
    AMBER,
    BLUE,
    GREEN,
    ORANGE,
    RED,
    gantt_chart,
    gauges_chart,
    latency_cdf,
    sweep_chart,
    timeline_chart,
)
from .layout import section, stat_cards, table
from .svg import Rule, Safe, fmt, fmt_s, h, join

LATENCIES = (
    ("ttft_s", "Time to first token (TTFT)", "s"),
    ("tpot_s", "Time per output token (TPOT)", "s"),
    ("e2e_s", "End-to-end latency (E2E)", "s"),
    ("tokens_per_s", "Output tokens/s per request", "tok/s"),
)


@dataclass
class RunView:
    """One run, summarised as `servecap report` does."""

    run: RunData
    result: RunResult
    slos: list[SLO]

    @property
    def summary(self) -> RunSummary:
        return self.result.summary

    @property
    def steps(self) -> list[Step]:
        return self.result.steps

    @property
    def label(self) -> str:
        return "simulated" if self.run.simulated else "measured"


def view_run(run: RunData, slos: list[SLO] | None = None) -> RunView:
    """Summaries of the whole run and of each sweep step; the run's own SLOs unless given."""
    slos = run.slos if slos is None else slos
    return RunView(run, summarize_results(run, slos), slos)


def run_facts(run: RunData) -> list[tuple[str, object]]:
    """Model, GPU, vLLM version, date: what the header shows."""
    meta = run.meta
    start = meta.get("wall_start")
    when = (
        dt.datetime.fromtimestamp(float(start), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if isinstance(start, int | float)
        else None
    )
    return [
        ("GPU", meta.get("gpu") or "not recorded"),
        ("vLLM", meta.get("vllm_version") or "not recorded"),
        ("run", when),
        ("by", meta.get("tool")),
        ("load", meta.get("mode")),
        ("status", run.status),
    ]


def _origin(view: RunView) -> float:
    return min((r.send_s for r in view.run.records), default=0.0)


def verdict(view: RunView) -> Safe:
    """One sentence up top: did the run meet its SLOs, and what happened."""
    s = view.summary
    cls = "card verdict"
    if view.steps and view.slos:
        text = view.result.capacity or ""
        cls += "" if text.startswith("With") else " bad"
    elif s.slos:
        missed = [str(r.slo) for r in s.missed]
        text = "Every SLO met." if not missed else "Missed: " + "; ".join(missed) + "."
        cls += " bad" if missed else ""
    else:
        text = (
            f"{s.succeeded} of {s.requests} requests succeeded; "
            f"{fmt(s.output_throughput_tok_s, 'output tokens/s')}, TTFT p95 "
            f"{fmt_s(s.ttft_s.p95)}."
        )
        cls += " bad" if s.failed else ""
    lines = [h("div", {}, text)]
    if view.run.status != "complete":
        cls += " warn"
        lines.append(
            h(
                "p",
                {"class": "muted"},
                f"This run did not finish ({view.run.status}); "
                f"the report covers the {len(view.run.records)} requests that did.",
            )
        )
    if s.server is not None:
        lines.append(h("p", {"class": "muted"}, server_sentence(s.server, s.requests)))
    return h("div", {"class": cls}, join(lines))


def key_numbers(s: RunSummary) -> Safe:
    items = [
        (
            "requests",
            f"{s.succeeded:,} / {s.requests:,}",
            f"{s.failed} failed" if s.failed else "all succeeded",
        ),
        (
            "output throughput",
            fmt(s.output_throughput_tok_s, "tok/s"),
            f"over {fmt(s.duration_s, 's')}",
        ),
        ("TTFT p50 / p95", f"{fmt_s(s.ttft_s.p50)} / {fmt_s(s.ttft_s.p95)}", "send to first token"),
        ("TPOT p50", fmt_s(s.tpot_s.p50), "per output token"),
        ("E2E p95", fmt_s(s.e2e_s.p95), "send to last token"),
        ("tokens/s per request", fmt(s.tokens_per_s.p50), "median"),
    ]
    if s.server is not None:
        items.append(
            (
                "peak running / waiting",
                f"{s.server.max_running:g} / {s.server.max_waiting:g}",
                f"{int(s.server.preemptions)} preemptions",
            )
        )
    return stat_cards(items)


def _slo_rules(slos: list[SLO], metric: str) -> list[Rule]:
    return [Rule(s.threshold, f"SLO {s}", RED) for s in slos if s.metric == metric]


def sweep_section(view: RunView, prefix: str) -> list[Safe]:
    """Throughput and TTFT p95 against load, with the SLO lines."""
    if not view.steps:
        return []
    x_label = f"load ({view.steps[0].unit})"
    thr = [(s.load, s.summary.output_throughput_tok_s or 0.0) for s in view.steps]
    ttft = [(s.load, v) for s in view.steps if (v := s.summary.ttft_s.p95) is not None]
    tps = [(s.load, v) for s in view.steps if (v := s.summary.tokens_per_s.p50) is not None]
    charts = [
        sweep_chart(
            f"{prefix}sweep-throughput",
            "Output throughput against load",
            [("output tokens/s", thr, BLUE, False)],
            x_label,
            "output tokens/s",
            caption="All requests together.",
        ),
        sweep_chart(
            f"{prefix}sweep-ttft",
            "TTFT p95 against load",
            [("TTFT p95", ttft, AMBER, False)],
            x_label,
            "seconds",
            _slo_rules(view.slos, "ttft"),
            seconds=True,
        ),
        sweep_chart(
            f"{prefix}sweep-tps",
            "Tokens/s per request against load",
            [("median tokens/s", tps, GREEN, False)],
            x_label,
            "tokens/s per request",
            _slo_rules(view.slos, "tokens_per_s"),
        ),
    ]
    rows = []
    for s in view.steps:
        ok = s.summary.slos_met
        rows.append(
            [
                s.phase,
                s.summary.requests,
                s.summary.failed,
                fmt(s.summary.output_throughput_tok_s),
                fmt_s(s.summary.ttft_s.p50),
                fmt_s(s.summary.ttft_s.p95),
                fmt_s(s.summary.tpot_s.p50),
                "–"
                if ok is None
                else h("span", {"class": "yes" if ok else "no"}, "yes" if ok else "no"),
            ]
        )
    steps_table = h(
        "div",
        {"class": "card"},
        table(
            ["step", "requests", "failed", "tok/s", "TTFT p50", "TTFT p95", "TPOT p50", "SLOs met"],
            rows,
        ),
    )
    return [section("Load sweep", h("div", {"class": "grid2"}, join(charts)), steps_table)]


def errors_section(view: RunView) -> list[Safe]:
    failed = [r for r in view.run.records if not r.ok and not r.warmup]
    if not failed:
        return []
    rows = [
        [
            f"#{r.request_id}",
            r.error_class or "other",
            r.http_status or "",
            (r.error_detail or "")[:300],
        ]
        for r in failed[:20]
    ]
    more = f"{len(failed) - 20} more not shown." if len(failed) > 20 else ""
    return [
        section(
            f"Failed requests ({len(failed)})",
            h(
                "div",
                {"class": "card"},
                table(["request", "error", "HTTP", "detail"], rows, numeric_from=9),
                h("p", {"class": "muted"}, more) if more else None,
            ),
        )
    ]


def run_sections(view: RunView, prefix: str = "") -> list[Safe]:
    """Verdict, key numbers, sweep, latency distributions, server load, requests, errors."""
    records = view.run.records
    cdfs = [
        latency_cdf(
            f"{prefix}cdf-{key}",
            title,
            [(view.label, metric_values(records, key), BLUE, False)],
            next((s for s in view.slos if s.key == key), None),
            unit,
        )
        for key, title, unit in LATENCIES
    ]
    return [
        verdict(view),
        key_numbers(view.summary),
        *sweep_section(view, prefix),
        section("Latency distributions", h("div", {"class": "grid2"}, join(cdfs))),
        section("Server", gauges_chart(f"{prefix}gauges", view.run.samples, _origin(view))),
        section("Requests", gantt_chart(f"{prefix}gantt", records)),
        *errors_section(view),
    ]


def compare_sections(view: RunView, other: RunView, other_name: str) -> list[Safe]:
    """A second run (usually simulated) overlaid on this one, with the differences."""
    comparison = compare_runs(
        (view.run.records, view.run.samples), (other.run.records, other.run.samples)
    )
    names = (f"this run ({view.label})", other_name)
    cdfs = [
        latency_cdf(
            f"vs-cdf-{key}",
            title,
            [
                (names[0], metric_values(view.run.records, key), BLUE, False),
                (names[1], metric_values(other.run.records, key), ORANGE, True),
            ],
            unit=unit,
        )
        for key, title, unit in LATENCIES
    ]
    sides = [
        (names[0], view.run.samples, _origin(view), False),
        (names[1], other.run.samples, _origin(other), True),
    ]
    gauges = [
        timeline_chart("vs-running", sides, "running", "Running requests", "requests"),
        timeline_chart("vs-waiting", sides, "waiting", "Waiting requests", "requests"),
        timeline_chart(
            "vs-kv", sides, "kv_cache_usage", "KV cache usage", "KV cache used (%)", scale=100.0
        ),
    ]
    rows = []
    for row in comparison.rows:
        err = row.error
        rows.append(
            [
                row.label,
                _value(row.measured, row.unit),
                _value(row.predicted, row.unit),
                "–" if err is None else f"{err:+.0%}",
            ]
        )
    diff = h("div", {"class": "card"}, table(["", names[0], names[1], "difference"], rows))
    return [
        section(
            f"This run beside {other_name}", diff, h("div", {"class": "grid2"}, join(cdfs + gauges))
        ),
    ]


def _value(value: float | None, unit: str) -> str:
    return fmt_s(value) if unit == "s" else fmt(value, "" if unit == "count" else unit)
