"""`servecap plan`: where vLLM's GPU memory goes, and the smallest setup that fits."""

from __future__ import annotations

from typing import Annotated

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
        name="plan",
        short_help="Predict vLLM's start-up memory numbers for a model and GPU.",
        help="Predict vLLM's start-up memory numbers for a model and GPU.",
        epilog=EXAMPLES,
    )(plan_command)


def plan_command(
    ctx: typer.Context,
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
    from ..report.plan_view import plan_renderables
    from ..vllm.serve_config import ServeConfig, parse_serve_command
    from . import loadopts
    from .output import Output

    command = parse_serve_command(args or [])
    given = loadopts.given_settings(ctx)  # the flags given here win over a pasted command's
    config = ServeConfig.from_values({**command.values, **given})
    name = loadopts.one_model(command.model, model, "a model id such as Qwen/Qwen3-4B")
    result = make_plan(name, config, gpu, gpu_memory_gib, vllm_version)
    setup = smallest_setup(result)
    out = Output(json_mode=json_out)
    out.data({**result.to_dict(), "smallest_setup": setup.to_dict()})
    out.show(*plan_renderables(result, setup))
