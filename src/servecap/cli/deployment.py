"""The deployment a command plans: its model, hardware, and any `vllm serve` flags it was given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..memory.plan import MemoryPlan


def plan_deployment(
    model: str,
    serve_flags: list[str],
    gpu: str | None,
    gpu_memory_gib: float | None,
    device: str,
    kv_cache_space_gib: float | None,
    vllm_version: str | None,
) -> MemoryPlan:
    """The memory plan of `model` with the `vllm serve` flags among a command's extra args."""
    from ..api import make_plan
    from ..vllm.serve_config import ServeConfig, parse_serve_command

    values = parse_serve_command(serve_flags).values
    config = ServeConfig.from_values(
        {**values, "device": device, "kv_cache_space_gib": kv_cache_space_gib}
    )
    return make_plan(model, config, gpu, gpu_memory_gib, vllm_version)


def split_flags(tokens: list[str]) -> tuple[list[Path], list[str]]:
    """Files and `vllm serve` flags in a variadic argument: click hands a command its unknown
    flags among the files, as paths."""
    from ..vllm.serve_config import SERVE_FLAGS

    files: list[Path] = []
    flags: list[str] = []
    takes_value = False
    for token in tokens:
        if takes_value:
            flags.append(token)
            takes_value = False
        elif token.startswith("-"):
            flags.append(token)
            takes_value = "=" not in token and token in SERVE_FLAGS
        else:
            files.append(Path(token))
    return files, flags
