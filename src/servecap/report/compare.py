"""A prediction beside a measurement: the numbers a simulation of a run must get right.

Both sides are `bench --json`-shaped summaries plus their /metrics timelines (measured by
`bench`, or simulated by `simulate`). The time-course compares the running and waiting gauges
over the same stretches of wall time, counted from each run's first request.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from ..loadtest.records import RequestRecord
from ..vllm.metrics import ServerSample
from .bench_summary import summarize

# (label, path into the summary, unit)
ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("peak running", ("server", "max_running"), "requests"),
    ("median running", ("server", "median_running"), "requests"),
    ("peak waiting", ("server", "max_waiting"), "requests"),
    ("preemptions", ("server", "preemptions"), "count"),
    ("TTFT p50", ("ttft_s", "p50"), "s"),
    ("TTFT p95", ("ttft_s", "p95"), "s"),
    ("TPOT p50", ("tpot_s", "p50"), "s"),
    ("E2E p50", ("e2e_s", "p50"), "s"),
    ("E2E p95", ("e2e_s", "p95"), "s"),
    ("output throughput", ("output_throughput_tok_s",), "tok/s"),
    ("duration", ("duration_s",), "s"),
)


@dataclass(frozen=True)
class Row:
    label: str
    measured: float | None
    predicted: float | None
    unit: str

    @property
    def error(self) -> float | None:
        """(predicted - measured) / measured; None where either is missing or measured is 0."""
        if self.measured is None or self.predicted is None or self.measured == 0:
            return None
        return (self.predicted - self.measured) / self.measured


def _get(summary: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = summary
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return float(value) if isinstance(value, int | float) else None


def compare(measured: dict[str, Any], predicted: dict[str, Any]) -> list[Row]:
    """One row per headline number of the two summaries."""
    return [Row(label, _get(measured, p), _get(predicted, p), unit) for label, p, unit in ROWS]


@dataclass(frozen=True)
class CoursePoint:
    """Median gauges over one stretch of the run, [start_s, end_s) from its first request."""

    start_s: float
    end_s: float
    measured_running: float | None
    predicted_running: float | None
    measured_waiting: float | None
    predicted_waiting: float | None


def _window(
    samples: list[ServerSample], origin: float, start: float, end: float, field: str
) -> float | None:
    values = [
        getattr(s, field)
        for s in samples
        if start <= s.time_s - origin < end and getattr(s, field) is not None
    ]
    return statistics.median(values) if values else None


def time_course(
    measured: list[ServerSample],
    measured_origin: float,
    predicted: list[ServerSample],
    predicted_origin: float,
    duration_s: float,
    windows: int = 8,
) -> list[CoursePoint]:
    """Running and waiting, measured against predicted, over `windows` equal stretches of the
    measured run (an error in the predicted duration shows as a shifted course)."""
    points = []
    width = duration_s / windows
    for i in range(windows):
        a, b = i * width, (i + 1) * width
        points.append(
            CoursePoint(
                a,
                b,
                _window(measured, measured_origin, a, b, "running"),
                _window(predicted, predicted_origin, a, b, "running"),
                _window(measured, measured_origin, a, b, "waiting"),
                _window(predicted, predicted_origin, a, b, "waiting"),
            )
        )
    return points


@dataclass(frozen=True)
class Comparison:
    measured: dict[str, Any]  # bench-style summaries of both sides
    predicted: dict[str, Any]
    rows: list[Row]
    course: list[CoursePoint]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [{**vars(r), "error": r.error} for r in self.rows],
            "course": [vars(p) for p in self.course],
            "predicted": self.predicted,
        }


def _origin(records: list[RequestRecord]) -> float:
    return min((r.send_s for r in records), default=0.0)


def compare_runs(
    measured: tuple[list[RequestRecord], list[ServerSample]],
    predicted: tuple[list[RequestRecord], list[ServerSample]],
) -> Comparison:
    """Two runs' records and /metrics timelines, summarised and set side by side."""
    m_records, m_samples = measured
    p_records, p_samples = predicted
    m_summary = summarize(m_records, m_samples)
    p_summary = summarize(p_records, p_samples)
    course = time_course(
        m_samples,
        _origin(m_records),
        p_samples,
        _origin(p_records),
        float(m_summary.get("duration_s") or 0.0),
    )
    return Comparison(m_summary, p_summary, compare(m_summary, p_summary), course)
