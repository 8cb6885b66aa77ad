"""The memory plan: vLLM's start-up accounting, predicted from model, GPU, flags and version."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InvalidValueError
from ..hardware import GPU
from ..models.spec import LayerKind, ModelSpec, Quantization
from ..units import GiB, dtype_bytes
from ..vllm import messages
from ..vllm.serve_config import ServeConfig, serve_argv
from ..vllm.versions import VllmVersion
from . import kv, overhead
from .checks import check_config
from .defaults import default_block_size, default_max_model_len, model_dtype
from .weights import Parallel, pp_layer_ranges, weight_bytes

__all__ = ["MemoryPlan", "ServeConfig", "StagePlan", "plan"]


@dataclass(frozen=True)
class StagePlan:
    """One pipeline stage's rank: its budget terms and its share of the KV cache."""

    stage: int
    weights_bytes: int
    activation_bytes: int
    non_torch_bytes: int
    cudagraph_bytes: int
    available_bytes: int
    layout: kv.KVLayout
    num_blocks: int
    other_bytes: int = 0  # charged only in some versions: CUDA context, runner state
    other_note: str = ""


@dataclass(frozen=True)
class MemoryPlan:
    """vLLM's start-up numbers for one model, GPU, version and set of flags."""

    model: ModelSpec
    gpu: GPU | None
    version: VllmVersion
    config: ServeConfig  # with every default resolved
    user_config: ServeConfig  # as the user gave it
    limits: overhead.BatchLimits
    total_bytes: int
    requested_bytes: int
    context_bytes: int
    stages: tuple[StagePlan, ...]
    limiting_stage: int
    cudagraph_charged: bool
    num_blocks: int
    kv_cache_tokens: int
    max_concurrency: float
    fits: bool
    error: str | None
    estimated_max_model_len: int | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def stage(self) -> StagePlan:
        return self.stages[self.limiting_stage]

    @property
    def max_model_len(self) -> int:
        assert self.config.max_model_len is not None
        return self.config.max_model_len

    @property
    def utilization(self) -> float:
        assert self.config.gpu_memory_utilization is not None
        return self.config.gpu_memory_utilization

    @property
    def available_bytes(self) -> int:
        return self.stage.available_bytes

    @property
    def block_size(self) -> int:
        return self.stage.layout.block_size

    @property
    def kv_bytes_per_token(self) -> int | None:
        return self.stage.layout.kv_bytes_per_token

    @property
    def device(self) -> str:
        return self.config.device

    def vllm_args(self, model_ref: str | None = None) -> list[str]:
        """The `vllm serve` command that realises this plan (flags that differ from defaults)."""
        return serve_argv(
            model_ref or self.model.name, self.user_config, self.utilization, self.max_model_len
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable `plan --json` object."""
        s = self.stage
        return {
            "model": self.model.name,
            "gpu": self.gpu.slug if self.gpu else "cpu",
            "vllm_version": str(self.version),
            "device": self.device,
            "gpu_total_gib": round(self.total_bytes / GiB, 4),
            "gpu_memory_utilization": self.utilization,
            "requested_gib": round(self.requested_bytes / GiB, 4),
            "weights_gib": round(s.weights_bytes / GiB, 4),
            "activation_peak_gib": round(s.activation_bytes / GiB, 4),
            "non_torch_gib": round(s.non_torch_bytes / GiB, 4),
            "cudagraph_gib": round(s.cudagraph_bytes / GiB, 4),
            "cudagraph_in_budget": self.cudagraph_charged,
            "other_gib": round(s.other_bytes / GiB, 4),
            "kv_cache_gib": round(s.available_bytes / GiB, 4),
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "block_size": self.block_size,
            "num_blocks": self.num_blocks,
            "kv_cache_tokens": self.kv_cache_tokens,
            "max_model_len": self.max_model_len,
            "max_concurrency": round(self.max_concurrency, 4),
            "max_num_seqs": self.limits.max_num_seqs,
            "max_num_batched_tokens": self.limits.max_num_batched_tokens,
            "tensor_parallel_size": self.config.tensor_parallel_size,
            "pipeline_parallel_size": self.config.pipeline_parallel_size,
            "fits": self.fits,
            "error": self.error,
            "estimated_max_model_len": self.estimated_max_model_len,
            "vllm_args": self.vllm_args(),
            "notes": list(self.notes),
        }


def _quantization(model: ModelSpec, config: ServeConfig) -> Quantization | None:
    if config.quantization is None or model.quantization is not None:
        return None
    bits = 8 if config.quantization == "fp8" else 4
    return Quantization(method=config.quantization, bits=bits, group_size=128)


def _budget(version: VllmVersion, total: int, utilization: float) -> int:
    requested = total * utilization
    return math.ceil(requested) if version.ceil_budget else int(requested)


def plan(
    model: ModelSpec, gpu: GPU | None, config: ServeConfig, version: VllmVersion
) -> MemoryPlan:
    """Predict vLLM's start-up memory accounting for `model` on `gpu` with `config`."""
    check_config(config, model)
    device = config.device
    if device == "cpu" and config.kv_cache_space_gib is None:
        raise InvalidValueError(
            "--device cpu needs --kv-cache-space-gib",
            "pass the VLLM_CPU_KVCACHE_SPACE (GiB) you start vLLM with, e.g. "
            "--kv-cache-space-gib 1",
        )
    if device == "cuda" and gpu is None:
        raise InvalidValueError("a GPU plan needs --gpu", "pass --gpu NAME (see `servecap gpus`)")
    notes: list[str] = []
    utilization = config.gpu_memory_utilization or version.default_gpu_memory_utilization
    dtype = model_dtype(model, config.dtype)
    elem = dtype_bytes(dtype)
    kv_elem = elem if config.kv_cache_dtype in ("auto",) else dtype_bytes(config.kv_cache_dtype)
    limits = overhead.default_batch_limits(
        version, gpu, device, config.tensor_parallel_size * config.pipeline_parallel_size
    )
    limits = overhead.BatchLimits(
        max_num_seqs=config.max_num_seqs or limits.max_num_seqs,
        max_num_batched_tokens=config.max_num_batched_tokens or limits.max_num_batched_tokens,
    )
    derived_len = default_max_model_len(model, version)
    auto_fit = config.max_model_len == -1
    max_len = derived_len if config.max_model_len in (None, -1) else int(config.max_model_len)
    block_size = config.block_size or default_block_size(model, gpu, device)
    if model.mla is not None and config.block_size and device == "cuda" and gpu is not None:
        block_size = default_block_size(model, gpu, device)
    par = Parallel(
        config.tensor_parallel_size, config.pipeline_parallel_size, config.enable_expert_parallel
    )
    quant = _quantization(model, config)
    hybrid = not config.disable_hybrid_kv_cache_manager
    if any(la.kind is LayerKind.CHUNKED for la in model.layers):
        hybrid = False  # vLLM disables the hybrid manager for chunked local attention
    # max_concurrent_batches: async scheduling keeps two batches in flight (vllm/config/vllm.py)
    batches = par.pp if (device == "cpu" or not version.at_least("0.30.0")) else max(2, par.pp)
    inflight = limits.max_num_batched_tokens * (batches if version.at_least("0.30.0") else 1)
    linear_blocks = 2 if version.at_least("0.30.0") else 1

    total = gpu.memory_bytes if gpu is not None else 0
    requested = _budget(version, total, utilization) if device == "cuda" else 0
    context = overhead.cuda_context_bytes(gpu) if gpu is not None else 0
    graphs_on = device == "cuda" and not config.enforce_eager
    charged = graphs_on and version.cudagraph_estimate_default
    runner = "v1"

    stages: list[StagePlan] = []
    for stage, layers in enumerate(pp_layer_ranges(model.num_layers, par.pp)):
        last = stage == par.pp - 1
        specs = kv.layer_specs(model, layers, par.tp, kv_elem, elem, version, hybrid)
        lay = kv.layout(specs, block_size, version, inflight, linear_blocks)
        if config.weights_gib is not None:
            weights = int(config.weights_gib * GiB)
        else:
            weights = weight_bytes(model, par, stage, dtype, quant)
        other, other_note = 0, ""
        if device == "cpu":
            activation = non_torch = graphs = 0
            assert config.kv_cache_space_gib is not None
            available = int(config.kv_cache_space_gib * GiB)
        else:
            peak = overhead.activation_peak(
                model, version, limits, gpu, par.tp, par.ep, last, elem, config.flashinfer_sampler
            )
            runner = peak.runner
            activation = peak.total
            non_torch = overhead.non_torch_bytes(version, par.tp, gpu)
            graphs = (
                overhead.cudagraph_bytes(model, version, limits, par.tp, elem) if graphs_on else 0
            )
            if runner == "v2" and not version.at_least("0.29.0"):
                charged = False  # MRV2's graph estimate returns 0 before 0.29
            if config.kv_cache_memory_bytes is not None:
                available = config.kv_cache_memory_bytes
            else:
                if version.era == "A":
                    other, other_note = (
                        context,
                        "CUDA context: all non-torch memory counts before 0.9.1",
                    )
                if version.era == "F" and runner == "v2":
                    # total_consumed also charges MRV2's penalty state made after weight loading
                    other = limits.max_num_seqs * (
                        model.vocab_size * 4 + -(-model.vocab_size // 32) * 4
                    )
                    other_note = "Model Runner V2 sampler state, charged from 0.27"
                available = requested - weights - activation - non_torch - other
                if charged:
                    available -= graphs
        per_block = lay.bytes_per_block
        blocks = max(0, available // per_block) if per_block else 0
        stages.append(
            StagePlan(
                stage,
                weights,
                activation,
                non_torch,
                graphs,
                available,
                lay,
                blocks,
                other,
                other_note,
            )
        )

    limiting = min(range(len(stages)), key=lambda i: (stages[i].num_blocks, i))
    num_blocks = stages[limiting].num_blocks
    if config.num_gpu_blocks_override is not None:
        num_blocks = config.num_gpu_blocks_override

    error: str | None = None
    estimate: int | None = None
    over_groups = version.at_least("0.14.0") and not version.at_least("0.29.0")

    def fit_check_bytes(st: StagePlan) -> int:
        """The KV memory vLLM's start-up check compares a request against."""
        available = st.available_bytes
        override = config.num_gpu_blocks_override
        # vllm/v1/core/kv_cache_utils.py get_kv_cache_configs: the override replaces the
        # profiled memory before the check (0.21+), and the null block is held back (0.29+)
        if override is not None and version.override_sets_fit_check_memory:
            available = override * st.layout.bytes_per_block
        if version.reserves_null_block_in_fit_check and st.layout.bytes_per_block:
            return available - st.layout.bytes_per_block
        return available

    for st in stages:
        check_memory = fit_check_bytes(st)
        if st.available_bytes <= 0:
            error = messages.no_memory_error(version)
            limiting = st.stage
            break
        needed = st.layout.needed_bytes(max_len, over_groups)
        if auto_fit:
            fit_len = st.layout.estimate_max_len(check_memory, max_len, over_groups)
            if fit_len < max_len:
                notes.append(f"--max-model-len -1 auto-fits the context to {fit_len:,} tokens")
                max_len = fit_len
            continue
        if needed > check_memory:
            estimate = st.layout.estimate_max_len(check_memory, max_len, over_groups)
            error = messages.max_len_error(version, max_len, needed, check_memory, estimate)
            limiting = st.stage
            break

    if max_len > derived_len and not auto_fit:
        error = messages.too_long_error(version, max_len, derived_len)
    if device == "cuda" and gpu is not None and version.at_least("0.9.1"):
        free_at_start = total - context
        if free_at_start < requested:
            error = messages.startup_memory_error(
                version, free_at_start, total, utilization, requested
            )
    if error is None and estimate is None:
        estimate = (
            stages[limiting].layout.estimate_max_len(
                fit_check_bytes(stages[limiting]), max(max_len, derived_len), over_groups
            )
            if stages[limiting].available_bytes > 0
            else 0
        )

    lay = stages[limiting].layout
    per_request = lay.blocks_per_request(max_len) if max_len > 0 else 1
    concurrency = num_blocks / per_request if per_request else 0.0
    tokens = _reported_tokens(version, lay, num_blocks, concurrency, max_len)
    if config.kv_cache_dtype.startswith("fp8") and version.at_least("0.8.0"):
        notes.append("fp8 KV cache: one byte per element")
    resolved = replace(
        config,
        gpu_memory_utilization=utilization,
        max_model_len=max_len,
        max_num_seqs=limits.max_num_seqs,
        max_num_batched_tokens=limits.max_num_batched_tokens,
        block_size=block_size,
        dtype=dtype,
    )
    return MemoryPlan(
        model=model,
        gpu=gpu,
        version=version,
        config=resolved,
        user_config=config,
        limits=limits,
        total_bytes=total,
        requested_bytes=requested,
        context_bytes=context,
        stages=tuple(stages),
        limiting_stage=limiting,
        cudagraph_charged=charged,
        num_blocks=num_blocks,
        kv_cache_tokens=tokens,
        max_concurrency=concurrency,
        fits=error is None,
        error=error,
        estimated_max_model_len=estimate,
        notes=tuple(notes),
    )


def _reported_tokens(
    version: VllmVersion, lay: kv.KVLayout, num_blocks: int, concurrency: float, max_len: int
) -> int:
    """The "KV cache size: N tokens" number (vllm/v1/core/kv_cache_utils.py)."""
    rule = version.token_report
    if rule == "blocks":
        return num_blocks * lay.block_size
    if rule == "groups":
        return (num_blocks // max(1, len(lay.groups))) * lay.block_size
    return int(concurrency * max_len)
