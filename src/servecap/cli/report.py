"""`servecap report`: rebuild a load test's summary from its result files (merged if several)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import options as o
from .results_view import show_comparison, show_result


def register(app: typer.Typer) -> None:
    app.command(
        name="report",
        short_help="Summarise result files, or write an HTML report.",
        help="Summarise result files from `servecap bench` or `simulate` (also partial ones, "
        "and several load generators' files merged).",
        epilog="Examples:\n\n"
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
    from ..loadtest.results import read_results
    from ..loadtest.steps import summarize_results
    from . import loadopts
    from .output import Output

    run = read_results(list(results))
    result = summarize_results(run, loadopts.slos(slo) or None)
    data = {**result.to_dict(), "status": run.status, "sources": run.sources}
    del data["result_file"], data["stopped_early"]
    comparison = None
    if vs:
        from ..loadtest.compare import compare_runs

        second = read_results([vs])
        comparison = compare_runs((run.records, run.samples), (second.records, second.samples))
        data["vs"] = {"source": str(vs), **comparison.to_dict()}
    out = Output(json_mode=json_out)
    out.data(data)
    if run.status != "complete":
        out.show(
            f"[yellow]this run did not finish ({run.status}); the summary covers the "
            f"{len(run.records)} requests that did[/]"
        )
    show_result(out, result, metric_names)
    if csv_out:
        loadopts.write_csv(results[0] if len(results) == 1 else None, csv_out, run.records)
    if comparison is not None:
        show_comparison(out, comparison, "simulated" if second.simulated else str(vs))


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
