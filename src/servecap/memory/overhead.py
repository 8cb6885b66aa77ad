"""The non-KV terms of vLLM's budget besides weights: activation peak, non-torch, CUDA graphs.

The activation peak follows vLLM's profile run allocation by allocation
(`vllm/v1/worker/gpu_model_runner.py`: profile_run, _dummy_run, _dummy_sampler_run;
`vllm/v1/sample/ops/topk_topp_sampler.py`); the derivation, per version, is in
docs/memory-model.md. Non-torch growth and the CUDA-graph pool have no closed form in vLLM's
source; their constants come from public logs and are marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..hardware import GPU
from ..models.spec import LayerKind, ModelSpec
from ..units import GiB, MiB, round_up
from ..vllm.versions import VllmVersion
from .weights import allocated_bytes


@dataclass(frozen=True)
class BatchLimits:
    max_num_seqs: int
    max_num_batched_tokens: int

    @property
    def sampler_rows(self) -> int:
        """Dummy requests in the sampler warm-up: min(max_num_seqs, max_num_batched_tokens)."""
        return min(self.max_num_seqs, self.max_num_batched_tokens)


def _big_gpu(gpu: GPU, version: VllmVersion) -> bool:
    """The "H100-class" test behind vLLM's larger defaults (vllm/engine/arg_utils.py)."""
    name = gpu.name.lower()
    if not version.at_least("0.8.5"):
        return "h100" in name or "h200" in name
    if not version.at_least("0.9.0"):
        return gpu.memory_gib >= 70  # 0.8.5 did not exclude the A100 yet
    return gpu.memory_gib >= 70 and "a100" not in name and "gb10" not in name


def default_batch_limits(
    version: VllmVersion, gpu: GPU | None, device: str, world_size: int = 1
) -> BatchLimits:
    """max_num_seqs and max_num_batched_tokens that `vllm serve` picks when not given.

    vllm/engine/arg_utils.py: get_batch_defaults (OPENAI_API_SERVER usage context).
    """
    if device == "cpu" or gpu is None:
        return BatchLimits(max_num_seqs=128 * world_size, max_num_batched_tokens=2048 * world_size)
    big = _big_gpu(gpu, version)
    huge = version.at_least("0.28.0") and gpu.memory_gib >= 160
    seqs = 1024 if (big or huge or not version.at_least("0.8.4")) else 256
    tokens = 16384 if huge else (8192 if big else 2048)
    if version.at_least("0.11.0"):
        seqs = min(seqs, tokens)
    return BatchLimits(max_num_seqs=seqs, max_num_batched_tokens=tokens)


# Model Runner V2 defaults (vllm/v1/worker/gpu/__init__.py and config/vllm.py, per release).
_MRV2_0_22 = {"Qwen3ForCausalLM"}
_MRV2_0_24 = {
    "Qwen3ForCausalLM",
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "DeepseekV2ForCausalLM",
    "Qwen2MoeForCausalLM",
    "GraniteMoeForCausalLM",
}


def model_runner(spec: ModelSpec, version: VllmVersion) -> str:
    """ "v2" when the release runs this model on Model Runner V2 by default, else "v1"."""
    if not version.at_least("0.22.0"):
        return "v1"
    if version.at_least("0.29.0"):
        return "v2"
    if version.at_least("0.25.0"):
        hybrid = any(la.kind is LayerKind.LINEAR for la in spec.layers)
        return (
            "v1"
            if (spec.moe is not None and spec.architecture not in _MRV2_0_24) or hybrid
            else "v2"
        )
    allowed = _MRV2_0_24 if version.at_least("0.24.0") else _MRV2_0_22
    dense_unquantized = spec.quantization is None
    if spec.architecture in allowed and (version.at_least("0.24.0") or dense_unquantized):
        return "v2"
    return "v1"


def flashinfer_sampler_default(version: VllmVersion) -> bool:
    """Whether the top-k/top-p sampler uses FlashInfer when nothing is set.

    0.9-0.11.0 used it only if the optional flashinfer package was installed (pip installs
    lack it; the Docker image has it); 0.11.1-0.21 made it opt-in; 0.22 turned it on.
    """
    return version.at_least("0.22.0")


def sampler_bytes_per_logit(
    version: VllmVersion, runner: str, rows: int, flashinfer: bool
) -> float:
    """Bytes per [rows, vocab] logit element live at the sampler warm-up's peak.

    38: PyTorch sort path (bf16 logits 2 + fp32 copy 4 + sorted values 4 + int64 indices 8
        + reverse indices 8 + CUB alternate buffers 12); 50.6 when 2 <= rows < 128, where
        torch sorts through a full sort. 14: FlashInfer or the Triton top-k/top-p kernel
        (logits 2 + fp32 4 + mask or probs 4 + probs 4). 10: FlashInfer < 0.2.3 on 0.8.x.
    """
    sort = 50.6 if 2 <= rows < 128 else 38.0
    if runner == "v2":
        if version.at_least("0.33.0"):
            return 14.0
        if not version.at_least("0.25.0"):
            # Model Runner V2's dummy sampler in 0.22-0.24 (vllm/v1/worker/gpu/sample/
            # sampler.py): the bf16 logits (2 B) and apply_sampling_params' fp32 copy (4 B);
            # top-k/top-p are skipped and the Gumbel kernel keeps one value per 1,024-wide
            # block. Measured: 0.95 GiB at 1,024 x 151,936 (H200, 0.24.0, benchmarks/gpu).
            return 6.0
        # 0.25-0.32: the one public log (0.26.0, RTX 4080, Qwen2.5-7B-AWQ) shows 1.04 GiB at
        # 256 x 152,064, i.e. 28 B: calibrated from that log until measured.
        return 28.0
    if not version.at_least("0.9.0"):
        return 10.0 if flashinfer else sort
    if not version.at_least("0.11.1"):
        return 14.0 if flashinfer else sort
    if not version.at_least("0.17.0"):
        return 14.0 if flashinfer else sort
    if rows < 8:
        return sort  # the Triton kernel needs 8 rows
    return 14.0


def _triton_buffer_bytes(gpu: GPU | None, rows: int, vocab: int) -> int:
    """The Triton top-k/top-p kernel's cached per-program buffer (topk_topp_triton.py)."""
    sms = gpu.sm_count if gpu and gpu.sm_count else 108
    programs = min(sms, rows)
    programs = min(1 << (programs - 1).bit_length(), sms)
    return programs * vocab * 4


def _cublas_workspace_bytes(version: VllmVersion, gpu: GPU | None) -> int:
    """torch's cuBLAS workspace, allocated by the first matmul of the profile run."""
    if version.at_least("0.33.0"):
        return 0  # created before the start-up snapshot
    if gpu is not None and (gpu.is_hopper or (gpu.is_blackwell and version.at_least("0.22.0"))):
        return 32 * MiB
    return int(8.125 * MiB)


def _moe_workspace_bytes(spec: ModelSpec, tokens: int, tp: int, ep: bool, elem: float) -> float:
    """Fused-MoE intermediate caches for a `tokens`-token batch (modular_kernel workspaces)."""
    moe = spec.moe
    if moe is None:
        return 0.0
    n = 2 * moe.expert_intermediate_size / (1 if ep else tp)
    k = spec.hidden_size
    return tokens * moe.experts_per_token * (max(n / 2, k) + max(n, k)) * elem


def forward_peak_bytes(spec: ModelSpec, tokens: int, tp: int, elem: float) -> float:
    """Largest transient of one forward over `tokens` tokens: the residual, the MLP input,
    gate_up and the activation output (plus ~15% of norm and compile temporaries)."""
    inter = spec.intermediate_size
    if spec.moe is not None and spec.moe.shared_intermediate_size:
        inter = max(inter, spec.moe.shared_intermediate_size)
    return 1.15 * tokens * (2 * spec.hidden_size + 3 * inter / tp) * elem


@dataclass(frozen=True)
class ActivationPeak:
    """The activation peak and its parts, for one rank."""

    total: int
    sampler: int
    forward: int
    persistent: int
    runner: str
    sampler_bytes_per_logit: float


def activation_peak(
    spec: ModelSpec,
    version: VllmVersion,
    limits: BatchLimits,
    gpu: GPU | None,
    tp: int,
    ep: bool,
    last_stage: bool,
    elem: float,
    flashinfer: bool | None = None,
) -> ActivationPeak:
    """Torch memory the profile run adds above the weights (the log's "peak activation")."""
    runner = model_runner(spec, version)
    flashinfer = flashinfer_sampler_default(version) if flashinfer is None else flashinfer
    rows, tokens = limits.sampler_rows, limits.max_num_batched_tokens
    vocab, hidden = spec.vocab_size, spec.hidden_size
    k = sampler_bytes_per_logit(version, runner, rows, flashinfer)
    sampler = 0.0
    if last_stage:
        padded = round_up(vocab, 64)
        if runner == "v2" and not version.at_least("0.25.0"):
            # the bf16 logits and their fp32 copy, each in its caching-allocator block:
            # measured to the byte on the H200 (benchmarks/gpu/h200/bytes-0.9.vllm.log)
            logits = allocated_bytes(rows * vocab * 2) + allocated_bytes(rows * vocab * 4)
        else:
            logits = int(k * rows * vocab)
        sampler = logits + (padded - vocab) * rows * elem
        if not version.at_least("0.9.0"):
            sampler += rows * hidden * elem
        elif not version.at_least("0.9.2"):
            sampler += 2 * rows * hidden * elem
        else:
            sampler += tokens * hidden * elem + (1 if runner == "v2" else 2) * rows * hidden * elem
        if runner == "v2" and not version.at_least("0.25.0"):
            # gumbel_sample's per-block argmax (int64) and max (fp32), 1,024 logits a block
            sampler += rows * -(-vocab // 1024) * 12
    forward = forward_peak_bytes(spec, tokens, tp, elem)
    persistent = float(_cublas_workspace_bytes(version, gpu))
    moe = _moe_workspace_bytes(spec, tokens, tp, ep, elem)
    if version.at_least("0.13.0"):
        persistent += moe  # grow-only WorkspaceManager buffers stay allocated
    else:
        forward += moe
    uses_triton = last_stage and runner == "v1" and version.at_least("0.17.0") and rows >= 8
    if uses_triton:
        persistent += _triton_buffer_bytes(gpu, rows, vocab)
    total = persistent + max(sampler, forward)
    return ActivationPeak(int(total), int(sampler), int(forward), int(persistent), runner, k)


def non_torch_bytes(version: VllmVersion, tp: int, gpu: GPU | None) -> int:
    """Non-torch memory the profile run adds (kernel modules, cuBLAS handles, NCCL buffers).

    Public logs: 0.13-0.14 GiB at TP 1 and 0.54-0.55 at TP 2 (H100, 0.11, llm-d); 0.06 at
    TP 1 (RTX 4080, 0.26); 230 MiB to the byte at TP 1 on Hopper with 0.22+ (H200, 0.24,
    benchmarks/gpu/h200/bytes-0.9.vllm.log). Before 0.11 the start-up snapshot preceded NCCL
    set-up, yet the logs show less: 0.02 at TP 1 and 0.14 at TP 2 (A100, 0.10.1.1), 0.07 at
    TP 1 (B200, 0.10.2), 0.21 at TP 8 (L40S, 0.10.2).
    """
    if version.era == "B":
        return int((0.04 + (0.14 if tp > 1 else 0.0)) * GiB)
    if version.at_least("0.22.0") and gpu is not None and gpu.is_hopper:
        return 230 * MiB + (int(0.42 * GiB) if tp > 1 else 0)
    return int((0.10 + (0.42 if tp > 1 else 0.0)) * GiB)


def cuda_context_bytes(gpu: GPU) -> int:
    """CUDA context and driver memory present before vLLM allocates: outside the budget from
    0.9.1, but charged as non-torch memory before (era A). 0.61 GiB on H100s (free 78.57 of
    79.18 GiB at start-up in llm-d's logs); about 0.4 on 24 GB cards (the seed's budget)."""
    return int(0.40 * GiB) if gpu.memory_gib < 60 else int(0.61 * GiB)


def cudagraph_bytes(
    spec: ModelSpec, version: VllmVersion, limits: BatchLimits, tp: int, elem: float
) -> int:
    """The CUDA-graph pool vLLM estimates (0.18+) or captures after the KV cache.

    profile_cudagraph_memory captures the largest size per mode and extrapolates the rest:
    about one forward at the largest capture size plus per-graph driver memory that grows
    with the layer count (~0.15 MiB per layer per graph, fitted to public 0.36-0.73 GiB logs).
    """
    largest = min(2 * limits.max_num_seqs, 512, limits.max_num_batched_tokens)
    sizes = _capture_sizes(largest)
    graphs = 2 * len(sizes)  # FULL_AND_PIECEWISE: a piecewise and a full graph per size
    # Model Runner V2's graphs in 0.22-0.24 cost more: 1.00 GiB for 2 x 51 graphs of
    # Qwen3-4B's 36 layers (H200, 0.24.0, benchmarks/gpu), ~0.27 MiB per layer per graph.
    # Later V2 releases are unmeasured and keep the public-log fit.
    v2_measured = model_runner(spec, version) == "v2" and not version.at_least("0.25.0")
    per_layer = 0.27 * MiB if v2_measured else 0.15 * MiB
    per_graph = max(1 * MiB, per_layer * spec.num_layers)
    return int(forward_peak_bytes(spec, largest, tp, elem) + graphs * per_graph)


def _capture_sizes(largest: int) -> list[int]:
    """CUDA-graph capture sizes: 1, 2, 4, then steps of 8 to 248 and of 16 above (0.11.1+)."""
    sizes = [1, 2, 4, *list(range(8, 256, 8)), *list(range(256, 1025, 16))]
    return [s for s in sizes if s <= largest]
