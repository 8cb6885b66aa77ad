"""`servecap twin`: a simulated, OpenAI-compatible stand-in for a planned vLLM deployment."""

from __future__ import annotations

from typing import Annotated

import typer

from . import options as o

EXAMPLES = """
Any `vllm serve` flag sets the deployment it simulates. It says it is simulated: model ids end
in -sim and every response carries X-Servecap-Simulated.

Examples:

  servecap twin Qwen/Qwen3-4B --gpu rtx-4090 --gpu-memory-utilization 0.5 --max-model-len 10000

  servecap twin Qwen/Qwen3-4B --gpu h100-sxm --speedup 10 --error-rate 0.05 --port 9000
"""


SpeedupOpt = Annotated[float, typer.Option("--speedup", help="Run N times faster than real time.")]
ApiKeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="SERVECAP_TWIN_API_KEY", show_default=False)
]
NaturalOutputTokensOpt = Annotated[
    int,
    typer.Option(
        "--natural-output-tokens", help="Mean answer length when the client does not force one."
    ),
]
ErrorRateOpt = Annotated[float, typer.Option("--error-rate", rich_help_panel="Faults")]
ErrorStatusOpt = Annotated[int, typer.Option("--error-status", rich_help_panel="Faults")]
StallRateOpt = Annotated[float, typer.Option("--stall-rate", rich_help_panel="Faults")]
StallSOpt = Annotated[float, typer.Option("--stall-s", rich_help_panel="Faults")]
DisconnectRateOpt = Annotated[float, typer.Option("--disconnect-rate", rich_help_panel="Faults")]
SlowStartSOpt = Annotated[float, typer.Option("--slow-start", rich_help_panel="Faults")]


def register(app: typer.Typer) -> None:
    app.command(
        name="twin",
        short_help="Serve an OpenAI-compatible API driven by the simulator.",
        help="Serve an OpenAI-compatible API whose timing follows the simulated deployment.",
        epilog=EXAMPLES,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(twin_command)


def twin_command(
    ctx: typer.Context,
    model_arg: o.ModelArg = None,
    model: o.Model = None,
    gpu: o.Gpu = None,
    gpu_memory_gib: o.GpuMemoryGib = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    vllm_version: o.VllmVersionOpt = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    speedup: SpeedupOpt = 1.0,
    profile: o.StepProfile = None,
    api_key: ApiKeyOpt = None,
    natural_output_tokens: NaturalOutputTokensOpt = 256,
    error_rate: ErrorRateOpt = 0.0,
    error_status: ErrorStatusOpt = 500,
    stall_rate: StallRateOpt = 0.0,
    stall_s: StallSOpt = 5.0,
    disconnect_rate: DisconnectRateOpt = 0.0,
    slow_start_s: SlowStartSOpt = 0.0,
) -> None:
    from aiohttp import web

    from ..sim.steptime import Profile
    from ..sim.twin import Faults, Twin
    from ..sim.twin_server import twin_app
    from . import loadopts
    from .deployment import plan_deployment
    from .output import Output

    name = loadopts.one_model(model_arg, model)
    result = plan_deployment(
        name, ctx.args, gpu, gpu_memory_gib, device, kv_cache_space_gib, vllm_version
    )
    twin = Twin(
        result,
        Profile.load(profile) if profile else None,
        speedup,
        Faults(error_rate, error_status, stall_rate, stall_s, disconnect_rate, slow_start_s),
        api_key,
        natural_output_tokens,
    )
    out = Output()
    out.show(
        f"[bold yellow]SIMULATED[/] {twin.model_id}: {result.num_blocks:,} KV blocks of "
        f"{result.block_size}, {result.limits.max_num_seqs} seqs max, speedup {speedup:g}x",
        f"OpenAI API at http://{host}:{port}/v1 (Ctrl-C stops it)",
    )
    web.run_app(twin_app(twin), host=host, port=port, print=None, access_log=None)
