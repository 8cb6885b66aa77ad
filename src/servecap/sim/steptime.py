"""How long one engine step takes: what it reads and computes against the hardware's peaks.

    t = overhead_s                                   host: scheduling, launches
      + max(weights / (bandwidth x bw_eff),           the linear layers: weights read once,
            linear FLOPs / (peak x flops_eff))        or their GEMMs where tokens are many
      + max(KV bytes / (bandwidth x attention_eff),   attention: the KV the batch reads,
            attention FLOPs / (peak x flops_eff))     or its FLOPs for long prefills
      + sequences sampled x vocab x sampler_s_per_logit     logits and sampling per sequence
      + TP all-reduces

Bytes read are the rank's (for MoE, the experts the batch's tokens route to: a batch of T
tokens touches E(1 - (1 - k/E)^T) of E experts each layer). A profile without an attention
efficiency keeps one roofline over weights and KV together, as CPU calibrations were fitted.
Before a request reaches the scheduler the API server spends request_latency_s plus
tokenize_s_per_token per prompt token; each streamed chunk then costs it api_chunk_s
(`delivery.py`). The defaults come from the GPU catalogue with efficiency factors; a profile
(shipped for a measured GPU, or fitted by `servecap calibrate`) replaces them.
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
    attention_efficiency: float | None = None  # None: KV in one roofline with the weights
    sampler_s_per_logit: float = 0.0  # per sampled sequence, per vocabulary entry
    tokenize_s_per_token: float = 0.0  # the API server's work per prompt token

    def request_latency(self, prompt_tokens: int) -> float:
        """Seconds from sending a request to the scheduler seeing it."""
        return self.request_latency_s + self.tokenize_s_per_token * prompt_tokens

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
    vocab_size: int = 0

    def step_s(
        self,
        prefill_tokens: int,
        decode_seqs: int,
        context_tokens: int,
        attention_pairs: float = 0.0,
        sampled: int | None = None,
    ) -> float:
        """Seconds for one step with this batch.

        `context_tokens` is the KV the batch reads; `attention_pairs` the (query, key) token
        pairs its attention computes; `sampled` the sequences that get a token (by default the
        decodes, and one prefill).
        """
        tokens = prefill_tokens + decode_seqs
        if tokens == 0:
            return 0.0
        p = self.profile
        weights = self.dense_bytes
        if self.num_experts:
            weights += self.expert_bytes * self.experts_touched(tokens) / self.num_experts
        kv = self.kv_bytes_per_token * context_tokens
        linear_flops = self.flops_per_token * tokens
        attention_flops = self.attention_flops_per_pair * attention_pairs
        peak = self.flops * p.flops_efficiency
        if p.attention_efficiency is None:
            memory = (weights + kv) / (self.bandwidth * p.bandwidth_efficiency)
            core = max(memory, (linear_flops + attention_flops) / peak)
        else:
            linear = max(weights / (self.bandwidth * p.bandwidth_efficiency), linear_flops / peak)
            reads = kv / (self.bandwidth * p.attention_efficiency)
            core = linear + max(reads, attention_flops / peak)
        if sampled is None:
            sampled = decode_seqs + (1 if prefill_tokens else 0)
        sampler = sampled * self.vocab_size * p.sampler_s_per_logit
        comm = 0.0
        if self.tp > 1:
            # two all-reduces per layer over NVLink-class links: payload plus latency
            comm = self.comm_bytes_per_token * tokens / 100e9 + 0.00002 * self.tp
        return p.overhead_s + core + sampler + comm + p.per_token_s * tokens

    def experts_touched(self, tokens: int) -> float:
        """Experts a batch of `tokens` routes to in a layer, expected under uniform routing."""
        e, k = self.num_experts, self.experts_per_token
        return e * (1.0 - (1.0 - k / e) ** tokens)


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
        vocab_size=spec.vocab_size,
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
