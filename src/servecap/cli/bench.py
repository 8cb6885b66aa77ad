"""`servecap bench`: load-test an OpenAI-compatible server and explain what vLLM did."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import options as o

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
        help="Load-test a server: one request, N users at once, fixed "
        "concurrency, a request rate, or a sweep." + EXAMPLES,
    )(bench_command)


def bench_command(
    url: Annotated[str, typer.Option("--url", help="Server base URL, with or without /v1.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Model name as the server lists it.")],
    endpoint: Annotated[str, typer.Option("--endpoint", help="chat or completions.")] = "chat",
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", envvar="OPENAI_API_KEY", help="Never printed or saved.", show_default=False
        ),
    ] = None,
    requests: o.Requests = None,
    repeat: o.Repeat = 1,
    users: o.Users = None,
    concurrency: o.Concurrency = None,
    rate: o.Rate = None,
    burstiness: o.Burstiness = 1.0,
    duration: o.Duration = None,
    sweep_users: o.SweepUsers = None,
    sweep_rates: o.SweepRates = None,
    warmup: Annotated[
        int,
        typer.Option(
            "--warmup",
            help="Requests sent together first and left out of the statistics.",
            rich_help_panel=o.LOAD,
        ),
    ] = 0,
    prompt_tokens: o.PromptTokens = "100",
    output_tokens: o.OutputTokens = None,
    dataset: Annotated[
        Path | None,
        typer.Option("--dataset", help="JSONL prompts or a ShareGPT file.", rich_help_panel=o.WORK),
    ] = None,
    dataset_format: Annotated[
        str, typer.Option("--dataset-format", help="jsonl or sharegpt.", rich_help_panel=o.WORK)
    ] = "jsonl",
    seed_prompts: o.SeedPrompts = False,
    natural_length: Annotated[
        bool,
        typer.Option(
            "--natural-length",
            help="Do not force the output length (no ignore_eos/min_tokens).",
            rich_help_panel=o.WORK,
        ),
    ] = False,
    extra_body: Annotated[
        str | None,
        typer.Option(
            "--extra-body",
            help="JSON merged into each request, e.g. "
            '\'{"chat_template_kwargs": {"enable_thinking": false}}\'.',
            rich_help_panel=o.WORK,
        ),
    ] = None,
    slo: o.Slo = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Result file (JSON Lines), written as requests finish."
        ),
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Also write per-request CSV.")
    ] = None,
    metric_names: o.MetricNames = "servecap",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 600,
    metrics_interval: Annotated[
        float,
        typer.Option("--metrics-interval", help="Seconds between reads of the server's /metrics."),
    ] = 0.5,
    start_at: Annotated[
        float | None,
        typer.Option(
            "--start-at",
            help="Unix time to send the first measured request at, after warm-up: start "
            "several load generators together, then merge them with `servecap report`.",
        ),
    ] = None,
    seed: o.Seed = 0,
    json_out: o.Json = False,
) -> None:
    import time

    from ..errors import InvalidValueError
    from ..loadtest.bench import BenchConfig, BenchProgress, run_bench
    from ..loadtest.client import Endpoint
    from ..loadtest.eventloop import run_loop
    from ..report.bench_summary import NAME_MAPS
    from . import loadopts
    from .live import live_progress
    from .output import Output

    if endpoint not in ("chat", "completions"):
        raise InvalidValueError(f"unknown --endpoint {endpoint!r}", "use chat or completions")
    if metric_names not in ("servecap", *NAME_MAPS):
        raise InvalidValueError(
            f"unknown --metric-names {metric_names!r}", "use servecap, vllm, guidellm or aiperf"
        )
    loadopts.positive(timeout=timeout, metrics_interval=metrics_interval)
    if start_at is not None and start_at < time.time() - 1:
        raise InvalidValueError(
            f"--start-at {start_at:.0f} is {time.time() - start_at:.0f} s in the past",
            "give a future Unix time, e.g. $(($(date +%s) + 30))",
        )
    if warmup < 0:
        raise InvalidValueError(f"--warmup must not be negative, not {warmup}", "give 0 or more")
    workload = loadopts.workload_spec(
        prompt_tokens,
        output_tokens,
        dataset,
        dataset_format,
        seed_prompts,
        natural_length,
        extra_body,
        seed,
    )
    profile = loadopts.load_profile(
        requests, repeat, users, concurrency, rate, burstiness, duration
    )
    config = BenchConfig(
        endpoint=Endpoint(url, model, endpoint, api_key),
        profile=profile,
        workload=workload,
        warmup=warmup,
        sweep_users=loadopts.numbers(sweep_users, int, "--sweep-users"),
        sweep_rates=loadopts.numbers(sweep_rates, float, "--sweep-rates"),
        slos=loadopts.slos(slo),
        output=output or Path(f"servecap-bench-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"),
        timeout_s=timeout,
        sample_interval_s=metrics_interval,
        seed=seed,
        start_at=start_at,
    )
    out = Output(json_mode=json_out)
    progress = BenchProgress()
    try:
        with live_progress(out, progress, enabled=not json_out):
            result = run_loop(run_bench(config, progress))
    except KeyboardInterrupt:
        out.err.print(
            f"interrupted: every finished request is in {config.output}; "
            f"`servecap report {config.output}` summarises them"
        )
        raise SystemExit(130) from None
    _show(out, result, metric_names, csv_out)


def _show(out: Any, result: Any, names: str, csv_out: Path | None) -> None:
    from ..loadtest.results import read_results
    from ..report.bench_view import steps_table, summary_renderables, write_csv

    data = dict(result.summary)
    if len(result.steps) > 1:
        data["steps"] = [{"phase": s.phase, "load": s.load, **s.summary} for s in result.steps]
    data["capacity"] = result.capacity_sentence
    data["stopped_early"] = result.stopped_early
    data["result_file"] = str(result.path)
    out.data(data)
    if len(result.steps) > 1:
        out.show(steps_table(result.steps), "")
    out.show(*summary_renderables(result.summary, names))
    if result.stopped_early:
        out.show(f"[yellow]{result.stopped_early}[/]")
    if result.capacity_sentence:
        out.show(f"[bold]{result.capacity_sentence}[/]")
    out.show(f"[dim]per-request results: {result.path}[/]")
    if csv_out:
        write_csv(read_results([result.path]).records, csv_out)
