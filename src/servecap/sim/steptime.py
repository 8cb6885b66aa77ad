"""How long one engine step takes: what it reads and computes against the hardware's peaks.

    t = overhead_s                                   host: scheduling, launches
      + max(weights / (bandwidth x bw_eff),           the linear layers: weights read once,
            linear FLOPs / (peak x flops_eff))        or their GEMMs where tokens are many
      + max(KV bytes / (bandwidth x attention_eff),   attention: the KV the batch reads,
            attention FLOPs / (peak x flops_eff))     or its FLOPs for long prefills
      + sequences sampled x vocab x sampler_s_per_logit     logits and sampling per sequence
      + MoE layers x moe_layer_s                      routing and the fused-MoE launches
      + TP all-reduces

Bytes read are the rank's (for MoE, the experts the batch's tokens route to: a batch of T
tokens touches E(1 - (1 - k/E)^T) of E experts each layer). A profile without an attention
efficiency keeps one roofline over weights and KV together, as CPU calibrations were fitted.
Before a request reaches the scheduler it spends request_latency_s in flight (HTTP, in
parallel with others) and queues for the API server's one thread, which spends api_request_s
plus tokenize_s_per_token per prompt token on it, one request after another: so a burst of
arrivals reaches the engine spread out. Each streamed chunk then costs the API server
api_chunk_s (`delivery.py`).

A GPU measured with real vLLM (benchmarks/gpu/) has its fitted profile shipped in
servecap/data/profiles/. Any other GPU gets the measured efficiencies and host costs applied to
its datasheet bandwidth and FLOPs; a profile fitted by `servecap calibrate` replaces either.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from functools import cache
from importlib import resources
from pathlib import Path

from ..hardware import GPU, get_gpu
from ..memory.plan import MemoryPlan
from ..models.spec import ModelSpec

# What a hand-written profile that leaves an efficiency out gets
DEFAULT_BW_EFFICIENCY = 0.85
DEFAULT_FLOPS_EFFICIENCY = 0.55
CPU_BANDWIDTH = 20e9  # a desktop CPU's memory bandwidth, B/s, before calibration
CPU_FLOPS = 200e9
# Measured terms that are the GPU's own time per byte moved, so they scale with bandwidth on a
# GPU nobody measured; the others are efficiencies (ratios to the datasheet) or host costs.
GPU_TIME_TERMS = ("sampler_s_per_logit", "moe_layer_s")
# The host's cost of a step (scheduling, launches) belongs to the machine, not the GPU: 1.06 ms
# on the measured H100's host, ~2.0 ms behind the H200 run's Qwen3-4B steps (benchmarks/gpu/h200)
# and ~3.3 ms behind the seed's RTX 4090 (80 tokens/s of Qwen3-4B). A GPU nobody measured gets
# the middle of those hosts.
UNMEASURED_HOST_OVERHEAD_S = 0.002


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
    moe_layer_s: float = 0.0  # per MoE layer and step: router, top-k, fused-MoE launches
    api_request_s: float = 0.0  # the API server's serial work per request, tokenizing aside

    def request_latency(self, prompt_tokens: int) -> float:
        """Seconds from sending a request to the scheduler seeing it, with no queue."""
        return self.request_latency_s + self.intake_s(prompt_tokens)

    def intake_s(self, prompt_tokens: int) -> float:
        """The API server's serial work on one request before the engine sees it."""
        return self.api_request_s + self.tokenize_s_per_token * prompt_tokens

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
    moe_layers: int = 0

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
        moe = self.moe_layers * p.moe_layer_s
        return p.overhead_s + core + sampler + moe + comm + p.per_token_s * tokens

    def experts_touched(self, tokens: int) -> float:
        """Experts a batch of `tokens` routes to in a layer, expected under uniform routing."""
        e, k = self.num_experts, self.experts_per_token
        return e * (1.0 - (1.0 - k / e) ** tokens)


CPU_PROFILE = Profile(
    overhead_s=0.01,
    bandwidth_efficiency=0.5,
    flops_efficiency=0.2,
    api_chunk_s=0.0002,
    source="cpu defaults (calibrate for real numbers)",
)


# Before any GPU is measured: ~3 ms of host time a step and the fallback efficiencies
PRIOR = Profile(overhead_s=0.003, source="prior (no measured GPU)")


def default_profile(gpu: GPU | None) -> Profile:
    """The profile `simulate` uses without `--profile`: the GPU's measured one if shipped, else
    the measured GPUs' terms applied to this GPU's datasheet; a CPU's rough defaults."""
    if gpu is None:
        return CPU_PROFILE
    return shipped_profile(gpu.slug) or datasheet_profile(gpu)


def shipped_profile(slug: str) -> Profile | None:
    """The profile measured on this GPU and shipped with servecap, if there is one."""
    return next((profile for name, profile in _shipped() if name == slug), None)


@cache
def _shipped() -> tuple[tuple[str, Profile], ...]:
    folder = resources.files("servecap") / "data" / "profiles"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            with resources.as_file(entry) as path:
                found.append((entry.name.removesuffix(".json"), Profile.load(path)))
    return tuple(found)


@cache
def datasheet_profile(gpu: GPU) -> Profile:
    """The shipped profiles' terms on another GPU: each term's geometric mean over the measured
    GPUs, the GPU-time terms scaled by the ratio of datasheet bandwidths."""
    measured = [(get_gpu(slug), profile) for slug, profile in _shipped()]
    if not measured:
        return PRIOR
    values: dict[str, float] = {}
    for f in fields(Profile):
        if f.name in ("source", "overhead_s"):
            continue
        terms = [(g, getattr(p, f.name)) for g, p in measured if getattr(p, f.name) is not None]
        if not terms or any(v <= 0 for _, v in terms):
            continue
        if f.name in GPU_TIME_TERMS:
            scaled = [v * g.memory_bandwidth_gbps / gpu.memory_bandwidth_gbps for g, v in terms]
        else:
            scaled = [v for _, v in terms]
        values[f.name] = math.exp(sum(math.log(v) for v in scaled) / len(scaled))
    names = ", ".join(g.name for g, _ in measured)
    return replace(
        Profile(overhead_s=UNMEASURED_HOST_OVERHEAD_S),
        **values,
        source=f"datasheet defaults (terms measured on {names})",
    )


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
        profile=profile or default_profile(gpu),
        vocab_size=spec.vocab_size,
        moe_layers=len(spec.moe.moe_layers) if spec.moe is not None else 0,
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
