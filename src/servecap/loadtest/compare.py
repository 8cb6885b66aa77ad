"""A prediction beside a measurement: the numbers a simulation of a run must get right.

Both sides are run summaries plus their /metrics timelines (measured by `bench`, or
simulated by `simulate`). The time-course compares the running and waiting gauges
over the same stretches of wall time, counted from each run's first request.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..vllm.metrics import ServerSample
from .records import RequestRecord
from .summary import RunSummary, summarize_run


def _server(field: str) -> Callable[[RunSummary], float | None]:
    return lambda s: None if s.server is None else float(getattr(s.server, field))


def _stat(metric: str, stat: str) -> Callable[[RunSummary], float | None]:
    return lambda s: s.metric(metric).percentile(stat)


# (label, the number in a summary, unit)
ROWS: tuple[tuple[str, Callable[[RunSummary], float | None], str], ...] = (
    ("peak running", _server("max_running"), "requests"),
    ("median running", _server("median_running"), "requests"),
    ("peak waiting", _server("max_waiting"), "requests"),
    ("preemptions", _server("preemptions"), "count"),
    ("TTFT p50", _stat("ttft_s", "p50"), "s"),
    ("TTFT p95", _stat("ttft_s", "p95"), "s"),
    ("TPOT p50", _stat("tpot_s", "p50"), "s"),
    ("E2E p50", _stat("e2e_s", "p50"), "s"),
    ("E2E p95", _stat("e2e_s", "p95"), "s"),
    ("output throughput", lambda s: s.output_throughput_tok_s, "tok/s"),
    ("duration", lambda s: s.duration_s, "s"),
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


def compare(measured: RunSummary, predicted: RunSummary) -> list[Row]:
    """One row per headline number of the two summaries."""
    return [Row(label, get(measured), get(predicted), unit) for label, get, unit in ROWS]


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
    measured: RunSummary
    predicted: RunSummary
    rows: list[Row]
    course: list[CoursePoint]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [{**vars(r), "error": r.error} for r in self.rows],
            "course": [vars(p) for p in self.course],
            "predicted": self.predicted.to_dict(),
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
    m_summary = summarize_run(m_records, m_samples)
    p_summary = summarize_run(p_records, p_samples)
    course = time_course(
        m_samples,
        _origin(m_records),
        p_samples,
        _origin(p_records),
        m_summary.duration_s,
    )
    return Comparison(m_summary, p_summary, compare(m_summary, p_summary), course)
