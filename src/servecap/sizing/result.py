"""What `advise` answers: ranked deployments, the best one's load curve, and a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..hardware import GPU
from ..memory.plan import MemoryPlan
from ..sim.expected_error import expected_error


@dataclass
class AdviseOption:
    """One deployment: GPU, parallelism, replicas and vLLM settings, with simulated numbers."""

    gpu: GPU
    plan: MemoryPlan  # one replica's plan
    replicas: int
    meets_slos: bool
    max_users: int  # the most users the whole deployment serves within every SLO
    metrics: dict[str, Any]  # fleet metrics at the requested users (search.fleet_metrics)
    cost_per_hour: float | None
    commands: list[str]
    limit: str = ""  # what stops it at max_users + 1, in words
    miss_ratio: float = 0.0  # how far the worst SLO is off there (1: on the threshold)
    notes: list[str] = field(default_factory=list)

    @property
    def tensor_parallel_size(self) -> int:
        return self.plan.config.tensor_parallel_size

    @property
    def pipeline_parallel_size(self) -> int:
        return self.plan.config.pipeline_parallel_size

    @property
    def gpu_count(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size * self.replicas

    def to_dict(self) -> dict[str, Any]:
        m = self.metrics
        return {
            "gpu": self.gpu.slug,
            "gpu_name": self.gpu.name,
            "gpu_count": self.gpu_count,
            "tensor_parallel_size": self.tensor_parallel_size,
            "pipeline_parallel_size": self.pipeline_parallel_size,
            "replicas": self.replicas,
            "gpu_memory_utilization": self.plan.utilization,
            "max_model_len": self.plan.max_model_len,
            "kv_cache_dtype": self.plan.config.kv_cache_dtype,
            "meets_slos": self.meets_slos,
            "max_users": self.max_users,
            "ttft_p50_s": round(m["ttft_p50_s"], 4),
            "ttft_p95_s": round(m["ttft_p95_s"], 4),
            "tokens_per_s_p50": round(m["tokens_per_s_p50"], 3),
            "tokens_per_s_p5": round(m["tokens_per_s_p5"], 3),
            "throughput_tokens_per_s": round(m["throughput_tokens_per_s"], 2),
            "cost_per_hour": self.cost_per_hour,
            "commands": self.commands,
            "plan": self.plan.to_dict(),
            "limit": self.limit,
            "notes": self.notes,
            "expected_error": expected_error(self.plan).to_dict(),
        }


@dataclass
class Advice:
    """The answer to an AdviseRequest."""

    model: str
    users: int
    prompt_tokens: int
    output_tokens: int
    slos: list[str]
    verdict: str
    options: list[AdviseOption]  # best first; meeting the SLOs before missing them
    curve: list[dict[str, Any]]  # the best option from 1 user to about twice its capacity
    vllm_version: str = ""
    searched: int = 0  # deployments planned
    simulations: int = 0  # simulated runs
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> AdviseOption | None:
        return self.options[0] if self.options else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "advise",
            "model": self.model,
            "users": self.users,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "slos": self.slos,
            "verdict": self.verdict,
            "options": [o.to_dict() for o in self.options],
            "curve": self.curve,
            "vllm_version": self.vllm_version,
            "searched": self.searched,
            "simulations": self.simulations,
            "notes": self.notes,
        }
