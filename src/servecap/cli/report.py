"""`servecap report`: rebuild a load test's summary from its result files (merged if several)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import options as o


def register(app: typer.Typer) -> None:
    app.command(
        name="report",
        help="Summarise result files from `servecap bench` (also "
        "partial ones, and several load generators' files merged).\n\nExample:\n\n"
        "  servecap report run.jsonl other-machine.jsonl --slo ttft_p95=2s\n\n"
        "  servecap report measured.jsonl --vs simulated.jsonl   # a simulation beside a run\n\n"
        "  servecap report run.jsonl --html report.html   # also plan --json, advise, demo files",
    )(report_command)


def report_command(
    results: Annotated[list[Path], typer.Argument(metavar="RESULT...")],
    slo: Annotated[list[str] | None, typer.Option("--slo")] = None,
    metric_names: Annotated[str, typer.Option("--metric-names")] = "servecap",
    csv_out: Annotated[Path | None, typer.Option("--csv")] = None,
    vs: Annotated[
        Path | None,
        typer.Option(
            "--vs",
            help="A second result (e.g. from `servecap simulate -o`) to show beside this one, "
            "with the differences.",
        ),
    ] = None,
    html_out: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write a self-contained HTML report with charts instead (also reads a saved "
            "`plan --json`, an `advise` or a `demo` result).",
        ),
    ] = None,
    json_out: o.Json = False,
) -> None:
    if html_out is not None:
        _write_html(results, vs, slo or [], html_out, json_out)
        return
    from ..loadtest.bench import StepResult, capacity_sentence
    from ..loadtest.results import read_results
    from ..loadtest.slo import parse_slo
    from ..report.bench_summary import combine_clients, step_summary, summarize
    from ..report.bench_view import steps_table, summary_renderables, write_csv
    from .output import Output

    slos = [parse_slo(s) for s in slo or []]
    run = read_results(list(results))
    mode = str(run.meta.get("mode", ""))
    summary = summarize(run.records, run.samples, mode, slos, combine_clients(run.clients))
    phases = sorted({r.phase for r in run.records if r.phase}, key=_phase_load)
    steps = []
    for phase in phases:
        records = [r for r in run.records if r.phase == phase]
        client = combine_clients({phase: run.clients.get(phase, [])})
        steps.append(
            StepResult(
                phase, _phase_load(phase), step_summary(records, run.samples, mode, slos, client)
            )
        )
    out = Output(json_mode=json_out)
    data = {**summary, "status": run.status, "sources": run.sources}
    if steps:
        data["steps"] = [{"phase": s.phase, "load": s.load, **s.summary} for s in steps]
        unit = "users" if phases[0].startswith("users") else "requests/s"
        data["capacity"] = capacity_sentence(steps, slos, unit) if slos else None
    comparison = None
    if vs:
        from ..report.compare import compare_runs

        second = read_results([vs])
        comparison = compare_runs((run.records, run.samples), (second.records, second.samples))
        data["vs"] = {"source": str(vs), **comparison.to_dict()}
    out.data(data)
    if run.status != "complete":
        out.show(
            f"[yellow]this run did not finish ({run.status}); the summary covers the "
            f"{len(run.records)} requests that did[/]"
        )
    if steps:
        out.show(steps_table(steps), "")
    out.show(*summary_renderables(summary, metric_names))
    if steps and slos and data.get("capacity"):
        out.show(f"[bold]{data['capacity']}[/]")
    if csv_out:
        write_csv(run.records, csv_out)
    if comparison is not None:
        from ..report.compare_view import compare_table, course_table

        label = "simulated" if second.meta.get("simulated") else str(vs)
        out.show("", f"[bold]this run beside {label}[/]")
        out.show(compare_table(comparison.rows, "this run", label), "")
        if any(p.measured_running is not None for p in comparison.course):
            out.show(course_table(comparison.course, "this run", label))


def _write_html(
    results: list[Path], vs: Path | None, slo: list[str], path: Path, json_out: bool
) -> None:
    from rich.text import Text

    from ..loadtest.slo import parse_slo
    from ..report.html import render_html
    from .output import Output

    slos = [parse_slo(s) for s in slo] or None
    path.write_text(render_html(results, vs, slos), encoding="utf-8")
    out = Output(json_mode=json_out)
    out.data({"html": str(path)})
    out.show(Text(f"HTML report: {path}"))


def _phase_load(phase: str) -> float:
    try:
        return float(phase.split("=", 1)[1])
    except (IndexError, ValueError):
        return 0.0
