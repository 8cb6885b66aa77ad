"""`servecap bench`: load-test an OpenAI-compatible server and explain what vLLM did."""

from __future__ import annotations

import asyncio
import json
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

  servecap bench --url ... --model ... --rate 4 --duration 60 --prompt-tokens uniform:100:400
"""

LOAD = "Load"
WORK = "Workload"


def register(app: typer.Typer) -> None:
    app.command(
        name="bench",
        help="Load-test a server: one request, N users at once, fixed "
        "concurrency, a request rate, or a sweep." + EXAMPLES,
    )(bench_command)


def _numbers(text: str | None, kind: type, flag: str) -> list[Any]:
    from ..errors import InvalidValueError

    if not text:
        return []
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InvalidValueError(
            f"{flag} takes comma-separated numbers, not {text!r}", f"write e.g. {flag} 1,2,4,8"
        ) from None
    if any(v <= 0 for v in values):
        raise InvalidValueError(f"{flag} values must be positive", f"write e.g. {flag} 1,2,4,8")
    return values


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
    requests: Annotated[
        int | None,
        typer.Option(
            "--requests",
            "-n",
            help="Requests to send (alone: one at a time).",
            rich_help_panel=LOAD,
        ),
    ] = None,
    repeat: Annotated[
        int,
        typer.Option("--repeat", help="Repeat single requests for a spread.", rich_help_panel=LOAD),
    ] = 1,
    users: Annotated[
        int | None,
        typer.Option(
            "--users", help="N users start at once, one request each.", rich_help_panel=LOAD
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", rich_help_panel=LOAD)
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option("--rate", help="Requests/s, Poisson arrivals.", rich_help_panel=LOAD),
    ] = None,
    burstiness: Annotated[
        float,
        typer.Option(
            "--burstiness", help="Gamma shape: 1 Poisson, <1 burstier.", rich_help_panel=LOAD
        ),
    ] = 1.0,
    duration: Annotated[
        float | None,
        typer.Option("--duration", help="Seconds (concurrency or rate).", rich_help_panel=LOAD),
    ] = None,
    sweep_users: Annotated[
        str | None, typer.Option("--sweep-users", help="e.g. 1,2,4,8.", rich_help_panel=LOAD)
    ] = None,
    sweep_rates: Annotated[
        str | None, typer.Option("--sweep-rates", help="e.g. 1,2,4.", rich_help_panel=LOAD)
    ] = None,
    warmup: Annotated[
        int,
        typer.Option(
            "--warmup",
            help="Requests sent first and left out of the statistics.",
            rich_help_panel=LOAD,
        ),
    ] = 0,
    prompt_tokens: Annotated[
        str,
        typer.Option(
            "--prompt-tokens",
            help="N, uniform:A:B, normal:MEAN:STD or exp:MEAN.",
            rich_help_panel=WORK,
        ),
    ] = "100",
    output_tokens: Annotated[
        str | None,
        typer.Option(
            "--output-tokens",
            help="Like --prompt-tokens; forced with ignore_eos and min_tokens "
            "[default: 100; with --seed-prompts the natural length]",
            show_default=False,
            rich_help_panel=WORK,
        ),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option("--dataset", help="JSONL prompts or a ShareGPT file.", rich_help_panel=WORK),
    ] = None,
    dataset_format: Annotated[
        str, typer.Option("--dataset-format", help="jsonl or sharegpt.", rich_help_panel=WORK)
    ] = "jsonl",
    seed_prompts: Annotated[
        bool,
        typer.Option(
            "--seed-prompts",
            help="The seed's prompts, natural output length.",
            rich_help_panel=WORK,
        ),
    ] = False,
    natural_length: Annotated[
        bool,
        typer.Option(
            "--natural-length",
            help="Do not force the output length (no ignore_eos/min_tokens).",
            rich_help_panel=WORK,
        ),
    ] = False,
    extra_body: Annotated[
        str | None,
        typer.Option(
            "--extra-body",
            help="JSON merged into each request, e.g. "
            '\'{"chat_template_kwargs": {"enable_thinking": false}}\'.',
            rich_help_panel=WORK,
        ),
    ] = None,
    slo: Annotated[
        list[str] | None,
        typer.Option("--slo", help="e.g. ttft_p95=2s, tokens_per_s_p5=20 (repeatable)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Result file (JSON Lines), written as requests finish."
        ),
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Also write per-request CSV.")
    ] = None,
    metric_names: Annotated[
        str, typer.Option("--metric-names", help="servecap, vllm, guidellm or aiperf.")
    ] = "servecap",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 600,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    json_out: o.Json = False,
) -> None:
    import time

    from ..errors import InvalidValueError
    from ..loadtest.bench import BenchConfig, BenchProgress, run_bench
    from ..loadtest.client import Endpoint
    from ..loadtest.runner import LoadProfile
    from ..loadtest.slo import parse_slo
    from ..loadtest.workload import Lengths, WorkloadSpec
    from ..report.bench_summary import NAME_MAPS
    from .live import live_progress
    from .output import Output

    if endpoint not in ("chat", "completions"):
        raise InvalidValueError(f"unknown --endpoint {endpoint!r}", "use chat or completions")
    if metric_names not in ("servecap", *NAME_MAPS):
        raise InvalidValueError(
            f"unknown --metric-names {metric_names!r}", "use servecap, vllm, guidellm or aiperf"
        )
    if dataset_format not in ("jsonl", "sharegpt"):
        raise InvalidValueError(
            f"unknown --dataset-format {dataset_format!r}", "use jsonl or sharegpt"
        )
    for flag, value in (
        ("--requests", requests),
        ("--repeat", repeat),
        ("--users", users),
        ("--concurrency", concurrency),
        ("--rate", rate),
        ("--duration", duration),
        ("--timeout", timeout),
    ):
        if value is not None and value <= 0:
            raise InvalidValueError(f"{flag} must be positive, not {value}", f"give {flag} > 0")
    if warmup < 0:
        raise InvalidValueError(f"--warmup must not be negative, not {warmup}", "give 0 or more")
    slos = [parse_slo(s) for s in slo or []]
    body: dict[str, Any] = {}
    if extra_body:
        try:
            body = json.loads(extra_body)
        except json.JSONDecodeError as exc:
            raise InvalidValueError(
                f"--extra-body is not JSON ({exc.msg})", "pass a JSON object"
            ) from None
        if not isinstance(body, dict):
            raise InvalidValueError("--extra-body must be a JSON object", "wrap it in {...}")
    if dataset is not None and not dataset.is_file():
        raise InvalidValueError(f"cannot read dataset {dataset}", "check the --dataset path")
    source = dataset_format if dataset else ("seed" if seed_prompts else "random")
    workload = WorkloadSpec(
        source=source,
        prompt_tokens=Lengths.parse(prompt_tokens, "--prompt-tokens"),
        output_tokens=Lengths.parse(output_tokens or "100", "--output-tokens"),
        dataset=dataset,
        force_length=not (natural_length or (seed_prompts and output_tokens is None)),
        seed=seed,
        extra_body=tuple(body.items()),
    )
    if users:
        profile = LoadProfile("users", requests=users)
    elif concurrency:
        profile = LoadProfile(
            "concurrency", requests=requests, concurrency=concurrency, duration_s=duration
        )
    elif rate:
        profile = LoadProfile(
            "rate", requests=requests, rate=rate, burstiness=burstiness, duration_s=duration
        )
    else:
        profile = LoadProfile("single", requests=(requests or 1) * repeat, duration_s=duration)
    config = BenchConfig(
        endpoint=Endpoint(url, model, endpoint, api_key),
        profile=profile,
        workload=workload,
        warmup=warmup,
        sweep_users=_numbers(sweep_users, int, "--sweep-users"),
        sweep_rates=_numbers(sweep_rates, float, "--sweep-rates"),
        slos=slos,
        output=output or Path(f"servecap-bench-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"),
        timeout_s=timeout,
        seed=seed,
    )
    out = Output(json_mode=json_out)
    progress = BenchProgress()
    try:
        with live_progress(out, progress, enabled=not json_out):
            result = asyncio.run(run_bench(config, progress))
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
