"""Explain a vLLM start-up log: its numbers beside servecap's plan for the same settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, ServecapError
from .hardware import GPU, custom_gpu, get_gpu
from .memory.plan import MemoryPlan, plan
from .models.resolve import catalogue, load_model
from .models.spec import ModelSpec
from .vllm.logparse import StartupLog, parse_log
from .vllm.serve_config import ServeConfig
from .vllm.versions import parse_version

# ServeConfig fields that a log's non-default args can set, with their types.
_ARG_FIELDS: dict[str, type] = {
    "gpu_memory_utilization": float,
    "max_model_len": int,
    "tensor_parallel_size": int,
    "pipeline_parallel_size": int,
    "enable_expert_parallel": bool,
    "kv_cache_dtype": str,
    "quantization": str,
    "max_num_seqs": int,
    "max_num_batched_tokens": int,
    "block_size": int,
    "enforce_eager": bool,
    "num_gpu_blocks_override": int,
    "dtype": str,
    "kv_cache_memory_bytes": int,
    "disable_hybrid_kv_cache_manager": bool,
}


@dataclass(frozen=True)
class Explanation:
    """A parsed log, and the plan for the same model, GPU, version and flags when possible."""

    log: StartupLog
    plan: MemoryPlan | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def mismatch(self) -> str | None:
        """One sentence when vLLM's outcome and servecap's prediction disagree on fitting."""
        if self.plan is None or self.log.fits is None or self.plan.fits == self.log.fits:
            return None
        if self.log.fits:
            return "vLLM started, but servecap's plan predicted a refusal for these settings"
        return "vLLM refused to start, but servecap's plan says these settings fit"

    def to_dict(self) -> dict[str, Any]:
        """The log's numbers under `plan --json`'s keys (null where silent), and the plan."""
        log, args = self.log, self.log.args
        return {
            "model": log.model,
            "gpu": self.plan.gpu.slug if self.plan and self.plan.gpu else None,
            "vllm_version": log.vllm_version,
            "device": _device_name(log.device),
            "gpu_total_gib": log.gpu_total_gib,
            "gpu_memory_utilization": log.gpu_memory_utilization,
            "requested_gib": log.requested_gib,
            "weights_gib": log.weights_gib,
            "activation_peak_gib": log.activation_peak_gib,
            "non_torch_gib": log.non_torch_gib,
            "cudagraph_gib": log.cudagraph_gib,
            "cudagraph_in_budget": log.cudagraph_in_budget,
            "other_gib": None,  # vLLM logs no such line; servecap derives it
            "kv_cache_gib": log.kv_cache_gib,
            "kv_bytes_per_token": None,
            "block_size": log.block_size,
            "num_blocks": log.num_blocks,
            "kv_cache_tokens": log.kv_cache_tokens,
            "max_model_len": log.max_model_len,
            "max_concurrency": log.max_concurrency,
            "max_num_seqs": _int_arg(args, "max_num_seqs"),
            "max_num_batched_tokens": log.max_num_batched_tokens,
            "tensor_parallel_size": _int_arg(args, "tensor_parallel_size"),
            "pipeline_parallel_size": _int_arg(args, "pipeline_parallel_size"),
            "fits": log.fits,
            "error": log.error,
            "estimated_max_model_len": log.estimated_max_model_len,
            "vllm_args": log_argv(log),
            "notes": [*self.notes, *([self.mismatch] if self.mismatch else [])],
            "smallest_setup": None,
            "engine": log.engine,
            "kv_cache_gib_per_rank": log.kv_cache_gib_per_rank or None,
            "prediction": self.plan.to_dict() if self.plan else None,
        }


# non-default args whose values are secrets: shown masked, as `serve` does
_SECRET_ARGS = ("api_key", "hf_token")


def log_argv(log: StartupLog) -> list[str] | None:
    """The `vllm serve` argv that a log's non-default args (or pasted command) describe."""
    if not log.args:
        return None
    argv = ["vllm", "serve", *([log.model] if log.model else [])]
    for key, value in log.args.items():
        if key in ("model", "model_tag") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif key in _SECRET_ARGS:
            argv += [flag, "***"]
        elif isinstance(value, list | tuple):
            argv += [flag, *(str(v) for v in value)]
        elif isinstance(value, dict):
            argv += [flag, json.dumps(value)]
        else:
            argv += [flag, str(value)]
    return argv


def _int_arg(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _device_name(logged: str | None) -> str | None:
    """The log's device ("GPU", "CPU", "XPU") in `plan --json`'s words ("cuda", "cpu", ...)."""
    if logged is None:
        return None
    return "cuda" if logged.startswith("GPU") else logged.lower()


def _model_from_log(name: str) -> ModelSpec | None:
    """A catalogue model matching the log's model path or id by its last component."""
    tail = name.rstrip("/").rsplit("/", 1)[-1].lower()
    for key in catalogue():
        if key.lower() == name.lower() or key.rsplit("/", 1)[-1].lower() == tail:
            return load_model(key)
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return load_model(str(path))
    return None


def log_config(log: StartupLog) -> ServeConfig:
    """The ServeConfig a log's non-default args (or pasted command) describe."""
    values: dict[str, Any] = {}
    for key, kind in _ARG_FIELDS.items():
        value = log.args.get(key)
        if value is None or (key == "max_model_len" and not isinstance(value, int)):
            continue
        try:
            values[key] = kind(value)
        except (TypeError, ValueError):
            continue
    if log.max_model_len and "max_model_len" not in values:
        values["max_model_len"] = log.max_model_len
    if log.gpu_memory_utilization and "gpu_memory_utilization" not in values:
        values["gpu_memory_utilization"] = log.gpu_memory_utilization
    if log.max_num_batched_tokens and "max_num_batched_tokens" not in values:
        values["max_num_batched_tokens"] = log.max_num_batched_tokens
    if log.num_gpu_blocks_override and "num_gpu_blocks_override" not in values:
        values["num_gpu_blocks_override"] = log.num_gpu_blocks_override
    if log.device == "CPU":
        values["device"] = "cpu"
        values["kv_cache_space_gib"] = log.kv_cache_gib
    return ServeConfig(**values)


def explain(
    text: str,
    model: str | None = None,
    gpu: str | None = None,
    vllm_version: str | None = None,
) -> Explanation:
    """Parse a start-up log and plan the same deployment to compare with."""
    log = parse_log(text)
    if not log.found:
        raise InputError(
            "no vLLM start-up found in the log (no 'Model loading took', 'KV cache size' or "
            "memory error line)",
            "pass the output of `vllm serve` from launch until the server is ready",
        )
    notes: list[str] = []
    spec = load_model(model) if model else (_model_from_log(log.model) if log.model else None)
    version_text = vllm_version or log.vllm_version
    hardware: GPU | None = None
    if gpu:
        hardware = get_gpu(gpu)
        if log.gpu_total_gib:
            hardware = hardware.with_memory_gib(log.gpu_total_gib)
    elif log.gpu_total_gib:
        hardware = custom_gpu(log.gpu_total_gib)
    config = log_config(log)
    missing = []
    if spec is None:
        missing.append("--model (the log names no catalogue model)")
    if hardware is None and config.device != "cpu":
        missing.append("--gpu (the log does not state the GPU memory)")
    if version_text is None:
        missing.append("--vllm-version (the log does not state it)")
    if missing:
        notes.append("to compare with servecap's plan, pass " + ", ".join(missing))
        return Explanation(log, None, tuple(notes))
    assert spec is not None and version_text is not None
    try:
        prediction = plan(spec, hardware, config, parse_version(version_text))
    except ServecapError as exc:
        notes.append(f"no plan for these settings: {exc}")
        return Explanation(log, None, tuple(notes))
    if log.engine == "V0":
        notes.append("this log is from vLLM's V0 engine; servecap plans the V1 engine")
    return Explanation(log, prediction, tuple(notes))
