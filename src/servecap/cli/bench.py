"""`servecap bench`: load-test an OpenAI-compatible server and explain what vLLM did."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from . import options as o
from .results_view import show_result

if TYPE_CHECKING:
    from ..loadtest.bench import BenchConfig
    from ..loadtest.steps import RunResult
    from .output import Output

EXAMPLES = """
Examples:

  servecap bench --url http://127.0.0.1:8000 --model Qwen/Qwen3-4B --requests 1 --repeat 5

  servecap bench --url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-4B --users 20 --seed-prompts

  servecap bench --url ... --model ... --sweep-users 1,2,4,8,16,32 --slo ttft_p95=2s
      --slo tokens_per_s_p5=20

  servecap bench --url ... --model ... --rate 4 --duration 60 --prompt-tokens uniform:64:512

  # 256 users from 4 processes (or machines), then one report
  T=$(($(date +%s) + 30)); for i in 1 2 3 4; do servecap bench --url ... --model ...
      --users 64 --start-at $T --seed $i --output part$i.jsonl --json > /dev/null & done
  wait; servecap report part*.jsonl
"""


def register(app: typer.Typer) -> None:
    app.command(
        name="bench",
        short_help="Load-test a server: one request, N users, a rate, or a sweep.",
        help="Load-test a server: one request, N users at once, fixed concurrency, a request "
        "rate, or a sweep.",
        epilog=EXAMPLES,
    )(bench_command)


def bench_command(
    url: o.Url,
    model_arg: o.ModelArg = None,
    model: o.ServedModel = None,
    endpoint: o.EndpointKind = "chat",
    api_key: o.ApiKey = None,
    requests: o.Requests = None,
    repeat: o.Repeat = 1,
    users: o.Users = None,
    concurrency: o.Concurrency = None,
    rate: o.Rate = None,
    burstiness: o.Burstiness = 1.0,
    duration: o.Duration = None,
    sweep_users: o.SweepUsers = None,
    sweep_rates: o.SweepRates = None,
    warmup: o.Warmup = 0,
    prompt_tokens: o.PromptTokens = "100",
    output_tokens: o.OutputTokens = None,
    dataset: o.Dataset = None,
    dataset_format: o.DatasetFormat = "jsonl",
    seed_prompts: o.SeedPrompts = False,
    natural_length: o.NaturalLength = False,
    extra_body: o.ExtraBody = None,
    slo: o.Slo = None,
    output: o.BenchOutput = None,
    csv_out: o.CsvOut = None,
    metric_names: o.MetricNames = "servecap",
    timeout: o.Timeout = 600,
    metrics_interval: o.MetricsInterval = 0.5,
    start_at: o.StartAt = None,
    seed: o.Seed = 0,
    json_out: o.Json = False,
) -> None:
    from ..loadtest.bench import BenchConfig
    from ..loadtest.client import Endpoint
    from ..outputs import default_output
    from . import loadopts
    from .output import Output

    load = loadopts.load(
        requests, repeat, users, concurrency, rate, burstiness, duration, sweep_users, sweep_rates
    )
    workload = loadopts.workload_spec(
        prompt_tokens, output_tokens, dataset, dataset_format, seed_prompts, natural_length,
        extra_body, seed,
    )  # fmt: skip
    served = loadopts.one_model(model_arg, model, "the model name the server lists")
    config = BenchConfig(
        endpoint=Endpoint(url, served, endpoint, api_key), profile=load.profile, workload=workload,
        warmup=warmup, sweep_users=load.sweep_users, sweep_rates=load.sweep_rates,
        slos=loadopts.slos(slo), output=output or default_output("bench"), timeout_s=timeout,
        sample_interval_s=metrics_interval, seed=seed, start_at=start_at,
    )  # fmt: skip
    out = Output(json_mode=json_out)
    result = _run(out, config)
    out.data(result.to_dict())
    show_result(out, result, metric_names)
    out.show(f"[dim]per-request results: {result.path}[/]")
    if csv_out:
        loadopts.write_csv(result.path, csv_out)


def _run(out: Output, config: BenchConfig) -> RunResult:
    """The benchmark with a live progress line; Ctrl-C names the file that holds the run."""
    from ..loadtest.bench import BenchProgress, run_bench
    from ..loadtest.eventloop import run_loop
    from .live import live_progress

    progress = BenchProgress()
    try:
        with live_progress(out, progress, enabled=not out.json_mode):
            return run_loop(run_bench(config, progress))
    except KeyboardInterrupt:
        out.err.print(
            f"interrupted: every finished request is in {config.output}; "
            f"`servecap report {config.output}` summarises them"
        )
        raise SystemExit(130) from None
