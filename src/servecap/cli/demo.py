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


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Model to demo [default: Qwen/Qwen3-4B].", show_default=False
    ),
]
VllmVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--vllm-version",
        help="vLLM release to plan for [default: 0.8.5, the seed's; engine vllm: the one "
        "installed].",
        rich_help_panel=o.VLLM,
    ),
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="twin (simulated, no GPU) or vllm (real vLLM).")
]
MaxModelLenOpt = Annotated[
    int, typer.Option("--max-model-len", help="The context both deployments serve.")
]
UsersOpt = Annotated[str, typer.Option("--users", help="Simultaneous users to try.")]
UserOutputTokensOpt = Annotated[
    str, typer.Option("--user-output-tokens", help="Each user's answer length.")
]
RepeatOpt = Annotated[int, typer.Option("--repeat", help="Single-request repeats.")]
SingleOutputTokensOpt = Annotated[
    int, typer.Option("--single-output-tokens", help="The single request's answer length.")
]
NumGpuBlocksOverrideOpt = Annotated[
    int | None, typer.Option("--num-gpu-blocks-override", help="Cap vLLM's KV blocks.")
]
VllmPythonOpt = Annotated[
    str | None, typer.Option("--vllm-python", help="Python that has vLLM (engine vllm).")
]
OutputDirOpt = Annotated[
    Path, typer.Option("--output-dir", "-o", help="Where results and demo.json go.")
]
HtmlOpt = Annotated[Path | None, typer.Option("--html", help="Also write the HTML report.")]


def register(app: typer.Typer) -> None:
    app.command(
        name="demo",
        short_help="The seed's four answers for one model and GPU, end to end.",
        help="Answer the seed's four questions (memory, minimum setup, one request's speed, "
        "many users) for one model and GPU, end to end.",
        epilog=EXAMPLES,
    )(demo_command)


def demo_command(
    model_arg: o.ModelArg = None,
    model: ModelOpt = None,
    gpu: o.Gpu = "rtx-4090",
    device: o.Device = "cuda",
    vllm_version: VllmVersionOpt = None,
    engine: EngineOpt = "twin",
    max_model_len: MaxModelLenOpt = 10_000,
    users: UsersOpt = "20,500",
    user_output_tokens: UserOutputTokensOpt = "normal:1500:300",
    repeat: RepeatOpt = 3,
    single_output_tokens: SingleOutputTokensOpt = 128,
    num_gpu_blocks_override: NumGpuBlocksOverrideOpt = None,
    dtype: o.Dtype = "auto",
    vllm_python: VllmPythonOpt = None,
    output_dir: OutputDirOpt = Path("servecap-results/demo"),
    html: HtmlOpt = None,
    json_out: o.Json = False,
) -> None:
    from ..demo import DemoConfig, run_demo
    from ..loadtest.workload import Lengths
    from . import loadopts
    from .output import Output

    if model_arg or model:
        model = loadopts.one_model(model_arg, model)
    config = DemoConfig(
        output_dir=output_dir,
        model=model or "Qwen/Qwen3-4B",
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
        dtype=dtype,
        vllm_python=vllm_python,
    )
    out = Output(json_mode=json_out)
    result = run_demo(config, out.status)
    out.data(result.to_dict())
    for number, answer in enumerate(result.answers, 1):
        out.show(f"[bold]{number}. {answer.question}[/]", answer.answer, "")
    if html:
        from ..report.html import render_html

        html.write_text(render_html(result.path))
        out.show(f"[dim]HTML report: {html}[/]")
    out.show(f"[dim]results: {result.path} (`servecap report {result.path} --html out.html`)[/]")
