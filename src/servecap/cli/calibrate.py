"""`servecap calibrate`: fit the simulator's step-time model to a real server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import options as o

if TYPE_CHECKING:
    from ..memory.plan import MemoryPlan
    from ..sim.fit import Fit
    from .output import Output

EXAMPLES = """
Any `vllm serve` flag the server ran with sets the deployment, before or after the files.

Examples:

  # measure a live server (a few minutes), fit, save the profile
  servecap calibrate --url http://127.0.0.1:8000 --model Qwen/Qwen3-8B --gpu h100-sxm

  # fit again to a measurement's folder, or fit to any bench results
  servecap calibrate servecap-results/measure-20261207-101500 --model Qwen/Qwen3-8B

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
CalibrateUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Measure this live server first: decode batches, long contexts, prefills.",
        show_default=False,
    ),
]
ServedName = Annotated[
    str | None,
    typer.Option(
        "--served-model-name",
        help="The name the server lists, where it is not --model.",
        show_default=False,
    ),
]
Quick = Annotated[bool, typer.Option("--quick", help="Half the batch sizes, fewer repeats.")]
MeasureDir = Annotated[
    Path | None,
    typer.Option(
        "--measure-dir",
        help="Where the measurement's result files go [default: servecap-results/measure-TIME].",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command(
        name="calibrate",
        short_help="Fit the simulator's step-time model to a real server.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help="Fit the simulator's step-time model to a real server and save a profile for "
        "`simulate --profile`: measure a live server with --url, or fit to a measurement's "
        "folder or to `servecap bench` results.",
        epilog=EXAMPLES,
    )(calibrate_command)


def calibrate_command(
    ctx: typer.Context,
    results: Annotated[list[str] | None, typer.Argument(metavar="[RESULT|FOLDER]...")] = None,
    model: o.Model = None,
    url: CalibrateUrl = None,
    served_model_name: ServedName = None,
    api_key: o.ApiKey = None,
    quick: Quick = False,
    measure_dir: MeasureDir = None,
    gpu: o.Gpu = None,
    gpu_memory_gib: o.GpuMemoryGib = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    vllm_version: o.VllmVersionOpt = None,
    output: OutputOpt = None,
    json_out: o.Json = False,
) -> None:
    from ..errors import InvalidValueError
    from ..outputs import default_output
    from . import loadopts
    from .deployment import plan_deployment, split_flags
    from .output import Output

    name = loadopts.one_model(None, model, "the model the server ran, as --model")
    files, serve_flags = split_flags([*(results or []), *ctx.args])
    if url and files:
        raise InvalidValueError("pass --url or result files, not both", "drop one of them")
    if not url and not files:
        raise InvalidValueError(
            "calibrate needs a server or results",
            "pass --url of a live server, a measurement folder, or a bench .jsonl",
        )
    plan = plan_deployment(
        name, serve_flags, gpu, gpu_memory_gib, device, kv_cache_space_gib, vllm_version
    )
    out = Output(json_mode=json_out)
    output = output or default_output("profile", ".json")
    if url:
        folder = measure_dir or default_output("measure", "")
        fit = _measure(out, url, served_model_name or name, api_key, plan, folder, quick)
        _show_fit(out, fit, output, folder)
    elif len(files) == 1 and files[0].is_dir():
        from ..sim.measure import fit_measurement

        _show_fit(out, fit_measurement(plan, files[0]), output, files[0])
    else:
        _replay_fit(out, plan, files, output)


def _measure(
    out: Output,
    url: str,
    served: str,
    api_key: str | None,
    plan: MemoryPlan,
    folder: Path,
    quick: bool,
) -> Fit:
    """The planned measurement with a progress bar; Ctrl-C keeps the finished steps."""
    from ..loadtest.bench import BenchProgress
    from ..loadtest.client import Endpoint
    from ..loadtest.eventloop import run_loop
    from ..sim.measure import measure_server, measurement_plan
    from .live import live_steps

    progress = BenchProgress()
    steps = measurement_plan(plan, quick)
    endpoint = Endpoint(url, served, "completions", api_key)
    try:
        with live_steps(out, progress, steps, enabled=not out.json_mode) as on_step:
            return run_loop(measure_server(endpoint, plan, folder, quick, on_step, progress))
    except KeyboardInterrupt:
        out.err.print(
            f"interrupted: the finished steps are in {folder}; "
            f"`servecap calibrate {folder} --model ...` fits them"
        )
        raise SystemExit(130) from None


def _show_fit(out: Output, fit: Fit, output: Path, folder: Path) -> None:
    from rich.table import Table

    fit.profile.save(output)
    out.data({"profile": str(output), "measurement": str(folder), **fit.to_dict()})
    table = Table("term", "fitted", "± (1 s.d.)", title="fitted step-time terms")
    for name, spread in fit.spread.items():
        pinned = f"{spread:.0%}" if spread < 10 else "not pinned down"
        table.add_row(name, f"{getattr(fit.profile, name):.4g}", pinned)
    out.show(
        table,
        f"{fit.points} measured steps: RMS log error {fit.before:.3f} with the default "
        f"profile, {fit.rms_log_error:.3f} fitted; {fit.within(0.15):.0%} within 15%",
        f"saved to {output}; use it with `servecap simulate --profile {output}`",
    )


def _replay_fit(out: Output, plan: MemoryPlan, files: list[Path], output: Path) -> None:
    from ..loadtest.results import read_results
    from ..sim.calibrate import calibrate

    fitted = calibrate(plan, read_results(files).records)
    fitted.profile.save(output)
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
