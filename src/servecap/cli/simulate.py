"""`servecap simulate`: capacity without a GPU."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from . import options as o

if TYPE_CHECKING:
    from ..loadtest.steps import RunResult
    from ..memory.plan import MemoryPlan
    from ..sim.steptime import Profile
    from .output import Output

EXAMPLES = """
Any `vllm serve` flag (--gpu-memory-utilization, --max-model-len, -tp, ...) sets the deployment.

Examples:

  servecap simulate Qwen/Qwen3-4B --gpu rtx-4090 --gpu-memory-utilization 0.5
      --max-model-len 10000 --users 500 --seed-prompts --output-tokens normal:1500:300

  servecap simulate meta-llama/Llama-3.1-8B-Instruct --gpu h100-sxm --sweep-users 1,8,32,128
      --prompt-tokens 500 --output-tokens 300 --slo ttft_p95=1s --slo tokens_per_s_p5=30
"""


def register(app: typer.Typer) -> None:
    app.command(
        name="simulate",
        short_help="Predict latency, throughput and queueing without a GPU.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help="Predict latency, throughput and queueing with a simulation of vLLM's "
        "scheduler: no GPU needed.",
        epilog=EXAMPLES,
    )(simulate_command)


def simulate_command(
    ctx: typer.Context,
    model_arg: o.ModelArg = None,
    model: o.Model = None,
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
    profile: o.StepProfile = None,
    no_prefix_caching: o.NoPrefixCaching = False,
    slo: o.Slo = None,
    output: o.SimOutput = None,
    metric_names: o.MetricNames = "servecap",
    seed: o.Seed = 0,
    json_out: o.Json = False,
) -> None:
    from ..sim.simulate import simulate
    from ..sim.steptime import Profile
    from . import loadopts
    from .deployment import plan_deployment
    from .output import Output

    result = plan_deployment(
        loadopts.one_model(model_arg, model), ctx.args, gpu, gpu_memory_gib, device,
        kv_cache_space_gib, vllm_version,
    )  # fmt: skip
    load = loadopts.load(
        requests, repeat, users, concurrency, rate, burstiness, duration, sweep_users, sweep_rates
    )
    natural = seed_prompts and output_tokens is None
    workload = loadopts.workload_spec(
        prompt_tokens, output_tokens, None, "jsonl", seed_prompts, natural, None, seed
    )
    step_profile = Profile.load(profile) if profile else None
    run = simulate(
        result, load.profile, workload, load.sweep_users, load.sweep_rates, loadopts.slos(slo),
        step_profile, not no_prefix_caching, output, seed,
    )  # fmt: skip
    out = Output(json_mode=json_out)
    _show(out, result, run, step_profile, profile, metric_names)
    if output:
        out.show(f"[dim]simulated records and /metrics timeline: {output}[/]")


def _show(
    out: Output,
    result: MemoryPlan,
    run: RunResult,
    step_profile: Profile | None,
    profile: Path | None,
    metric_names: str,
) -> None:
    """The run's JSON or tables, with the profile used and the error to expect of it."""
    from ..sim.expected_error import expected_error
    from ..sim.steptime import default_profile
    from .results_view import show_result

    expected = expected_error(result, step_profile)
    out.data({**run.to_dict(), "deployment": result.vllm_args(),
              "expected_error": expected.to_dict()})  # fmt: skip
    source = step_profile.source if step_profile else default_profile(result.gpu).source
    out.show(_head(result, f"from {profile}" if profile else source), "")
    show_result(out, run, metric_names, definitions=False)
    out.show(f"[dim]{expected.sentence()}[/]")


def _head(result: MemoryPlan, profile: str) -> str:
    return (
        f"[bold]simulated[/] {result.model.name} on "
        f"{result.gpu.name if result.gpu else 'CPU'}: {result.num_blocks:,} KV blocks of "
        f"{result.block_size} ({result.kv_cache_tokens:,} tokens), max "
        f"{result.limits.max_num_seqs} seqs, {result.limits.max_num_batched_tokens:,} "
        f"tokens per step; step-time profile: {profile}"
    )
