"""Library entry points that combine model, GPU, version and flags into one call."""

from __future__ import annotations

from typing import Any

from .errors import InvalidValueError, ModelNotFoundError
from .hardware import GPU, custom_gpu, get_gpu
from .memory.plan import MemoryPlan, ServeConfig, plan
from .models.resolve import load_model
from .vllm.args import parse_serve_command
from .vllm.versions import default_version, parse_version

_COMMAND_STARTS = ("vllm", "serve", "python", "python3", "-m")


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
    model: str | None = None,
    args: list[str] | None = None,
    gpu: str | None = None,
    gpu_memory_gib: float | None = None,
    vllm_version: str | None = None,
    settings: dict[str, Any] | None = None,
) -> MemoryPlan:
    """Plan from CLI-like inputs: a model, an optional pasted `vllm serve` command, flags."""
    values: dict[str, Any] = {}
    args = list(args or [])
    if args and (args[0] in _COMMAND_STARTS or len(args) > 1 or " " in args[0]):
        parsed_model, values, _ignored = parse_serve_command(args)
        model = model or parsed_model
    elif args:
        if model is not None and model != args[0]:
            raise InvalidValueError(
                f"two models given ({args[0]!r} and --model {model!r})", "give the model once"
            )
        model = args[0]
    if not model:
        raise ModelNotFoundError("no model given", "pass a model id such as Qwen/Qwen3-4B")
    values.update(settings or {})
    config = ServeConfig(**values)
    version = parse_version(vllm_version) if vllm_version else default_version()
    spec = load_model(model)
    hardware = resolve_gpu(gpu, gpu_memory_gib, config.device)
    return plan(spec, hardware, config, version)
