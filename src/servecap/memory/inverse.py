"""The inverse questions: the smallest setup for a context, and the longest context that fits."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ..hardware import GPU, custom_gpu, gpus
from ..models.spec import ModelSpec
from ..vllm.serve_config import ServeConfig
from ..vllm.versions import VllmVersion
from .overhead import cuda_context_bytes
from .plan import MemoryPlan, plan

TP_SIZES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class SmallestSetup:
    """Answers to "what is the least that serves this max_model_len?"."""

    min_gpu_memory_utilization: float | None  # on the planned GPU; None if even 1.0 fails
    min_gpu_memory_gib: float | None  # driver-reported total at the planned utilization
    smallest_catalogue_gpu: str | None  # slug of the smallest catalogue card that fits
    min_tensor_parallel_size: int | None  # on the planned GPU and utilization
    max_model_len_that_fits: int  # the longest context at the planned settings (0: none)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _fits(model: ModelSpec, gpu: GPU, config: ServeConfig, version: VllmVersion) -> bool:
    return plan(model, gpu, config, version).fits


def min_utilization(
    model: ModelSpec, gpu: GPU, config: ServeConfig, version: VllmVersion
) -> float | None:
    """The smallest --gpu-memory-utilization (to 0.01) that fits, if any."""

    def fits(hundredths: int) -> bool:
        return _fits(model, gpu, replace(config, gpu_memory_utilization=hundredths / 100), version)

    # Above (total - CUDA context) / total vLLM fails its start-up free-memory check.
    hi = int(100 * (1 - cuda_context_bytes(gpu) / gpu.memory_bytes))
    if not fits(hi):
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo / 100


def min_memory_gib(
    model: ModelSpec, gpu: GPU, config: ServeConfig, version: VllmVersion
) -> float | None:
    """The least driver-reported GPU memory (to 0.01 GiB) that fits at the planned utilization."""

    def fits(hundredths: int) -> bool:
        return _fits(model, custom_gpu(hundredths / 100, gpu), config, version)

    hi = 100 * 2048
    if not fits(hi):
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo / 100


def smallest_gpu(model: ModelSpec, config: ServeConfig, version: VllmVersion) -> GPU | None:
    """The catalogue GPU with the least memory that serves the plan's settings."""
    for gpu in gpus():
        if _fits(model, gpu, config, version):
            return gpu
    return None


def min_tensor_parallel(
    model: ModelSpec, gpu: GPU, config: ServeConfig, version: VllmVersion
) -> int | None:
    """The smallest tensor parallel size (dividing the heads) that fits on this GPU."""
    for tp in TP_SIZES:
        if model.num_attention_heads % tp:
            continue
        if _fits(model, gpu, replace(config, tensor_parallel_size=tp), version):
            return tp
    return None


def max_context(result: MemoryPlan) -> int:
    """The longest max_model_len that fits with everything else as planned."""
    config = replace(result.user_config, max_model_len=None)
    full = plan(result.model, result.gpu, config, result.version)
    if full.fits:
        return full.max_model_len

    # vLLM's estimate is made under the profile of the refused (longer) context; shorter
    # contexts can profile smaller, so search upwards from it for the longest that starts.
    def fits(length: int) -> bool:
        at = replace(config, max_model_len=length)
        return plan(result.model, result.gpu, at, result.version).fits

    lo = full.estimated_max_model_len or 0
    if lo and not fits(lo):
        return 0 if not result.fits else result.max_model_len
    hi = full.max_model_len
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def smallest_setup(result: MemoryPlan) -> SmallestSetup:
    """Answer the inverse questions around an existing plan."""
    model, gpu, version, config = result.model, result.gpu, result.version, result.user_config
    config = replace(config, max_model_len=result.max_model_len)
    if gpu is None:  # CPU plans have no GPU to shrink
        return SmallestSetup(None, None, None, None, max_context(result))
    at_u = replace(config, gpu_memory_utilization=result.utilization)
    memory = min_memory_gib(model, gpu, at_u, version)
    cheapest = smallest_gpu(model, at_u, version)
    return SmallestSetup(
        min_gpu_memory_utilization=min_utilization(model, gpu, config, version),
        min_gpu_memory_gib=memory,
        smallest_catalogue_gpu=cheapest.slug if cheapest else None,
        min_tensor_parallel_size=min_tensor_parallel(model, gpu, config, version),
        max_model_len_that_fits=max_context(result),
    )
