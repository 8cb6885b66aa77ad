"""Library entry points that combine model, GPU, version and settings into one call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InvalidValueError, ModelNotFoundError
from .hardware import GPU, custom_gpu, get_gpu
from .memory.plan import MemoryPlan, plan
from .models.resolve import load_model
from .vllm.serve_config import ServeConfig, parse_serve_command
from .vllm.versions import default_version, parse_version


def resolve_gpu(name: str | None, memory_gib: float | None, device: str = "cuda") -> GPU | None:
    """The GPU from a catalogue name and/or a memory override."""
    if device == "cpu":
        return None
    if name is None and memory_gib is None:
        raise InvalidValueError(
            "no GPU given", "pass --gpu NAME (see `servecap gpus`) or --gpu-memory-gib N"
        )
    if name is None:
        assert memory_gib is not None
        return custom_gpu(memory_gib)
    gpu = get_gpu(name)
    return gpu.with_memory_gib(memory_gib) if memory_gib is not None else gpu


def make_plan(
    model: str,
    config: ServeConfig | None = None,
    gpu: str | None = None,
    gpu_memory_gib: float | None = None,
    vllm_version: str | None = None,
) -> MemoryPlan:
    """Plan `model` (a catalogue id, folder, config.json or Hub id) with `vllm serve` settings
    on a catalogue GPU (or one of `gpu_memory_gib`), for a vLLM release (default: installed)."""
    if not model:
        raise ModelNotFoundError("no model given", "pass a model id such as Qwen/Qwen3-4B")
    config = config or ServeConfig()
    version = parse_version(vllm_version) if vllm_version else default_version()
    spec = load_model(model)
    hardware = resolve_gpu(gpu, gpu_memory_gib, config.device)
    return plan(spec, hardware, config, version)


def plan_command(
    command: str | list[str],
    overrides: Mapping[str, Any] | None = None,
    gpu: str | None = None,
    gpu_memory_gib: float | None = None,
    vllm_version: str | None = None,
) -> MemoryPlan:
    """Plan a pasted `vllm serve MODEL --flag ...` command; `overrides` (ServeConfig fields)
    win over its flags."""
    parsed = parse_serve_command([command] if isinstance(command, str) else list(command))
    if parsed.model is None:
        raise ModelNotFoundError("the command names no model", "write vllm serve MODEL ...")
    config = ServeConfig.from_values({**parsed.values, **(overrides or {})})
    return make_plan(parsed.model, config, gpu, gpu_memory_gib, vllm_version)
