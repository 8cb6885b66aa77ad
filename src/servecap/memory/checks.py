"""Settings that cannot work for a model, refused before any planning."""

from __future__ import annotations

import math

from ..errors import InvalidValueError
from ..models.spec import ModelSpec
from ..vllm.serve_config import ServeConfig

KV_DTYPES = ("auto", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "bfloat16", "float16")
DTYPES = ("auto", "bfloat16", "float16", "half", "float32", "float")
QUANTIZATIONS = ("fp8", "awq", "gptq", "compressed-tensors", "mxfp4", "bitsandbytes")


def check_config(config: ServeConfig, model: ModelSpec) -> None:
    """Refuse impossible values: each error names the flag and a value that works."""
    u = config.gpu_memory_utilization
    if u is not None and not 0 < u <= 1:
        raise InvalidValueError(
            f"--gpu-memory-utilization must be in (0, 1], not {u}",
            "give a fraction of the GPU such as 0.9",
        )
    if (
        config.max_model_len is not None
        and config.max_model_len <= 0
        and config.max_model_len != -1
    ):
        raise InvalidValueError(
            f"--max-model-len must be positive (or -1 for auto-fit), not {config.max_model_len}",
            "give a context length in tokens such as 8192",
        )
    for flag, value in (
        ("--tensor-parallel-size", config.tensor_parallel_size),
        ("--pipeline-parallel-size", config.pipeline_parallel_size),
        ("--max-num-seqs", config.max_num_seqs),
        ("--max-num-batched-tokens", config.max_num_batched_tokens),
        ("--block-size", config.block_size),
        ("--num-gpu-blocks-override", config.num_gpu_blocks_override),
    ):
        if value is not None and value <= 0:
            raise InvalidValueError(f"{flag} must be positive, not {value}", f"give {flag} >= 1")
    tp = config.tensor_parallel_size
    if model.num_attention_heads % tp:
        raise InvalidValueError(
            f"--tensor-parallel-size {tp} does not divide the {model.num_attention_heads} "
            f"attention heads of {model.name}",
            "use a tensor parallel size that divides the head count, e.g. "
            + ", ".join(str(t) for t in (1, 2, 4, 8) if model.num_attention_heads % t == 0),
        )
    if config.pipeline_parallel_size > model.num_layers:
        raise InvalidValueError(
            f"--pipeline-parallel-size {config.pipeline_parallel_size} exceeds the "
            f"{model.num_layers} layers of {model.name}",
            "use fewer pipeline stages",
        )
    if config.kv_cache_dtype not in KV_DTYPES:
        raise InvalidValueError(
            f"unknown --kv-cache-dtype {config.kv_cache_dtype!r}",
            f"use one of {', '.join(KV_DTYPES)}",
        )
    if config.dtype not in DTYPES:
        raise InvalidValueError(
            f"unknown --dtype {config.dtype!r}", f"use one of {', '.join(DTYPES)}"
        )
    if config.quantization is not None and config.quantization not in QUANTIZATIONS:
        raise InvalidValueError(
            f"unknown --quantization {config.quantization!r}",
            f"use one of {', '.join(QUANTIZATIONS)}",
        )
    if config.kv_cache_space_gib is not None and not 0 < config.kv_cache_space_gib < math.inf:
        raise InvalidValueError(
            f"--kv-cache-space-gib must be positive, not {config.kv_cache_space_gib}",
            "give the VLLM_CPU_KVCACHE_SPACE you start vLLM with, e.g. 1",
        )
    if config.weights_gib is not None and not 0 < config.weights_gib < math.inf:
        raise InvalidValueError(
            f"--weights-gib must be positive, not {config.weights_gib}",
            "give the 'Model loading took' GiB from a vLLM log",
        )
    if config.device not in ("cuda", "cpu"):
        raise InvalidValueError(f"unknown --device {config.device!r}", "use cuda or cpu")
