"""Weight bytes per GPU rank: what vLLM prints as "Model loading took X GiB".

vLLM measures the torch memory a rank keeps after `load_model` (`vllm/utils/mem_utils.py`,
`DeviceMemoryProfiler`: `torch.cuda.max_memory_allocated` after `reset_peak_memory_stats`): the
parameters it holds after TP/PP sharding, plus persistent buffers (the shared RoPE cos/sin cache
is the only sizeable one), each as the block PyTorch's caching allocator gave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..models.spec import LayerKind, ModelSpec, Quantization
from ..units import MiB, dtype_bytes, round_up

# vllm/model_executor/layers/vocab_parallel_embedding.py: DEFAULT_VOCAB_PADDING_SIZE
VOCAB_PADDING = 64

# c10/cuda/CUDACachingAllocator.cpp: kMinBlockSize, kSmallSize, kMinLargeAlloc, kRoundLarge
_MIN_BLOCK = 512
_SMALL_SIZE = MiB
_MIN_LARGE_ALLOC = 10 * MiB
_ROUND_LARGE = 2 * MiB

# vllm/model_executor/layers/attention/attention.py: set_default_quant_scales registers
# _k_scale, _v_scale, _q_scale and _prob_scale, one fp32 scalar (one 512-byte block) each.
_ATTENTION_SCALE_BYTES = 4 * _MIN_BLOCK


@dataclass(frozen=True)
class Parallel:
    """How the model is split over GPUs."""

    tp: int = 1
    pp: int = 1
    ep: bool = False  # --enable-expert-parallel: experts split over TP ranks, not sharded


@dataclass(frozen=True)
class LinearParams:
    """Parameter counts of one rank's share, split by how quantization treats them."""

    quantizable: float = 0.0  # linear weights a weight-quantization method converts
    plain: float = 0.0  # embeddings, norms, routers, biases: stay in the model dtype

    def __add__(self, other: LinearParams) -> LinearParams:
        return LinearParams(self.quantizable + other.quantizable, self.plain + other.plain)


def pp_layer_ranges(num_layers: int, pp: int) -> list[range]:
    """Decoder layers of each pipeline stage (vllm/distributed/utils.py: get_pp_indices)."""
    per_stage = [num_layers // pp] * pp
    # The remainder goes to the stages before the last one, from the back.
    for i in range(2, num_layers % pp + 2):
        per_stage[-i] += 1
    ranges, start = [], 0
    for count in per_stage:
        ranges.append(range(start, start + count))
        start += count
    return ranges


def _kv_heads_per_rank(total: int, tp: int) -> int:
    # vllm/config/model.py: get_num_kv_heads; replicated when there are fewer heads than ranks
    return max(1, total // tp)


def _attention_params(spec: ModelSpec, kind: LayerKind, tp: int) -> LinearParams:
    h = spec.hidden_size
    if spec.mla is not None:
        m = spec.mla
        heads = spec.num_attention_heads / tp
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            # q_a_proj and kv_a_proj_with_mqa are replicated on every rank.
            q = h * m.q_lora_rank + m.q_lora_rank * heads * qk
            norms = m.q_lora_rank + m.kv_lora_rank
        else:
            q = h * heads * qk
            norms = m.kv_lora_rank
        kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank * heads * (
            m.qk_nope_head_dim + m.v_head_dim
        )
        o = heads * m.v_head_dim * h
        return LinearParams(quantizable=q + kv + o, plain=norms)
    if kind is LayerKind.LINEAR:
        return LinearParams(quantizable=_linear_attention_params(spec) / tp)
    hd = spec.head_dim
    q_out = spec.num_attention_heads * hd / tp
    kv_out = 2 * _kv_heads_per_rank(spec.num_kv_heads, tp) * hd
    weights = h * (q_out + kv_out) + q_out * h
    plain = 0.0
    if spec.attention_bias:
        plain += q_out + kv_out
    if spec.qk_norm:
        plain += 2 * hd
    if spec.model_type == "gpt_oss":
        plain += h + spec.num_attention_heads / tp  # o_proj bias and attention sinks
    return LinearParams(quantizable=weights, plain=plain)


def _linear_attention_params(spec: ModelSpec) -> float:
    """Gated delta net projections (vllm/model_executor/models/qwen3_next.py), whole layer."""
    assert spec.linear is not None
    la = spec.linear
    h = spec.hidden_size
    in_proj = h * (2 * la.key_dim + 2 * la.value_dim) + h * 2 * la.num_value_heads
    conv = la.conv_dim * la.conv_kernel
    out_proj = la.value_dim * h
    return float(in_proj + conv + out_proj + 2 * la.num_value_heads)


def _mlp_params(spec: ModelSpec, layer: int, par: Parallel) -> LinearParams:
    h = spec.hidden_size
    moe = spec.moe
    if moe is None or layer not in moe.moe_layers:
        matrices = 3 if spec.gated_mlp else 2
        return LinearParams(quantizable=matrices * h * spec.intermediate_size / par.tp)
    experts = 3 * h * moe.expert_intermediate_size * moe.num_experts / par.tp
    plain = float(h * moe.num_experts)  # router, replicated and never quantized
    if moe.expert_bias:
        plain += moe.num_experts * (2 * moe.expert_intermediate_size + h) / par.tp + moe.num_experts
    shared = 3 * h * moe.shared_intermediate_size / par.tp
    if spec.model_type == "qwen2_moe" and moe.shared_intermediate_size:
        plain += h  # shared_expert_gate
    return LinearParams(quantizable=experts + shared, plain=plain)


def stage_params(spec: ModelSpec, par: Parallel, stage: int) -> tuple[LinearParams, float]:
    """Parameters held by one rank of a pipeline stage; also the vocab-embedding params."""
    ranges = pp_layer_ranges(spec.num_layers, par.pp)
    layers = ranges[stage]
    total = LinearParams()
    norms_per_layer = 2 + spec.extra_norms_per_layer
    for i in layers:
        kind = spec.layers[i].kind
        total = total + _attention_params(spec, kind, par.tp) + _mlp_params(spec, i, par)
        total = total + LinearParams(plain=norms_per_layer * spec.hidden_size)
    vocab_rows = round_up(spec.vocab_size, VOCAB_PADDING) / par.tp
    embed = 0.0
    first, last = stage == 0, stage == par.pp - 1
    if first:
        embed += vocab_rows * spec.hidden_size
    if last and (not spec.tie_word_embeddings or par.pp > 1):
        embed += vocab_rows * spec.hidden_size
    if last:
        total = total + LinearParams(plain=spec.hidden_size)
    if first and spec.vision_params:
        total = total + LinearParams(plain=spec.vision_params / par.tp)
    return total, embed


def _quantized_bytes_per_param(q: Quantization) -> float:
    """Bytes per weight of a quantized linear layer, scales and zero points included."""
    if q.method == "fp8" or (q.method == "compressed-tensors" and q.bits == 8):
        if q.block_size:
            return 1 + 4 / (q.block_size[0] * q.block_size[1])
        return 1.0
    group = q.group_size or 128
    if q.method == "awq":
        return q.bits / 8 + 2 / group + q.bits / 8 / group
    if q.method == "gptq":
        return q.bits / 8 + 2 / group + q.bits / 8 / group
    if q.method == "compressed-tensors":
        return q.bits / 8 + 2 / group
    if q.method == "mxfp4":
        return 0.5 + 1 / 32
    if q.method == "nvfp4":
        return 0.5 + 1 / 16 + 0.0
    if q.method == "bitsandbytes":
        return 0.5 + 1 / 32 if q.bits == 4 else 1.0 + 4 / 64
    return 2.0


def rope_cache_bytes(spec: ModelSpec, model_dtype: str) -> int:
    """vLLM's cos/sin cache: [positions, rotary_dim] in the model dtype, shared by all layers.

    Gemma 3 keeps two: the scaled one of its global layers and an unscaled one of its
    sliding layers (vllm/model_executor/models/gemma3.py builds them with different bases).
    """
    positions = spec.rope_cache_positions
    if spec.model_type == "gemma3_text":
        positions += spec.max_position_embeddings
    return int(positions * spec.rotary_dim * dtype_bytes(model_dtype))


def allocated_bytes(nbytes: int) -> int:
    """The block PyTorch's CUDA caching allocator gives a new tensor of `nbytes`.

    Sizes round up to 512 bytes. From 10 MiB a tensor gets its own segment, rounded up to
    2 MiB, and the rest is split off only when it is over 1 MiB (`should_split`); a smaller rest
    stays in the tensor's block and counts as allocated. Tensors under 10 MiB share 20 MiB
    segments; what they leave unsplit there depends on their order and is not counted.
    """
    size = max(_MIN_BLOCK, round_up(nbytes, _MIN_BLOCK))
    if size >= _MIN_LARGE_ALLOC:
        segment = round_up(size, _ROUND_LARGE)
        if segment - size <= _SMALL_SIZE:
            return segment
    return size


def _layer_tensors(
    spec: ModelSpec, par: Parallel, layer: int, quant: Quantization | None
) -> Iterator[int]:
    """Elements of each model-dtype tensor vLLM allocates for one decoder layer on one rank."""
    h = spec.hidden_size
    kind = spec.layers[layer].kind
    linear_quantized = quant is not None and not quant.experts_only
    if spec.mla is None and kind is not LayerKind.LINEAR and not linear_quantized:
        q_out = spec.num_attention_heads * spec.head_dim // par.tp
        kv_out = 2 * _kv_heads_per_rank(spec.num_kv_heads, par.tp) * spec.head_dim
        yield h * (q_out + kv_out)  # qkv_proj, one QKVParallelLinear
        if spec.attention_bias:
            yield q_out + kv_out
        yield q_out * h
        if spec.qk_norm:
            yield from (spec.head_dim, spec.head_dim)
    moe = spec.moe
    if moe is not None and layer in moe.moe_layers:
        if quant is None:
            # FusedMoE's w13_weight and w2_weight hold all of a rank's experts, with or without EP.
            experts = moe.num_experts * moe.expert_intermediate_size * h // par.tp
            yield from (2 * experts, experts)
        yield moe.num_experts * h
        if moe.shared_intermediate_size and not linear_quantized:
            shared = moe.shared_intermediate_size // par.tp * h
            yield from (2 * shared, shared)
    elif not linear_quantized:
        inner = spec.intermediate_size // par.tp * h
        yield from ((2 * inner, inner) if spec.gated_mlp else (inner, inner))
    yield from [h] * (2 + spec.extra_norms_per_layer)


def _rank_tensors(
    spec: ModelSpec, par: Parallel, stage: int, quant: Quantization | None
) -> Iterator[int]:
    layers = pp_layer_ranges(spec.num_layers, par.pp)[stage]
    first, last = stage == 0, stage == par.pp - 1
    embedding = round_up(spec.vocab_size, VOCAB_PADDING) // par.tp * spec.hidden_size
    if first:
        yield embedding
    for i in layers:
        yield from _layer_tensors(spec, par, i, quant)
    if last:
        yield spec.hidden_size
        if not spec.tie_word_embeddings or par.pp > 1:
            yield embedding


def allocator_padding_bytes(
    spec: ModelSpec, par: Parallel, stage: int, model_dtype: str, quant: Quantization | None
) -> int:
    """What the caching allocator adds to one rank's weights, over their own bytes.

    Counts the tensors whose shape vLLM fixes from config.json: unquantized projections,
    embeddings, norms and routers, and attention's KV-cache scale buffers. Quantized
    projections and vision towers are left out.
    """
    elem = dtype_bytes(model_dtype)
    padding = 0
    for elements in _rank_tensors(spec, par, stage, quant):
        nbytes = int(elements * elem)
        padding += allocated_bytes(nbytes) - nbytes
    layers = pp_layer_ranges(spec.num_layers, par.pp)[stage]
    attention = sum(1 for i in layers if spec.layers[i].kind is not LayerKind.LINEAR)
    return padding + attention * _ATTENTION_SCALE_BYTES


def weight_bytes(
    spec: ModelSpec,
    par: Parallel,
    stage: int = 0,
    model_dtype: str | None = None,
    quantization: Quantization | None = None,
) -> int:
    """Bytes of weights and persistent buffers on one rank of pipeline stage `stage`."""
    dtype = model_dtype or spec.dtype
    elem = dtype_bytes(dtype)
    quant = quantization if quantization is not None else spec.quantization
    if spec.weight_file is not None and quantization is None:
        body = _file_bytes_per_rank(spec, par, stage)
    else:
        params, embed = stage_params(spec, par, stage)
        body = (params.plain + embed) * elem
        if quant is None:
            body += params.quantizable * elem
        elif quant.experts_only and spec.moe is not None:
            experts = _expert_params(spec, par, stage)
            # vllm mxfp4.py: the Triton MoE kernels swizzle expert weights into tiles padded
            # to 256 along the hidden dimension.
            padding = round_up(spec.hidden_size, 256) / spec.hidden_size
            body += experts * padding * _quantized_bytes_per_param(quant)
            body += (params.quantizable - experts) * elem
        else:
            body += params.quantizable * _quantized_bytes_per_param(quant)
    padding = allocator_padding_bytes(spec, par, stage, dtype, quant)
    return int(body) + rope_cache_bytes(spec, dtype) + padding


def _expert_params(spec: ModelSpec, par: Parallel, stage: int) -> float:
    assert spec.moe is not None
    moe = spec.moe
    layers = pp_layer_ranges(spec.num_layers, par.pp)[stage]
    n = sum(1 for i in layers if i in moe.moe_layers)
    return n * 3 * spec.hidden_size * moe.expert_intermediate_size * moe.num_experts / par.tp


def _file_bytes_per_rank(spec: ModelSpec, par: Parallel, stage: int) -> float:
    """Exact checkpoint bytes, shared out to one rank by the tensor's role."""
    assert spec.weight_file is not None
    ranges = pp_layer_ranges(spec.num_layers, par.pp)
    layers = ranges[stage]
    first, last = stage == 0, stage == par.pp - 1
    total = 0.0
    kv_share = _kv_heads_per_rank(spec.num_kv_heads, par.tp) / spec.num_kv_heads
    for name, size in spec.weight_file.tensors.items():
        layer = _layer_index(name)
        if layer is not None:
            if layer not in layers:
                continue
            if "mtp" in name or layer >= spec.num_layers:
                continue
            if _is_replicated(name):
                total += size
            elif any(part in name for part in ("k_proj", "v_proj")) and spec.mla is None:
                total += size * kv_share
            else:
                total += size / par.tp
        elif "embed_tokens" in name or "wte" in name or "word_embeddings" in name:
            if first:
                total += size / par.tp
            if last and spec.tie_word_embeddings and par.pp > 1:
                total += size / par.tp
        elif "lm_head" in name or "output_layer" in name:
            if last:
                total += size / par.tp
        elif "visual" in name or "vision" in name or "multi_modal_projector" in name:
            if first:
                total += size / par.tp
        elif last:
            total += size  # final norm
    return total


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if part in ("layers", "h", "blocks", "layer") and parts[i + 1].isdigit():
            if any(v in parts[:i] for v in ("visual", "vision_tower", "vision_model")):
                return None
            return int(parts[i + 1])
    return None


def _is_replicated(name: str) -> bool:
    leaf = name.rsplit(".", 2)
    tail = ".".join(leaf[-2:])
    return (
        "norm" in tail
        or tail.startswith("gate.")
        or "kv_a_proj" in name
        or "q_a_proj" in name
        or "shared_expert_gate" in name
        or "sinks" in tail
    )
