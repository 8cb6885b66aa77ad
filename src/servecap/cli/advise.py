"""`servecap advise`: the smallest vLLM deployment that serves N users within SLOs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from . import options as o

EXAMPLES = """
Searches GPUs (the catalogue, or --gpu), tensor/pipeline parallel sizes, replicas,
--gpu-memory-utilization and the KV cache dtype with the memory plan and the simulator.

Examples:

  servecap advise --model Qwen/Qwen3-4B --users 20 --prompt-tokens 300 --output-tokens 1500
      --slo ttft_p95=2s --slo tokens_per_s_p5=20

  servecap advise -m meta-llama/Llama-3.1-70B-Instruct --users 50 --prompt-tokens 1000
      --output-tokens 500 --slo ttft_p95=3s --gpu h100-sxm --gpu a100-80gb
      --cost h100-sxm=2.5 --cost a100-80gb=1.6 --output advise.json
"""


def register(app: typer.Typer) -> None:
    app.command(
        name="advise",
        short_help="Find the smallest deployment that serves N users within SLOs.",
        help="Find the deployment that serves N users within SLOs.",
        epilog=EXAMPLES,
    )(advise_command)


def advise_command(
    users: Annotated[int, typer.Option("--users", help="Users at once, one request each.")],
    prompt_tokens: Annotated[int, typer.Option(help="Prompt tokens per request.")],
    output_tokens: Annotated[int, typer.Option(help="Output tokens per request.")],
    model_arg: o.ModelArg = None,
    model: o.Model = None,
    slo: o.Slo = None,
    gpu: Annotated[list[str] | None, typer.Option("--gpu", "-g", help="Only these GPUs.")] = None,
    cost: Annotated[
        list[str] | None, typer.Option("--cost", help="GPU=PRICE per GPU-hour, e.g. l4=0.8.")
    ] = None,
    vllm_version: o.VllmVersionOpt = None,
    max_gpus: Annotated[int, typer.Option("--max-gpus", help="GPUs at most, all nodes.")] = 8,
    gpus_per_node: Annotated[int, typer.Option("--gpus-per-node")] = 8,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write JSON here.")] = None,
    json_out: o.Json = False,
) -> None:
    from ..report.advise_view import advise_renderables
    from ..sizing import AdviseRequest, advise, parse_cost
    from . import loadopts
    from .output import Output

    request = AdviseRequest(
        model=loadopts.one_model(model_arg, model, "e.g. --model Qwen/Qwen3-4B"),
        users=users,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        slos=tuple(slo or ()),
        gpus=tuple(gpu or ()),
        costs=tuple(parse_cost(c) for c in cost or ()),
        vllm_version=vllm_version,
        max_gpus=max_gpus,
        gpus_per_node=gpus_per_node,
    )
    data = advise(request).to_dict()
    if output:
        output.write_text(json.dumps(data, indent=1) + "\n")
    out = Output(json_mode=json_out)
    out.data(data)
    out.show(*advise_renderables(data))
    if output:
        out.show(f"[dim]written to {output}[/]")
