"""`servecap plan`: where vLLM's GPU memory goes, and the smallest setup that fits."""

from __future__ import annotations

import shlex
from typing import Annotated, Any

import typer

from . import options as o

EXAMPLES = """
Examples:

  servecap plan Qwen/Qwen3-4B --gpu rtx-4090 --gpu-memory-utilization 0.5 --max-model-len 10000

  servecap plan meta-llama/Llama-3.1-70B-Instruct --gpu h100-sxm -tp 4 --json

  servecap plan ./my-model --device cpu --kv-cache-space-gib 1

  servecap plan --gpu h200 -- vllm serve Qwen/Qwen3-4B --max-model-len 40960
"""


def register(app: typer.Typer) -> None:
    app.command(
        name="plan", help="Predict vLLM's start-up memory numbers for a model and GPU." + EXAMPLES
    )(plan_command)


def plan_command(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="MODEL, or after `--` a whole `vllm serve MODEL ...` command.", show_default=False
        ),
    ] = None,
    model: o.Model = None,
    gpu: o.Gpu = None,
    gpu_memory_gib: o.GpuMemoryGib = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    gpu_memory_utilization: o.Utilization = None,
    max_model_len: o.MaxModelLen = None,
    tensor_parallel_size: o.TensorParallel = 1,
    pipeline_parallel_size: o.PipelineParallel = 1,
    enable_expert_parallel: o.ExpertParallel = False,
    dtype: o.Dtype = "auto",
    kv_cache_dtype: o.KvCacheDtype = "auto",
    quantization: o.Quantization = None,
    max_num_seqs: o.MaxNumSeqs = None,
    max_num_batched_tokens: o.MaxNumBatchedTokens = None,
    block_size: o.BlockSize = None,
    enforce_eager: o.EnforceEager = False,
    num_gpu_blocks_override: o.NumGpuBlocksOverride = None,
    vllm_version: o.VllmVersionOpt = None,
    weights_gib: o.WeightsGib = None,
    json_out: o.Json = False,
) -> None:
    from ..api import make_plan
    from ..memory.inverse import smallest_setup
    from ..report.plan_view import answer_sentence, plan_table, setup_lines
    from .output import Output

    explicit: dict[str, Any] = {
        "gpu_memory_utilization": gpu_memory_utilization,
        "max_model_len": max_model_len,
        "tensor_parallel_size": tensor_parallel_size if tensor_parallel_size != 1 else None,
        "pipeline_parallel_size": pipeline_parallel_size if pipeline_parallel_size != 1 else None,
        "enable_expert_parallel": enable_expert_parallel or None,
        "dtype": dtype if dtype != "auto" else None,
        "kv_cache_dtype": kv_cache_dtype if kv_cache_dtype != "auto" else None,
        "quantization": quantization,
        "max_num_seqs": max_num_seqs,
        "max_num_batched_tokens": max_num_batched_tokens,
        "block_size": block_size,
        "enforce_eager": enforce_eager or None,
        "num_gpu_blocks_override": num_gpu_blocks_override,
        "device": device,
        "kv_cache_space_gib": kv_cache_space_gib,
        "weights_gib": weights_gib,
    }
    result = make_plan(
        model=model,
        args=args or [],
        gpu=gpu,
        gpu_memory_gib=gpu_memory_gib,
        vllm_version=vllm_version,
        settings={k: v for k, v in explicit.items() if v is not None},
    )
    out = Output(json_mode=json_out)
    setup = smallest_setup(result)
    if json_out:
        data = result.to_dict()
        data["smallest_setup"] = {
            "min_gpu_memory_utilization": setup.min_gpu_memory_utilization,
            "min_gpu_memory_gib": setup.min_gpu_memory_gib,
            "smallest_catalogue_gpu": setup.smallest_catalogue_gpu,
            "min_tensor_parallel_size": setup.min_tensor_parallel_size,
            "max_model_len_that_fits": setup.max_model_len_that_fits,
        }
        out.data(data)
        return
    title = (
        f"{result.model.name} on {result.gpu.name if result.gpu else 'CPU'}, "
        f"vLLM {result.version}, max-model-len {result.max_model_len:,}"
    )
    out.show(plan_table(result, title=title), "")
    out.show(answer_sentence(result))
    if result.error:
        out.show("", "[bold red]vLLM refuses to start:[/] " + result.error)
    out.show("", "[bold]Smallest setup[/]")
    for line in setup_lines(setup, result):
        out.show(f"  {line}")
    for note in result.notes:
        out.show(f"  note: {note}")
    from ..vllm.args import serve_argv

    out.show("", "[bold]Command[/]", "  " + shlex.join(serve_argv(result)))
