"""How long one engine step takes: a roofline over weight and KV bytes and FLOPs, plus overhead.

    t = overhead + max(bytes read / effective bandwidth, FLOPs / effective compute) + TP comm

Bytes read per step are the rank's weights (for MoE, only the experts the batch routes to)
plus the KV cache the batch attends over; FLOPs are 2 per active parameter per token plus
attention. The defaults come from the GPU catalogue with efficiency factors; a calibration
profile (fitted to measured runs) replaces overhead and efficiencies.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..hardware import GPU
from ..memory.plan import MemoryPlan
from ..models.spec import ModelSpec

# Defaults: decode reaches ~85% of datasheet bandwidth, prefill ~55% of dense peak; a step
# costs ~2 ms of scheduling and launch, more per layer for MoE kernels. These reproduce the
# seed's ~80 tok/s for Qwen3-4B on an RTX 4090 and public single-stream A100/RTX 4080 numbers.
DEFAULT_BW_EFFICIENCY = 0.85
DEFAULT_FLOPS_EFFICIENCY = 0.55
BASE_OVERHEAD_S = 0.002
PER_LAYER_OVERHEAD_S = {"dense": 0.00003, "moe": 0.00009}
CPU_BANDWIDTH = 20e9  # a desktop CPU's memory bandwidth, B/s, before calibration
CPU_FLOPS = 200e9


@dataclass(frozen=True)
class Profile:
    """The calibrated constants of the step-time model (saved by `servecap calibrate`)."""

    overhead_s: float
    bandwidth_efficiency: float = DEFAULT_BW_EFFICIENCY
    flops_efficiency: float = DEFAULT_FLOPS_EFFICIENCY
    per_token_s: float = 0.0  # CPU-style per-token cost beyond the roofline
    api_chunk_s: float = 0.00002  # the API server's serial work per streamed chunk
    # from sending a request to the scheduler seeing it: HTTP, tokenizing. The H200 run
    # (benchmarks/gpu) measured 15-22 ms TTFT for 100-token prompts whose prefill takes ~5 ms.
    request_latency_s: float = 0.010
    source: str = "defaults"

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"servecap_profile": 1, **asdict(self)}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Profile:
        """A profile file written by `servecap calibrate` (or by hand), validated."""
        from .profile_file import read_profile

        return cls(**read_profile(path))


@dataclass(frozen=True)
class StepTimeModel:
    """Per-rank costs of one engine step."""

    dense_bytes: float  # weights read every step (all but routed experts)
    expert_bytes: float  # all routed-expert weights on the rank
    num_experts: int
    experts_per_token: int
    kv_bytes_per_token: float  # per rank, all layers
    flops_per_token: float  # 2 x active parameters
    attention_flops_per_pair: float  # per (query token, context token)
    bandwidth: float  # B/s, datasheet
    flops: float  # FLOP/s, datasheet dense
    tp: int
    comm_bytes_per_token: float  # all-reduce payload per token per step
    profile: Profile

    def step_s(
        self,
        prefill_tokens: int,
        decode_seqs: int,
        context_tokens: int,
        attention_pairs: float = 0.0,
    ) -> float:
        """Seconds for one step with this batch.

        `context_tokens` is the KV the batch reads; `attention_pairs` the (query, key) token
        pairs its attention computes.
        """
        tokens = prefill_tokens + decode_seqs
        if tokens == 0:
            return 0.0
        p = self.profile
        read = self.dense_bytes + self.kv_bytes_per_token * context_tokens
        if self.num_experts:
            touched = min(self.num_experts, tokens * self.experts_per_token)
            read += self.expert_bytes * touched / self.num_experts
        memory = read / (self.bandwidth * p.bandwidth_efficiency)
        attention = self.attention_flops_per_pair * attention_pairs
        compute = (self.flops_per_token * tokens + attention) / (self.flops * p.flops_efficiency)
        comm = 0.0
        if self.tp > 1:
            # two all-reduces per layer over NVLink-class links: payload plus latency
            comm = self.comm_bytes_per_token * tokens / 100e9 + 0.00002 * self.tp
        return p.overhead_s + max(memory, compute) + comm + p.per_token_s * tokens


def default_profile(model: ModelSpec, device: str) -> Profile:
    kind = "moe" if model.moe is not None else "dense"
    overhead = BASE_OVERHEAD_S + PER_LAYER_OVERHEAD_S[kind] * model.num_layers
    if device == "cpu":
        return Profile(
            overhead_s=0.01,
            bandwidth_efficiency=0.5,
            flops_efficiency=0.2,
            api_chunk_s=0.0002,
            source="cpu defaults (calibrate for real numbers)",
        )
    return Profile(overhead_s=overhead, source="defaults")


def build_model(result: MemoryPlan, profile: Profile | None = None) -> StepTimeModel:
    """The step-time model for a planned deployment (model, GPU, TP, dtype)."""
    spec = result.model
    stage = result.stage
    gpu: GPU | None = result.gpu
    kv_per_token = sum(s.bytes_per_token for s in stage.layout.layer_specs)
    expert_bytes = 0.0
    experts = topk = 0
    if spec.moe is not None:
        moe = spec.moe
        experts, topk = moe.num_experts, moe.experts_per_token
        per_expert = 3 * spec.hidden_size * moe.expert_intermediate_size
        bytes_per_param = stage.weights_bytes / max(1.0, _param_count(spec))
        expert_bytes = (
            len(moe.moe_layers)
            * experts
            * per_expert
            * bytes_per_param
            / result.config.tensor_parallel_size
        )
    dense = max(0.0, stage.weights_bytes - expert_bytes)
    active = _active_params(spec)
    heads_dim = spec.num_attention_heads * spec.head_dim
    attention = 4.0 * spec.num_layers * heads_dim / result.config.tensor_parallel_size
    bandwidth = gpu.memory_bandwidth_gbps * 1e9 if gpu else CPU_BANDWIDTH
    flops = gpu.bf16_tflops * 1e12 if gpu else CPU_FLOPS
    tp = result.config.tensor_parallel_size
    return StepTimeModel(
        dense_bytes=dense,
        expert_bytes=expert_bytes,
        num_experts=experts,
        experts_per_token=topk,
        kv_bytes_per_token=kv_per_token,
        flops_per_token=2.0 * active / tp,
        attention_flops_per_pair=attention,
        bandwidth=bandwidth,
        flops=flops,
        tp=tp,
        comm_bytes_per_token=2.0 * spec.num_layers * spec.hidden_size * 2,
        profile=profile or default_profile(spec, result.device),
    )


def _param_count(spec: ModelSpec) -> float:
    from ..memory.weights import Parallel, stage_params

    params, embed = stage_params(spec, Parallel(), 0)
    return params.quantizable + params.plain + embed


def _active_params(spec: ModelSpec) -> float:
    """Parameters one token passes through (routed experts: only the top-k)."""
    total = _param_count(spec)
    if spec.moe is None:
        return total
    moe = spec.moe
    per_expert = 3 * spec.hidden_size * moe.expert_intermediate_size
    idle = len(moe.moe_layers) * (moe.num_experts - moe.experts_per_token) * per_expert
    return total - idle
