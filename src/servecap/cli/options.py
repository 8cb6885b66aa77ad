"""Options shared by several commands, declared once. Names mirror `vllm serve`."""

from __future__ import annotations

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
Device = Annotated[
    str, typer.Option("--device", help="cuda, or cpu for vLLM's CPU backend.", rich_help_panel=HW)
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
