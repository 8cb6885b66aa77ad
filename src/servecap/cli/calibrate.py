"""`servecap calibrate`: fit the simulator's step-time model to a real server's results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import options as o

EXAMPLES = """
Any `vllm serve` flag the server ran with sets the deployment, before or after the files.

Example:

  servecap calibrate run.jsonl --model ./tiny --device cpu --kv-cache-space-gib 1 -o cpu.json
"""


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Profile file to write [default: servecap-results/profile-TIME.json].",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command(
        name="calibrate",
        short_help="Fit the simulator's step-time model to measured results.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help="Fit the simulator's step-time model to `servecap bench` results from a real "
        "server, and save a profile for `simulate --profile`.",
        epilog=EXAMPLES,
    )(calibrate_command)


def calibrate_command(
    ctx: typer.Context,
    results: Annotated[list[str], typer.Argument(metavar="RESULT...")],
    model: o.Model = None,
    gpu: o.Gpu = None,
    gpu_memory_gib: o.GpuMemoryGib = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    vllm_version: o.VllmVersionOpt = None,
    output: OutputOpt = None,
    json_out: o.Json = False,
) -> None:
    from ..errors import InvalidValueError
    from ..loadtest.results import read_results
    from ..outputs import default_output
    from ..sim.calibrate import calibrate
    from . import loadopts
    from .deployment import plan_deployment, split_flags
    from .output import Output

    name = loadopts.one_model(None, model, "the model the server ran, as --model")
    files, serve_flags = split_flags([*results, *ctx.args])
    if not files:
        raise InvalidValueError("calibrate needs a result file", "pass the .jsonl of a bench run")
    plan = plan_deployment(
        name, serve_flags, gpu, gpu_memory_gib, device, kv_cache_space_gib, vllm_version
    )
    fitted = calibrate(plan, read_results(files).records)
    output = output or default_output("profile", ".json")
    fitted.profile.save(output)
    out = Output(json_mode=json_out)
    out.data({"profile": str(output), **fitted.to_dict()})
    p = fitted.profile
    out.show(
        f"fitted on {fitted.requests} requests: step overhead {p.overhead_s * 1000:.3f} ms, "
        f"bandwidth efficiency {p.bandwidth_efficiency:.2f}, compute efficiency "
        f"{p.flops_efficiency:.2f}, per token {p.per_token_s * 1e6:.2f} us, API server "
        f"{p.api_chunk_s * 1e6:.1f} us per chunk, request latency "
        f"{p.request_latency_s * 1000:.1f} ms",
        f"RMS relative error of median TTFT, TPOT, E2E and throughput: {fitted.before:.1%} "
        f"with the defaults, {fitted.error:.1%} fitted",
        f"saved to {output}; use it with `servecap simulate --profile {output}`",
    )
