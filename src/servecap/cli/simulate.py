"""`servecap simulate` and `servecap calibrate`: capacity without a GPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import options as o

EXAMPLES = """
Any `vllm serve` flag (--gpu-memory-utilization, --max-model-len, -tp, ...) sets the deployment.

Examples:

  servecap simulate Qwen/Qwen3-4B --gpu rtx-4090 --gpu-memory-utilization 0.5
      --max-model-len 10000 --users 500 --seed-prompts --output-tokens normal:1500:300

  servecap simulate meta-llama/Llama-3.1-8B-Instruct --gpu h100-sxm --sweep-users 1,8,32,128
      --prompt-tokens 500 --output-tokens 300 --slo ttft_p95=1s --slo tokens_per_s_p5=30
"""

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def register(app: typer.Typer) -> None:
    app.command(
        name="simulate",
        context_settings=_EXTRA,
        help="Predict latency, throughput and queueing with a simulation of vLLM's "
        "scheduler: no GPU needed." + EXAMPLES,
    )(simulate_command)
    app.command(
        name="calibrate",
        context_settings=_EXTRA,
        help="Fit the simulator's step-time model to `servecap bench` results from a "
        "real server, and save a profile for `simulate --profile`.\n\nExample:\n\n"
        "  servecap calibrate run.jsonl --model ./tiny --device cpu "
        "--kv-cache-space-gib 1 -o cpu.json",
    )(calibrate_command)


def _results_and_flags(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Split calibrate's positional arguments: click hands it the `vllm serve` flags among
    them, as paths."""
    from ..vllm.args import SERVE_FLAGS

    files: list[Path] = []
    flags: list[str] = []
    takes_value = False
    for token in map(str, paths):
        if takes_value:
            flags.append(token)
            takes_value = False
        elif token.startswith("-"):
            flags.append(token)
            takes_value = "=" not in token and token in SERVE_FLAGS
        else:
            files.append(Path(token))
    return files, flags


def _plan(
    ctx: typer.Context,
    model: str,
    gpu: str | None,
    gpu_memory_gib: float | None,
    device: str,
    kv_cache_space_gib: float | None,
    vllm_version: str | None,
    serve_flags: list[str] | None = None,
) -> Any:
    from ..api import make_plan
    from ..vllm.args import parse_serve_command

    _, settings, _ = parse_serve_command([*ctx.args, *(serve_flags or [])])
    settings["device"] = device
    if kv_cache_space_gib is not None:
        settings["kv_cache_space_gib"] = kv_cache_space_gib
    return make_plan(
        model=model,
        gpu=gpu,
        gpu_memory_gib=gpu_memory_gib,
        vllm_version=vllm_version,
        settings=settings,
    )


def simulate_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL")],
    gpu: o.Gpu = None,
    gpu_memory_gib: o.GpuMemoryGib = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    vllm_version: o.VllmVersionOpt = None,
    requests: o.Requests = None,
    repeat: o.Repeat = 1,
    users: o.Users = None,
    concurrency: o.Concurrency = None,
    rate: o.Rate = None,
    burstiness: o.Burstiness = 1.0,
    duration: o.Duration = None,
    sweep_users: o.SweepUsers = None,
    sweep_rates: o.SweepRates = None,
    prompt_tokens: o.PromptTokens = "100",
    output_tokens: o.OutputTokens = None,
    seed_prompts: o.SeedPrompts = False,
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Step-time profile from `servecap calibrate`.")
    ] = None,
    no_prefix_caching: Annotated[bool, typer.Option("--no-prefix-caching")] = False,
    slo: o.Slo = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write bench-format records and the simulated /metrics "
            "timeline here (for `servecap report`).",
        ),
    ] = None,
    metric_names: o.MetricNames = "servecap",
    seed: o.Seed = 0,
    json_out: o.Json = False,
) -> None:
    from ..loadtest.bench import StepResult, capacity_sentence
    from ..report.bench_view import steps_table, summary_renderables
    from ..sim.simulate import simulate
    from ..sim.steptime import Profile
    from . import loadopts
    from .output import Output

    result = _plan(ctx, model, gpu, gpu_memory_gib, device, kv_cache_space_gib, vllm_version)
    workload = loadopts.workload_spec(
        prompt_tokens,
        output_tokens,
        None,
        "jsonl",
        seed_prompts,
        seed_prompts and output_tokens is None,
        None,
        seed,
    )
    load = loadopts.load_profile(requests, repeat, users, concurrency, rate, burstiness, duration)
    slos = loadopts.slos(slo)
    users_sweep = loadopts.numbers(sweep_users, int, "--sweep-users")
    rates_sweep = loadopts.numbers(sweep_rates, float, "--sweep-rates")
    steps = simulate(
        result,
        load,
        workload,
        users_sweep,
        rates_sweep,
        slos,
        Profile.load(profile) if profile else None,
        not no_prefix_caching,
        output,
        seed,
    )
    out = Output(json_mode=json_out)
    bench_steps = [StepResult(s.phase, s.load, s.summary) for s in steps]
    unit = (
        "users"
        if users_sweep or load.mode == "users"
        else ("requests/s" if rates_sweep or load.mode == "rate" else "streams")
    )
    capacity = capacity_sentence(bench_steps, slos, unit) if slos else None
    data = dict(steps[-1].summary)
    if len(steps) > 1:
        data["steps"] = [{"phase": s.phase, "load": s.load, **s.summary} for s in steps]
    data["capacity"] = capacity
    data["deployment"] = result.to_dict()["vllm_args"]
    out.data(data)
    head = (
        f"[bold]simulated[/] {result.model.name} on "
        f"{result.gpu.name if result.gpu else 'CPU'}: {result.num_blocks:,} KV blocks of "
        f"{result.block_size} ({result.kv_cache_tokens:,} tokens), max "
        f"{result.limits.max_num_seqs} seqs, {result.limits.max_num_batched_tokens:,} "
        f"tokens per step; step-time profile: {'from ' + str(profile) if profile else 'defaults'}"
    )
    out.show(head, "")
    if len(steps) > 1:
        out.show(steps_table(bench_steps), "")
    out.show(*summary_renderables(steps[-1].summary, metric_names, definitions=False))
    if capacity:
        out.show(f"[bold]{capacity}[/]")
    if output:
        out.show(f"[dim]simulated records and /metrics timeline: {output}[/]")


def calibrate_command(
    ctx: typer.Context,
    results: Annotated[list[Path], typer.Argument(metavar="RESULT...")],
    model: o.Model = None,
    gpu: o.Gpu = None,
    gpu_memory_gib: o.GpuMemoryGib = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    vllm_version: o.VllmVersionOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Profile file to write.")] = Path(
        "servecap-profile.json"
    ),
    json_out: o.Json = False,
) -> None:
    from ..errors import InvalidValueError
    from ..loadtest.results import read_results
    from ..sim.calibrate import calibrate
    from .output import Output

    if not model:
        raise InvalidValueError("calibrate needs --model", "pass the model the server ran")
    files, serve_flags = _results_and_flags(results)
    if not files:
        raise InvalidValueError("calibrate needs a result file", "pass the .jsonl of a bench run")
    result = _plan(
        ctx, model, gpu, gpu_memory_gib, device, kv_cache_space_gib, vllm_version, serve_flags
    )
    records = read_results(files).records
    fitted = calibrate(result, records)
    fitted.profile.save(output)
    out = Output(json_mode=json_out)
    p = fitted.profile
    out.data(
        {
            "profile": str(output),
            "requests": fitted.requests,
            "error_before": fitted.before,
            "error_after": fitted.error,
            "overhead_s": p.overhead_s,
            "bandwidth_efficiency": p.bandwidth_efficiency,
            "flops_efficiency": p.flops_efficiency,
            "per_token_s": p.per_token_s,
            "api_chunk_s": p.api_chunk_s,
            "request_latency_s": p.request_latency_s,
        }
    )
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
