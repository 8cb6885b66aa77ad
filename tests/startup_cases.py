"""Logged vLLM start-ups as checkable cases: turn a case's facts into a plan and compare."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servecap.errors import ServecapError
from servecap.hardware import GPU, custom_gpu, get_gpu
from servecap.memory.plan import MemoryPlan, plan
from servecap.models.resolve import catalogue_entry, load_model
from servecap.units import GiB
from servecap.vllm.serve_config import ServeConfig
from servecap.vllm.versions import parse_version

# Checkpoint names in logs -> catalogue ids whose config.json is the same.
_GPU_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"4090", "rtx-4090"),
    (r"4080", "rtx-4080"),
    (r"3090", "rtx-3090"),
    (r"5090", "rtx-5090"),
    (r"A100.*80", "a100-80gb"),
    (r"A100.*40", "a100-40gb"),
    (r"H100.*PCIe", "h100-pcie"),
    (r"H100", "h100-sxm"),
    (r"H200", "h200"),
    (r"H20\b", "h20"),
    (r"B200", "b200"),
    (r"L40S", "l40s"),
    (r"L40\b", "l40"),
    (r"\bL4\b", "l4"),
    (r"A10G", "a10g"),
    (r"\bA10\b", "a10"),
    (r"MI300X", "mi300x"),
)


@dataclass(frozen=True)
class CaseResult:
    """A case's logged numbers beside servecap's plan for the same settings."""

    case_id: str
    known: bool  # every input the plan needs was stated by the case
    missing: tuple[str, ...]
    plan: MemoryPlan | None
    logged_tokens: int | None
    logged_kv_gib: float | None
    error: str | None = None

    @property
    def predicted_tokens(self) -> int | None:
        return self.plan.kv_cache_tokens if self.plan else None

    @property
    def token_error(self) -> float | None:
        """Relative error of the predicted KV tokens (0.01 = 1%)."""
        if not self.plan or not self.logged_tokens:
            return None
        return (self.plan.kv_cache_tokens - self.logged_tokens) / self.logged_tokens


def load_cases(path: str | Path, facts: str | Path | None = None) -> list[dict[str, Any]]:
    """The cases of a vllm_startup_cases.json file, merged with extra facts per case id."""
    data = json.loads(Path(path).read_text())
    cases = list(data if isinstance(data, list) else data["cases"])
    extra = json.loads(Path(facts).read_text()) if facts else {}
    return [
        {**case, **{k: v for k, v in extra.get(case["id"], {}).items() if k != "source"}}
        for case in cases
    ]


def case_gpu(case: dict[str, Any]) -> GPU | None:
    """The catalogue GPU a case ran on, with its logged memory total when stated."""
    name = str(case.get("gpu") or "")
    gpu: GPU | None = None
    try:
        gpu = get_gpu(name)
    except ServecapError:
        for pattern, slug in _GPU_PATTERNS:
            if re.search(pattern, name, re.IGNORECASE):
                gpu = get_gpu(slug)
                break
    total = case.get("gpu_total_mem_gib")
    if total:
        return gpu.with_memory_gib(float(total)) if gpu else custom_gpu(float(total))
    return gpu


def case_config(case: dict[str, Any], kv_from_log: bool = False) -> ServeConfig:
    """The `vllm serve` settings a case states; with kv_from_log, its logged KV budget too."""
    kv_bytes = None
    if kv_from_log and case.get("available_kv_gib") is not None:
        kv_bytes = int(float(case["available_kv_gib"]) * GiB)
    return ServeConfig(
        gpu_memory_utilization=case.get("gpu_memory_utilization"),
        max_model_len=case.get("max_model_len"),
        tensor_parallel_size=int(case.get("tensor_parallel_size") or 1),
        pipeline_parallel_size=int(case.get("pipeline_parallel_size") or 1),
        enable_expert_parallel=bool(case.get("expert_parallel")),
        kv_cache_dtype=str(case.get("kv_cache_dtype") or "auto"),
        max_num_seqs=case.get("max_num_seqs"),
        max_num_batched_tokens=case.get("max_num_batched_tokens"),
        block_size=case.get("block_size"),
        enforce_eager=bool(case.get("enforce_eager")),
        kv_cache_memory_bytes=kv_bytes,
        flashinfer_sampler=case.get("flashinfer_sampler"),
    )


def check_case(
    case: dict[str, Any], kv_from_log: bool = False, assume_version: str | None = None
) -> CaseResult:
    """Plan a case from its stated inputs (or from its logged KV budget) and compare."""
    missing: list[str] = []
    if case.get("engine") == "V0":
        missing.append("V1 engine (this log is from the V0 engine)")
    version = case.get("vllm_version")
    if not version:
        missing.append("vllm_version")
    model_id = str(case.get("model") or "")
    if catalogue_entry(model_id) is None:
        missing.append(f"model {model_id} in the catalogue")
    gpu = case_gpu(case)
    if gpu is None:
        missing.append("GPU")
    for key in ("gpu_memory_utilization", "max_model_len"):
        if case.get(key) is None:
            missing.append(key)
    logged_kv = case.get("available_kv_gib")
    result_args: dict[str, Any] = {
        "case_id": case["id"],
        "known": not missing,
        "missing": tuple(missing),
        "logged_tokens": case.get("kv_cache_tokens"),
        "logged_kv_gib": float(logged_kv) if logged_kv is not None else None,
    }
    if catalogue_entry(model_id) is None or gpu is None or "V1 engine" in " ".join(missing):
        return CaseResult(plan=None, **result_args)
    try:
        result = plan(
            load_model(model_id),
            gpu,
            case_config(case, kv_from_log),
            parse_version(version or assume_version or "0.11.0"),
        )
    except ServecapError as exc:
        return CaseResult(plan=None, error=str(exc), **result_args)
    return CaseResult(plan=result, **result_args)
