"""Terminal view of a prediction beside a measurement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..loadtest.compare import CoursePoint, Row

if TYPE_CHECKING:
    from rich.table import Table


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 10 else f"{value:,.2f} s"
    if unit == "tok/s":
        return f"{value:,.1f}"
    return f"{value:g}"


def _error(row: Row) -> str:
    if row.error is None:
        return "-"
    if row.unit in ("requests", "count"):
        assert row.measured is not None and row.predicted is not None
        return f"{row.predicted - row.measured:+g}"
    return f"{row.error:+.1%}"


def compare_table(
    rows: list[Row], measured: str = "measured", predicted: str = "predicted"
) -> Table:
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column(measured, justify="right")
    table.add_column(predicted, justify="right")
    table.add_column("difference", justify="right")
    for row in rows:
        table.add_row(
            row.label, _value(row.measured, row.unit), _value(row.predicted, row.unit), _error(row)
        )
    return table


def course_table(
    points: list[CoursePoint], measured: str = "measured", predicted: str = "predicted"
) -> Table:
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, title="running / waiting over the run")
    table.add_column("seconds")
    table.add_column(f"running, {measured}", justify="right")
    table.add_column(f"running, {predicted}", justify="right")
    table.add_column(f"waiting, {measured}", justify="right")
    table.add_column(f"waiting, {predicted}", justify="right")
    for p in points:
        table.add_row(
            f"{p.start_s:.0f}-{p.end_s:.0f}",
            _value(p.measured_running, "count"),
            _value(p.predicted_running, "count"),
            _value(p.measured_waiting, "count"),
            _value(p.predicted_waiting, "count"),
        )
    return table
