"""Options shared by several commands, declared once. Names mirror `vllm serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

VLLM = "vLLM settings"
HW = "Hardware"

Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model: catalogue id, folder, config.json path, or Hub id.",
        show_default=False,
    ),
]
Gpu = Annotated[
    str | None,
    typer.Option(
        "--gpu",
        "-g",
        help="GPU from `servecap gpus`, e.g. rtx-4090, h100-sxm, h200.",
        rich_help_panel=HW,
    ),
]
GpuMemoryGib = Annotated[
    float | None,
    typer.Option(
        "--gpu-memory-gib",
        help="Override the GPU's driver-reported memory (GiB).",
        rich_help_panel=HW,
    ),
]
DEVICES = ("cuda", "cpu")


def _known_device(value: str) -> str:
    if value not in DEVICES:
        raise typer.BadParameter(f"unknown device {value!r}; valid devices: {', '.join(DEVICES)}")
    return value


Device = Annotated[
    str,
    typer.Option(
        "--device",
        help="cuda, or cpu for vLLM's CPU backend.",
        callback=_known_device,
        rich_help_panel=HW,
    ),
]
KvCacheSpaceGib = Annotated[
    float | None,
    typer.Option(
        "--kv-cache-space-gib",
        help="CPU backend: VLLM_CPU_KVCACHE_SPACE in GiB.",
        rich_help_panel=HW,
    ),
]
Utilization = Annotated[
    float | None,
    typer.Option(
        "--gpu-memory-utilization",
        help="Fraction of GPU memory vLLM may use (default: the version's, 0.9 or 0.92).",
        rich_help_panel=VLLM,
    ),
]
MaxModelLen = Annotated[
    int | None,
    typer.Option(
        "--max-model-len",
        help="Context length; -1 auto-fits (default: from config.json).",
        rich_help_panel=VLLM,
    ),
]
TensorParallel = Annotated[int, typer.Option("--tensor-parallel-size", "-tp", rich_help_panel=VLLM)]
PipelineParallel = Annotated[
    int, typer.Option("--pipeline-parallel-size", "-pp", rich_help_panel=VLLM)
]
ExpertParallel = Annotated[bool, typer.Option("--enable-expert-parallel", rich_help_panel=VLLM)]
Dtype = Annotated[str, typer.Option("--dtype", rich_help_panel=VLLM)]
KvCacheDtype = Annotated[
    str, typer.Option("--kv-cache-dtype", help="auto or fp8.", rich_help_panel=VLLM)
]
Quantization = Annotated[
    str | None,
    typer.Option(
        "--quantization", "-q", help="On-the-fly quantization, e.g. fp8.", rich_help_panel=VLLM
    ),
]
MaxNumSeqs = Annotated[int | None, typer.Option("--max-num-seqs", rich_help_panel=VLLM)]
MaxNumBatchedTokens = Annotated[
    int | None, typer.Option("--max-num-batched-tokens", rich_help_panel=VLLM)
]
BlockSize = Annotated[int | None, typer.Option("--block-size", rich_help_panel=VLLM)]
EnforceEager = Annotated[
    bool, typer.Option("--enforce-eager", help="No CUDA graphs.", rich_help_panel=VLLM)
]
NumGpuBlocksOverride = Annotated[
    int | None, typer.Option("--num-gpu-blocks-override", rich_help_panel=VLLM)
]
VllmVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--vllm-version",
        help="vLLM release to model (default: the installed one, else 0.33.0).",
        rich_help_panel=VLLM,
    ),
]
WeightsGib = Annotated[
    float | None,
    typer.Option("--weights-gib", help='Known weight size per GPU ("Model loading took"), GiB.'),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]

# Load and workload options, shared by `bench` and `simulate` (one spec drives both).
LOAD = "Load"
WORK = "Workload"
Requests = Annotated[
    int | None,
    typer.Option(
        "--requests", "-n", help="Requests to send (alone: one at a time).", rich_help_panel=LOAD
    ),
]
Repeat = Annotated[
    int, typer.Option("--repeat", help="Repeat single requests for a spread.", rich_help_panel=LOAD)
]
Users = Annotated[
    int | None,
    typer.Option("--users", help="N users start at once, one request each.", rich_help_panel=LOAD),
]
Concurrency = Annotated[int | None, typer.Option("--concurrency", "-c", rich_help_panel=LOAD)]
Rate = Annotated[
    float | None, typer.Option("--rate", help="Requests/s, Poisson arrivals.", rich_help_panel=LOAD)
]
Burstiness = Annotated[
    float,
    typer.Option("--burstiness", help="Gamma shape: 1 Poisson, <1 burstier.", rich_help_panel=LOAD),
]
Duration = Annotated[
    float | None,
    typer.Option("--duration", help="Seconds (concurrency or rate).", rich_help_panel=LOAD),
]
SweepUsers = Annotated[
    str | None, typer.Option("--sweep-users", help="e.g. 1,2,4,8.", rich_help_panel=LOAD)
]
SweepRates = Annotated[
    str | None, typer.Option("--sweep-rates", help="e.g. 1,2,4.", rich_help_panel=LOAD)
]
PromptTokens = Annotated[
    str,
    typer.Option(
        "--prompt-tokens",
        help="N, uniform:LO:HI, normal:MEAN:STD or exp:MEAN.",
        rich_help_panel=WORK,
    ),
]
OutputTokens = Annotated[
    str | None,
    typer.Option(
        "--output-tokens",
        help="Like --prompt-tokens; forced with ignore_eos and min_tokens "
        "[default: 100; with --seed-prompts the natural length]",
        show_default=False,
        rich_help_panel=WORK,
    ),
]
SeedPrompts = Annotated[
    bool,
    typer.Option(
        "--seed-prompts", help="The seed's prompts, natural output length.", rich_help_panel=WORK
    ),
]
Slo = Annotated[
    list[str] | None,
    typer.Option("--slo", help="e.g. ttft_p95=2s, tokens_per_s_p5=20 (repeatable)."),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the workload's random draws.")]
METRIC_NAMES = ("servecap", "vllm", "guidellm", "aiperf")


def _known_names(value: str) -> str:
    if value not in METRIC_NAMES:
        raise typer.BadParameter(f"unknown names {value!r}; use {', '.join(METRIC_NAMES)}")
    return value


MetricNames = Annotated[
    str,
    typer.Option(
        "--metric-names", help="servecap, vllm, guidellm or aiperf.", callback=_known_names
    ),
]

ModelArg = Annotated[
    str | None,
    typer.Argument(metavar="MODEL", help="The model (or give it as --model).", show_default=False),
]
ServedModel = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model name as the server lists it.", show_default=False),
]
Url = Annotated[str, typer.Option("--url", help="Server base URL, with or without /v1.")]
EndpointKind = Annotated[str, typer.Option("--endpoint", help="chat or completions.")]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="OPENAI_API_KEY", help="Never printed or saved.", show_default=False
    ),
]
Warmup = Annotated[
    int,
    typer.Option(
        "--warmup",
        help="Requests sent together first and left out of the statistics.",
        rich_help_panel=LOAD,
    ),
]
Dataset = Annotated[
    Path | None,
    typer.Option("--dataset", help="JSONL prompts or a ShareGPT file.", rich_help_panel=WORK),
]
DatasetFormat = Annotated[
    str, typer.Option("--dataset-format", help="jsonl or sharegpt.", rich_help_panel=WORK)
]
NaturalLength = Annotated[
    bool,
    typer.Option(
        "--natural-length",
        help="Do not force the output length (no ignore_eos/min_tokens).",
        rich_help_panel=WORK,
    ),
]
ExtraBody = Annotated[
    str | None,
    typer.Option(
        "--extra-body",
        help="JSON merged into each request, e.g. "
        '\'{"chat_template_kwargs": {"enable_thinking": false}}\'.',
        rich_help_panel=WORK,
    ),
]
BenchOutput = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Result file (JSON Lines), written as requests finish "
        "[default: servecap-results/bench-TIME.jsonl].",
        show_default=False,
    ),
]
SimOutput = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write bench-format records and the simulated /metrics timeline here (for "
        "`servecap report`).",
    ),
]
CsvOut = Annotated[Path | None, typer.Option("--csv", help="Also write per-request CSV.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds per request.")]
MetricsInterval = Annotated[
    float,
    typer.Option("--metrics-interval", help="Seconds between reads of the server's /metrics."),
]
StartAt = Annotated[
    float | None,
    typer.Option(
        "--start-at",
        help="Unix time to send the first measured request at, after warm-up: start "
        "several load generators together, then merge them with `servecap report`.",
    ),
]
StepProfile = Annotated[
    Path | None, typer.Option("--profile", help="Step-time profile from `servecap calibrate`.")
]
NoPrefixCaching = Annotated[bool, typer.Option("--no-prefix-caching")]
