"""How bench, simulate and report show a run: the steps table, the summary, the verdicts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..loadtest.compare import Comparison
    from ..loadtest.steps import RunResult
    from .output import Output


def show_result(
    out: Output, result: RunResult, metric_names: str = "servecap", definitions: bool = True
) -> None:
    """The steps of a sweep, the pooled summary, and the capacity and early-stop sentences."""
    from ..report.bench_view import steps_table, summary_renderables

    if result.sweep:
        out.show(steps_table(result.steps), "")
    out.show(*summary_renderables(result.summary, metric_names, definitions))
    if result.stopped_early:
        out.show(f"[yellow]{result.stopped_early}[/]")
    if result.capacity:
        out.show(f"[bold]{result.capacity}[/]")


def show_comparison(out: Output, comparison: Comparison, label: str) -> None:
    """A second run beside this one: the differences and the running/waiting time-course."""
    from ..report.compare_view import compare_table, course_table

    out.show("", f"[bold]this run beside {label}[/]")
    out.show(compare_table(comparison.rows, "this run", label), "")
    if any(p.measured_running is not None for p in comparison.course):
        out.show(course_table(comparison.course, "this run", label))
