"""vLLM's defaults for what a plan leaves unset: the dtype, the context length, the block size."""

from __future__ import annotations

from ..hardware import GPU
from ..models.spec import ModelSpec
from ..vllm.versions import VllmVersion


def model_dtype(model: ModelSpec, requested: str) -> str:
    """The dtype vLLM runs the model in (vllm/config/model.py: _resolve_auto_dtype)."""
    if requested in ("half", "float16"):
        return "float16"
    if requested in ("float", "float32"):
        return "float32"
    if requested == "bfloat16":
        return "bfloat16"
    return "bfloat16" if model.dtype == "float32" else model.dtype


def default_max_model_len(model: ModelSpec, version: VllmVersion) -> int:
    """The context vLLM uses when --max-model-len is not given (derived from config.json).

    vllm/config/model.py (_get_and_verify_max_len): linear and dynamic rope scaling multiply
    the length by their factor; before 0.30, YaRN's length was its original length times the
    factor (0.30 left max_position_embeddings as it is, as transformers does).
    """
    scaling = model.rope_length
    length = model.max_position_embeddings
    if scaling is None:
        return length
    if scaling.kind == "yarn":
        if not version.yarn_scales_max_len:
            return length
        length = scaling.original_max_position_embeddings
    return int(length * scaling.factor)


def default_block_size(model: ModelSpec, gpu: GPU | None, device: str) -> int:
    if device == "cpu":
        return 16 if model.mla is not None else 128  # vllm/platforms/cpu.py
    if model.mla is not None and gpu is not None:
        if gpu.is_blackwell:
            return 128  # CUTLASS MLA
        if gpu.is_hopper:
            return 64  # FlashMLA
    return 16
