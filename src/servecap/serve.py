"""Plan a deployment, then start real vLLM with exactly those settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .api import make_plan
from .errors import InvalidValueError
from .hardware import detect_gpu
from .memory.plan import MemoryPlan
from .vllm.launcher import LaunchSpec, free_port
from .vllm.serve_config import ServeConfig


@dataclass(frozen=True)
class ServePlan:
    """The memory plan and the launch that realises it."""

    plan: MemoryPlan
    launch: LaunchSpec


def plan_launch(
    model: str,
    gpu: str | None,
    config: ServeConfig,
    vllm_version: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    extra_args: list[str] | None = None,
    log_path: Path | None = None,
) -> ServePlan:
    """Plan `model` (on `gpu`, or the local GPU) and build the vLLM launch with its flags."""
    memory_gib: float | None = None
    if config.device == "cuda" and gpu is None:
        found = detect_gpu()
        if found is None:
            raise InvalidValueError(
                "no GPU given and none detected",
                "pass --gpu NAME, or --device cpu for vLLM's CPU build",
            )
        gpu, memory_gib = (None, found.memory_gib) if found.slug == "custom" else (found.slug, None)
    space = config.kv_cache_space_gib
    if space is not None and not float(space).is_integer():
        raise InvalidValueError(
            f"--kv-cache-space-gib {space} is not a whole number",
            "vLLM reads VLLM_CPU_KVCACHE_SPACE as whole GiB; pass e.g. 1",
        )
    result = make_plan(model, config, gpu, memory_gib, vllm_version)
    return ServePlan(result, _launch(result, model, host, port, api_key, extra_args, log_path))


def _launch(
    result: MemoryPlan,
    model: str,
    host: str,
    port: int,
    api_key: str | None,
    extra_args: list[str] | None,
    log_path: Path | None,
) -> LaunchSpec:
    argv = result.vllm_args(model)
    flags = argv[argv.index("serve") + 2 :]
    if result.device == "cpu":
        flags = [f for f in flags if not f.startswith("VLLM_CPU_KVCACHE_SPACE")]
        # the CPU backend ignores the GPU utilization flag's meaning; keep vLLM's default
        i = flags.index("--gpu-memory-utilization")
        del flags[i : i + 2]
    return LaunchSpec(
        model=model,
        args=[*flags, *(extra_args or [])],
        host=host,
        port=port or free_port(host),
        kv_cache_space_gib=result.config.kv_cache_space_gib if result.device == "cpu" else None,
        api_key=api_key,
        log_path=log_path,
    )
