"""`servecap explain`: read a vLLM start-up log and compare it with the plan."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from . import options as o

EXAMPLES = """
Examples:

  vllm serve Qwen/Qwen3-4B 2>&1 | tee vllm.log;  servecap explain vllm.log --gpu rtx-4090

  servecap explain - --json < vllm.log
"""


def register(app: typer.Typer) -> None:
    app.command(
        name="explain",
        short_help="Explain a vLLM start-up log beside servecap's plan.",
        help="Show where a vLLM start-up log says the memory went, beside servecap's prediction.",
        epilog=EXAMPLES,
    )(explain_command)


def explain_command(
    log_file: Annotated[str, typer.Argument(metavar="LOG", help="Log file, or - for stdin.")],
    model: o.Model = None,
    gpu: o.Gpu = None,
    vllm_version: o.VllmVersionOpt = None,
    json_out: o.Json = False,
) -> None:
    from ..errors import InputError
    from ..explanation import explain
    from ..report.explain_view import explain_table
    from .output import Output

    if log_file == "-":
        text = sys.stdin.read()
    else:
        path = Path(log_file)
        if not path.is_file():
            raise InputError(
                f"cannot read log file {log_file!r}", "pass a file path, or - for stdin"
            )
        text = path.read_text(errors="replace")
    result = explain(text, model=model, gpu=gpu, vllm_version=vllm_version)
    out = Output(json_mode=json_out)
    out.data(result.to_dict())
    log = result.log
    head = f"vLLM {log.vllm_version or '(version not logged)'}"
    if log.model:
        head += f", {log.model}"
    if log.device:
        head += f", {log.device}"
    out.show(f"[bold]{head}[/]", explain_table(result))
    if result.mismatch:
        out.show(f"[bold yellow]{result.mismatch}[/]")
    if log.error:
        out.show("", "[bold red]vLLM refused to start:[/] " + log.error)
    if result.plan is not None and result.plan.error and not log.error:
        out.show("", "[yellow]servecap predicted a refusal:[/] " + result.plan.error)
    for note in result.notes:
        out.show(f"note: {note}")
