"""The model description that the memory maths needs: geometry, layer kinds, MoE, quantization."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class LayerKind(StrEnum):
    """How one decoder layer stores its KV cache in vLLM (`vllm/v1/kv_cache_interface.py`)."""

    FULL = "full"  # FullAttentionSpec: every token of the context
    SLIDING = "sliding"  # SlidingWindowSpec: the last `window` tokens
    CHUNKED = "chunked"  # ChunkedLocalAttentionSpec (Llama 4 local layers)
    MLA = "mla"  # MLAAttentionSpec: one compressed latent per token
    LINEAR = "linear"  # MambaSpec: a fixed recurrent state per request (GDN, Mamba)
    SHARED = "shared"  # reuses another layer's KV: costs nothing


@dataclass(frozen=True)
class Layer:
    """One decoder layer's attention, with total (not per-rank) head counts."""

    kind: LayerKind
    num_kv_heads: int = 0
    head_dim: int = 0
    head_dim_v: int = 0
    window: int | None = None


@dataclass(frozen=True)
class MLA:
    """Multi-head latent attention facts (DeepSeek-V2/V3, Kimi K2)."""

    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int
    q_lora_rank: int | None


@dataclass(frozen=True)
class LinearAttention:
    """Gated delta net (Qwen3-Next) geometry: a recurrent state instead of a KV cache."""

    num_key_heads: int
    num_value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int

    @property
    def key_dim(self) -> int:
        return self.num_key_heads * self.key_head_dim

    @property
    def value_dim(self) -> int:
        return self.num_value_heads * self.value_head_dim

    @property
    def conv_dim(self) -> int:
        return 2 * self.key_dim + self.value_dim


@dataclass(frozen=True)
class MoE:
    """Mixture-of-experts facts."""

    num_experts: int
    experts_per_token: int
    expert_intermediate_size: int
    shared_intermediate_size: int  # 0 when there is no shared expert
    moe_layers: tuple[int, ...]  # indices of the layers with routed experts
    expert_bias: bool = False  # gpt-oss has biases on expert projections


@dataclass(frozen=True)
class Quantization:
    """The checkpoint's quantization, as `quantization_config` or `--quantization` states it."""

    method: str  # fp8, awq, gptq, compressed-tensors, mxfp4, bitsandbytes, ...
    bits: int = 16
    group_size: int | None = None
    block_size: tuple[int, int] | None = None  # fp8 block scales (DeepSeek, Qwen3-FP8)
    modules_not_quantized: tuple[str, ...] = ()
    experts_only: bool = False  # mxfp4 in gpt-oss quantizes only the experts


@dataclass(frozen=True)
class RopeLength:
    """A rope scaling that changes the context vLLM derives from config.json (linear, dynamic or
    YaRN scaling; vllm/config/model.py: _get_and_verify_max_len)."""

    kind: str  # linear, dynamic or yarn
    factor: float
    original_max_position_embeddings: int  # what YaRN scales


@dataclass(frozen=True)
class WeightFile:
    """Exact tensor sizes read from safetensors headers: name -> bytes."""

    tensors: dict[str, int]

    @property
    def total_bytes(self) -> int:
        return sum(self.tensors.values())


@dataclass(frozen=True)
class ModelSpec:
    """Everything servecap knows about a model, from its config.json (and weights, if local)."""

    name: str
    architecture: str
    model_type: str
    dtype: str  # torch dtype of the checkpoint: bfloat16, float16, float32
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    max_position_embeddings: int
    tie_word_embeddings: bool
    layers: tuple[Layer, ...]
    rotary_dim: int
    rope_cache_positions: int  # rows of vLLM's shared cos/sin cache
    rope_length: RopeLength | None = None
    attention_bias: bool = False
    gated_mlp: bool = True  # gate, up and down projections (SwiGLU); phi-2 has two
    qk_norm: bool = False
    extra_norms_per_layer: int = 0  # Gemma's pre/post feed-forward norms
    mla: MLA | None = None
    linear: LinearAttention | None = None
    moe: MoE | None = None
    quantization: Quantization | None = None
    vision_params: int = 0
    multimodal: bool = False
    mtp_layers: int = 0  # DeepSeek multi-token-prediction layers, not loaded by default
    weight_file: WeightFile | None = None
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def kinds(self) -> set[LayerKind]:
        return {layer.kind for layer in self.layers}
