"""`servecap demo`: the seed's four answers for Qwen3-4B on a 24 GB GPU, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import options as o

EXAMPLES = """
Examples:

  servecap demo                                  # no GPU needed: plan, twin and simulator

  servecap demo --gpu l4 --users 10,100 --html demo.html

  servecap demo --engine vllm --model ./tiny --device cpu --users 8
      --max-model-len 1024 --num-gpu-blocks-override 16 --user-output-tokens 400
"""


def register(app: typer.Typer) -> None:
    app.command(
        name="demo",
        help="Answer the seed's four questions (memory, minimum setup, one request's speed, "
        "many users) for one model and GPU, end to end." + EXAMPLES,
    )(demo_command)


def demo_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Model to demo.")] = "Qwen/Qwen3-4B",
    gpu: o.Gpu = "rtx-4090",
    device: o.Device = "cuda",
    vllm_version: Annotated[
        str | None,
        typer.Option(
            "--vllm-version",
            help="vLLM release to plan for [default: 0.8.5, the seed's; engine vllm: the one "
            "installed].",
            rich_help_panel=o.VLLM,
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="twin (simulated, no GPU) or vllm (real vLLM).")
    ] = "twin",
    max_model_len: Annotated[
        int, typer.Option("--max-model-len", help="The context both deployments serve.")
    ] = 10_000,
    users: Annotated[str, typer.Option("--users", help="Simultaneous users to try.")] = "20,500",
    user_output_tokens: Annotated[
        str, typer.Option("--user-output-tokens", help="Each user's answer length.")
    ] = "normal:1500:300",
    repeat: Annotated[int, typer.Option("--repeat", help="Single-request repeats.")] = 3,
    single_output_tokens: Annotated[
        int, typer.Option("--single-output-tokens", help="The single request's answer length.")
    ] = 128,
    num_gpu_blocks_override: Annotated[
        int | None, typer.Option("--num-gpu-blocks-override", help="Cap vLLM's KV blocks.")
    ] = None,
    vllm_python: Annotated[
        str | None, typer.Option("--vllm-python", help="Python that has vLLM (engine vllm).")
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where results and demo.json go.")
    ] = Path("servecap-demo"),
    html: Annotated[Path | None, typer.Option("--html", help="Also write the HTML report.")] = None,
    json_out: o.Json = False,
) -> None:
    from ..demo import DemoConfig, run_demo
    from ..loadtest.workload import Lengths
    from ..vllm.launcher import ServerError
    from . import loadopts
    from .output import Output

    config = DemoConfig(
        output_dir=output_dir,
        model=model,
        gpu=gpu,
        vllm_version=vllm_version,
        engine=engine,
        device=device,
        max_model_len=max_model_len,
        users=tuple(loadopts.numbers(users, int, "--users")),
        user_output_tokens=Lengths.parse(user_output_tokens, "--user-output-tokens"),
        repeat=repeat,
        single_output_tokens=single_output_tokens,
        num_gpu_blocks_override=num_gpu_blocks_override,
        vllm_python=vllm_python,
    )
    out = Output(json_mode=json_out)
    try:
        result = run_demo(config, out.status)
    except ServerError as exc:
        out.err.print(f"servecap: {exc}")
        raise SystemExit(1) from None
    out.data(result.to_dict())
    for number, answer in enumerate(result.answers, 1):
        out.show(f"[bold]{number}. {answer.question}[/]", answer.answer, "")
    if html:
        from ..report.html import render_html

        html.write_text(render_html(result.path))
        out.show(f"[dim]HTML report: {html}[/]")
    out.show(f"[dim]results: {result.path} (`servecap report {result.path} --html out.html`)[/]")
