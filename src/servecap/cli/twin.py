"""`servecap twin`: a simulated, OpenAI-compatible stand-in for a planned vLLM deployment."""

from __future__ import annotations

from pathlib import Path
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


def register(app: typer.Typer) -> None:
    app.command(
        name="twin",
        help="Serve an OpenAI-compatible API whose timing follows the "
        "simulated deployment." + EXAMPLES,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(twin_command)


def twin_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL")],
    gpu: o.Gpu = None,
    gpu_memory_gib: o.GpuMemoryGib = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    vllm_version: o.VllmVersionOpt = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    speedup: Annotated[
        float, typer.Option("--speedup", help="Run N times faster than real time.")
    ] = 1.0,
    profile: Annotated[Path | None, typer.Option("--profile")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="SERVECAP_TWIN_API_KEY", show_default=False)
    ] = None,
    natural_output_tokens: Annotated[
        int,
        typer.Option(
            "--natural-output-tokens", help="Mean answer length when the client does not force one."
        ),
    ] = 256,
    error_rate: Annotated[float, typer.Option("--error-rate", rich_help_panel="Faults")] = 0.0,
    error_status: Annotated[int, typer.Option("--error-status", rich_help_panel="Faults")] = 500,
    stall_rate: Annotated[float, typer.Option("--stall-rate", rich_help_panel="Faults")] = 0.0,
    stall_s: Annotated[float, typer.Option("--stall-s", rich_help_panel="Faults")] = 5.0,
    disconnect_rate: Annotated[
        float, typer.Option("--disconnect-rate", rich_help_panel="Faults")
    ] = 0.0,
    slow_start_s: Annotated[float, typer.Option("--slow-start", rich_help_panel="Faults")] = 0.0,
) -> None:
    from aiohttp import web

    from ..errors import InvalidValueError
    from ..sim.steptime import Profile
    from ..sim.twin import Faults, Twin
    from .output import Output
    from .simulate import _plan

    if speedup <= 0:
        raise InvalidValueError(f"--speedup must be positive, not {speedup}", "give e.g. 10")
    for flag, rate in (
        ("--error-rate", error_rate),
        ("--stall-rate", stall_rate),
        ("--disconnect-rate", disconnect_rate),
    ):
        if not 0 <= rate <= 1:
            raise InvalidValueError(
                f"{flag} must be between 0 and 1, not {rate}", "give a share such as 0.05"
            )
    result = _plan(ctx, model, gpu, gpu_memory_gib, device, kv_cache_space_gib, vllm_version)
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
    web.run_app(twin.app(), host=host, port=port, print=None, access_log=None)
