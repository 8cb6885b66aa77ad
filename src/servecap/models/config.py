"""Turn a Hugging Face config.json (a dict) into a ModelSpec.

Field names and defaults follow vLLM's reading of the config
(`vllm/transformers_utils/model_arch_config_convertor.py`, `vllm/config/model.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .spec import MLA, Layer, LayerKind, LinearAttention, ModelSpec, MoE, Quantization

# model_type of the text model -> parameter-layout family (see params.py)
FAMILIES: dict[str, str] = {
    "llama": "llama",
    "mistral": "llama",
    "granite": "llama",
    "qwen2": "llama",
    "qwen3": "llama",
    "phi3": "llama",
    "glm": "llama",
    "glm4": "llama",
    "internlm2": "llama",
    "olmo2": "llama",
    "gemma": "gemma",
    "gemma2": "gemma",
    "gemma3_text": "gemma",
    "chatglm": "llama",
    "phi": "llama",
    "mixtral": "moe",
    "qwen2_moe": "moe",
    "qwen3_moe": "moe",
    "glm4_moe": "moe",
    "llama4_text": "moe",
    "gpt_oss": "moe",
    "granitemoe": "moe",
    "deepseek_v2": "moe",
    "deepseek_v3": "moe",
    "kimi_k2": "moe",
    "qwen3_next": "moe",
    "minimax_m2": "moe",
}

# Text model types that are another type's layout under a different name.
_ALIASES: dict[str, str] = {
    "qwen3_vl_text": "qwen3",
    "qwen3_vl_moe_text": "qwen3_moe",
    "qwen2_5_vl_text": "qwen2",
    "qwen2_vl_text": "qwen2",
    "mistral3_text": "mistral",
}

# Defaults of the transformers config class, for the keys published configs often omit
# (transformers Gemma2Config / Gemma3TextConfig / Llama4TextConfig).
_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma2": {
        "vocab_size": 256000,
        "head_dim": 256,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "max_position_embeddings": 8192,
        "sliding_window": 4096,
        "tie_word_embeddings": True,
    },
    "gemma3_text": {
        "vocab_size": 262208,
        "head_dim": 256,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "max_position_embeddings": 131072,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
        "tie_word_embeddings": True,
    },
}

# Outer (multimodal) model types whose language model sits in text_config.
_MULTIMODAL_TEXT_TYPES: dict[str, str] = {
    "gemma3": "gemma3_text",
    "mistral3": "mistral",
    "llava": "llama",
    "qwen2_5_vl": "qwen2",
    "qwen2_vl": "qwen2",
    "qwen3_vl": "qwen3",
    "qwen3_vl_moe": "qwen3_moe",
    "llama4": "llama4_text",
    "kimi_vl": "deepseek_v3",
}

_MLA_TYPES = {"deepseek_v2", "deepseek_v3", "kimi_k2"}


def _first(cfg: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        value = cfg.get(key)
        if value is not None:
            return value
    return default


def _need_int(cfg: Mapping[str, Any], name: str, *keys: str) -> int:
    value = _first(cfg, *keys)
    if value is None:
        raise ConfigError(
            f"config.json of {name} has no {keys[0]!r}",
            "pass the model's complete config.json (as published on the Hub)",
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value <= 0
        or value != int(value)
    ):
        raise ConfigError(
            f"config.json of {name} has an invalid {keys[0]!r}: {value!r}",
            "fix the value or pass the original config.json",
        )
    return int(value)


def text_config(raw: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The language model's config, and whether the model is multimodal."""
    outer_type = raw.get("model_type", "")
    multimodal = "vision_config" in raw or outer_type in _MULTIMODAL_TEXT_TYPES
    inner = raw.get("text_config") or raw.get("llm_config")
    if isinstance(inner, dict):
        merged = dict(inner)
        for key in ("torch_dtype", "dtype", "tie_word_embeddings", "quantization_config"):
            if key not in merged and key in raw:
                merged[key] = raw[key]
        if "model_type" not in merged and outer_type in _MULTIMODAL_TEXT_TYPES:
            merged["model_type"] = _MULTIMODAL_TEXT_TYPES[outer_type]
        return merged, True
    flat = dict(raw)
    if outer_type in _MULTIMODAL_TEXT_TYPES:
        flat["model_type"] = _MULTIMODAL_TEXT_TYPES[outer_type]
    return flat, multimodal


def _dtype(cfg: Mapping[str, Any]) -> str:
    value = _first(cfg, "torch_dtype", "dtype", default="bfloat16")
    if isinstance(value, dict):  # some composite configs give per-part dtypes
        value = next(iter(value.values()), "bfloat16")
    value = str(value).removeprefix("torch.")
    if value not in ("bfloat16", "float16", "float32"):
        return "bfloat16"
    return value


def _quantization(cfg: Mapping[str, Any]) -> Quantization | None:
    qc = cfg.get("quantization_config")
    if not isinstance(qc, dict):
        return None
    method = str(qc.get("quant_method", "")).lower()
    not_converted = tuple(
        qc.get("modules_to_not_convert") or qc.get("ignore") or qc.get("ignored_layers") or ()
    )
    if method in ("awq", "gptq", "auto_gptq", "awq_marlin", "gptq_marlin"):
        return Quantization(
            method="awq" if "awq" in method else "gptq",
            bits=int(qc.get("bits") or qc.get("w_bit") or 4),
            group_size=int(qc.get("group_size", qc.get("q_group_size", 128)) or 128),
            modules_not_quantized=not_converted,
        )
    if method == "fp8":
        block = qc.get("weight_block_size")
        return Quantization(
            method="fp8",
            bits=8,
            block_size=(int(block[0]), int(block[1])) if block else None,
            modules_not_quantized=not_converted,
        )
    if method == "compressed-tensors":
        bits = 8
        group_size = None
        groups = qc.get("config_groups") or {}
        for group in groups.values():
            weights = (group or {}).get("weights") or {}
            bits = int(weights.get("num_bits", bits))
            if weights.get("group_size"):
                group_size = int(weights["group_size"])
            break
        return Quantization(
            method="compressed-tensors",
            bits=bits,
            group_size=group_size,
            modules_not_quantized=not_converted,
        )
    if method == "mxfp4":
        return Quantization(
            method="mxfp4",
            bits=4,
            group_size=32,
            modules_not_quantized=not_converted,
            experts_only=True,
        )
    if method in ("bitsandbytes",):
        return Quantization(method="bitsandbytes", bits=4 if qc.get("load_in_4bit") else 8)
    if method in ("modelopt", "modelopt_fp4", "nvfp4"):
        algo = str(qc.get("quant_algo", "")).upper()
        if "FP4" in algo or method == "modelopt_fp4":
            return Quantization(method="nvfp4", bits=4, group_size=16)
        return Quantization(method="fp8", bits=8)
    raise ConfigError(
        f"quantization method {method!r} is not supported",
        "use an fp8, awq, gptq, compressed-tensors or mxfp4 checkpoint, or pass --weights-gib",
    )


def _layer_kinds(
    cfg: Mapping[str, Any], model_type: str, n: int
) -> list[tuple[LayerKind, int | None]]:
    window = cfg.get("sliding_window")
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list) and len(layer_types) >= n:
        kinds: list[tuple[LayerKind, int | None]] = []
        for kind in layer_types[:n]:
            if kind == "sliding_attention" and window:
                kinds.append((LayerKind.SLIDING, int(window)))
            elif kind in ("linear_attention", "mamba"):
                kinds.append((LayerKind.LINEAR, None))
            elif kind == "chunked_attention":
                kinds.append((LayerKind.CHUNKED, int(cfg.get("attention_chunk_size") or 8192)))
            else:
                kinds.append((LayerKind.FULL, None))
        return kinds
    if model_type == "gemma2" and window:
        # Even layers slide (vllm/model_executor/models/gemma2.py).
        return [
            (LayerKind.SLIDING, int(window)) if i % 2 == 0 else (LayerKind.FULL, None)
            for i in range(n)
        ]
    if model_type in ("gemma3_text", "cohere2") and window:
        pattern = int(
            cfg.get("sliding_window_pattern") or (6 if model_type == "gemma3_text" else 4)
        )
        return [
            (LayerKind.FULL, None) if (i + 1) % pattern == 0 else (LayerKind.SLIDING, int(window))
            for i in range(n)
        ]
    if model_type in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe") and cfg.get("use_sliding_window"):
        first_sliding = int(cfg.get("max_window_layers") or 0)
        return [
            (LayerKind.SLIDING, int(window))
            if window and i >= first_sliding
            else (LayerKind.FULL, None)
            for i in range(n)
        ]
    if model_type == "qwen3_next":
        interval = int(cfg.get("full_attention_interval") or 4)
        return [
            (LayerKind.FULL, None) if (i + 1) % interval == 0 else (LayerKind.LINEAR, None)
            for i in range(n)
        ]
    if model_type == "llama4_text":
        no_rope = cfg.get("no_rope_layers") or [
            int((i + 1) % int(cfg.get("nope_layer_interval") or 4) != 0) for i in range(n)
        ]
        chunk = cfg.get("attention_chunk_size")
        if isinstance(no_rope, list) and chunk:
            # Layers that use RoPE attend locally in chunks; the NoPE layers are global.
            return [
                (LayerKind.CHUNKED, int(chunk)) if no_rope[i] else (LayerKind.FULL, None)
                for i in range(n)
            ]
    return [(LayerKind.FULL, None)] * n


def _moe(cfg: Mapping[str, Any], model_type: str, n: int) -> MoE | None:
    experts = _first(cfg, "num_local_experts", "num_experts", "n_routed_experts")
    if not experts or int(experts) <= 1:
        return None
    per_token = int(_first(cfg, "num_experts_per_tok", "experts_per_token", "moe_topk", default=2))
    inter = int(
        _first(
            cfg, "moe_intermediate_size", "intermediate_size_moe", "intermediate_size", default=0
        )
    )
    shared = 0
    if model_type == "llama4_text":
        shared = inter  # one shared expert of the routed experts' size
    elif cfg.get("shared_expert_intermediate_size"):
        shared = int(cfg["shared_expert_intermediate_size"])
    elif cfg.get("n_shared_experts"):
        shared = int(cfg["n_shared_experts"]) * inter
    first_dense = int(cfg.get("first_k_dense_replace") or 0)
    step = int(cfg.get("decoder_sparse_step") or cfg.get("moe_layer_freq") or 1)
    sparse_only = set(cfg.get("mlp_only_layers") or [])
    if model_type == "minimax_m2":
        inter = int(cfg.get("intermediate_size") or inter)
    if model_type == "llama4_text":
        step = int(cfg.get("interleave_moe_layer_step") or 1)
        layers = tuple(i for i in range(n) if (i + 1) % step == 0)
    else:
        layers = tuple(
            i for i in range(n) if i >= first_dense and (i + 1) % step == 0 and i not in sparse_only
        )
    return MoE(
        num_experts=int(experts),
        experts_per_token=per_token,
        expert_intermediate_size=inter,
        shared_intermediate_size=shared,
        moe_layers=layers,
        expert_bias=model_type == "gpt_oss",
    )


def _rope(cfg: Mapping[str, Any], head_dim: int, max_pos: int) -> tuple[int, int]:
    """Rotary dim and the number of positions in vLLM's cos/sin cache."""
    rotary_dim = int(
        cfg.get("rotary_dim") or head_dim * float(cfg.get("partial_rotary_factor") or 1.0)
    )
    if cfg.get("qk_rope_head_dim"):
        rotary_dim = int(cfg["qk_rope_head_dim"])
    scaling = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}
    positions = max_pos
    if isinstance(scaling, dict):
        rope_type = scaling.get("rope_type") or scaling.get("type") or "default"
        factor = float(scaling.get("factor") or 1.0)
        original = int(scaling.get("original_max_position_embeddings") or max_pos)
        # vllm/model_executor/layers/rotary_embedding: YaRN-style caches span
        # original_max_position * factor; linear/dynamic scaling multiplies the length.
        if rope_type in ("yarn", "deepseek_yarn"):
            positions = int(original * factor)
        elif rope_type in ("linear", "dynamic"):
            positions = int(max_pos * factor)
    return rotary_dim, positions


def parse_config(raw: Mapping[str, Any], name: str, source: str = "") -> ModelSpec:
    """Build a ModelSpec from the content of a config.json."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config.json of {name} is not a JSON object", "pass a valid config.json")
    try:
        return _parse(raw, name, source)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
        # a field of the wrong type or shape somewhere in an edited config.json
        raise ConfigError(
            f"config.json of {name} has a value of the wrong type or shape "
            f"({type(exc).__name__}: {exc})",
            "fix the value or pass the original config.json",
        ) from None


def _parse(raw: Mapping[str, Any], name: str, source: str) -> ModelSpec:
    cfg, multimodal = text_config(raw)
    model_type = str(cfg.get("model_type") or raw.get("model_type") or "")
    model_type = _ALIASES.get(model_type, model_type)
    cfg = {**_TYPE_DEFAULTS.get(model_type, {}), **{k: v for k, v in cfg.items() if v is not None}}
    architectures = raw.get("architectures") or cfg.get("architectures") or [""]
    architecture = str(architectures[0]) if architectures else ""
    if model_type not in FAMILIES:
        known = ", ".join(sorted(FAMILIES))
        raise ConfigError(
            f"architecture {architecture or model_type or '(none)'} (model_type "
            f"{model_type!r}) of {name} is not supported",
            f"supported model types: {known}",
        )
    hidden = _need_int(cfg, name, "hidden_size", "n_embd", "d_model")
    n_layers = _need_int(cfg, name, "num_hidden_layers", "num_layers", "n_layer")
    heads = _need_int(cfg, name, "num_attention_heads", "n_head")
    vocab = _need_int(cfg, name, "vocab_size", "padded_vocab_size")
    if model_type == "chatglm":
        vocab = int(cfg.get("padded_vocab_size") or vocab)
    intermediate = int(_first(cfg, "intermediate_size", "ffn_hidden_size", default=0) or 0)
    if model_type == "llama4_text":
        intermediate = int(cfg.get("intermediate_size_mlp") or intermediate)
    if intermediate <= 0 and FAMILIES[model_type] != "moe":
        raise ConfigError(
            f"config.json of {name} has no 'intermediate_size'",
            "pass the model's complete config.json (as published on the Hub)",
        )
    kv_heads_raw = _first(
        cfg, "num_key_value_heads", "n_head_kv", "num_kv_heads", "multi_query_group_num"
    )
    if model_type == "chatglm" and not cfg.get("multi_query_attention"):
        kv_heads_raw = heads
    kv_heads = heads if kv_heads_raw is None else int(kv_heads_raw)
    head_dim_raw = cfg.get("head_dim")
    head_dim = int(head_dim_raw) if head_dim_raw else hidden // heads
    if kv_heads <= 0 or heads % kv_heads:
        raise ConfigError(
            f"config.json of {name}: {heads} attention heads are not a multiple of "
            f"{kv_heads} KV heads",
            "check num_key_value_heads in config.json",
        )
    max_pos = int(
        _first(
            cfg,
            "max_position_embeddings",
            "n_positions",
            "max_seq_len",
            "seq_length",
            "max_sequence_length",
            default=2048,
        )
    )
    if cfg.get("model_max_length"):
        max_pos = int(cfg["model_max_length"])

    mla: MLA | None = None
    if model_type in _MLA_TYPES or cfg.get("kv_lora_rank"):
        mla = MLA(
            kv_lora_rank=int(cfg["kv_lora_rank"]),
            qk_rope_head_dim=int(cfg.get("qk_rope_head_dim") or 64),
            qk_nope_head_dim=int(cfg.get("qk_nope_head_dim") or 128),
            v_head_dim=int(cfg.get("v_head_dim") or 128),
            q_lora_rank=int(cfg["q_lora_rank"]) if cfg.get("q_lora_rank") else None,
        )

    layers: list[Layer] = []
    for kind, window in _layer_kinds(cfg, model_type, n_layers):
        if mla is not None:
            layers.append(
                Layer(
                    LayerKind.MLA, num_kv_heads=1, head_dim=mla.kv_lora_rank + mla.qk_rope_head_dim
                )
            )
        elif kind is LayerKind.LINEAR:
            layers.append(Layer(LayerKind.LINEAR))
        else:
            layers.append(
                Layer(
                    kind,
                    num_kv_heads=kv_heads,
                    head_dim=head_dim,
                    head_dim_v=head_dim,
                    window=window,
                )
            )
    rotary_dim, rope_positions = _rope(cfg, head_dim, max_pos)
    tie = cfg.get("tie_word_embeddings")
    if tie is None:
        tie = model_type in ("gemma", "gemma2", "gemma3_text")
    return ModelSpec(
        name=name,
        architecture=architecture,
        model_type=model_type,
        dtype=_dtype(cfg),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        vocab_size=vocab,
        max_position_embeddings=max_pos,
        tie_word_embeddings=bool(tie),
        layers=tuple(layers),
        rotary_dim=rotary_dim,
        rope_cache_positions=rope_positions,
        gated_mlp=model_type != "phi",
        attention_bias=bool(
            cfg.get("attention_bias")
            or cfg.get("qkv_bias")
            or model_type == "phi"
            or model_type in ("qwen2", "qwen2_moe")
            or (model_type == "chatglm" and cfg.get("add_qkv_bias", True))
        ),
        qk_norm=model_type in ("qwen3", "qwen3_moe", "qwen3_next") or bool(cfg.get("use_qk_norm")),
        extra_norms_per_layer={"gemma2": 2, "gemma3_text": 2, "glm4": 2}.get(model_type, 0),
        mla=mla,
        linear=_linear_attention(cfg) if LayerKind.LINEAR in {la.kind for la in layers} else None,
        moe=_moe(cfg, model_type, n_layers),
        quantization=_quantization(cfg) or _quantization(raw),
        vision_params=_vision_params(raw.get("vision_config")),
        multimodal=multimodal,
        mtp_layers=int(cfg.get("num_nextn_predict_layers") or 0),
        source=source,
    )


def _linear_attention(cfg: Mapping[str, Any]) -> LinearAttention:
    return LinearAttention(
        num_key_heads=int(cfg.get("linear_num_key_heads") or 16),
        num_value_heads=int(cfg.get("linear_num_value_heads") or 32),
        key_head_dim=int(cfg.get("linear_key_head_dim") or 128),
        value_head_dim=int(cfg.get("linear_value_head_dim") or 128),
        conv_kernel=int(cfg.get("linear_conv_kernel_dim") or 4),
    )


def _vision_params(vision: Any) -> int:
    """A ViT's parameter count: attention, MLP and norms per block, plus the patch embedding."""
    if not isinstance(vision, dict):
        return 0
    hidden = int(_first(vision, "hidden_size", "embed_dim", "width", default=0) or 0)
    depth = int(_first(vision, "num_hidden_layers", "depth", "layers", default=0) or 0)
    if not hidden or not depth:
        return 0
    inter = int(_first(vision, "intermediate_size", default=4 * hidden))
    patch = int(vision.get("patch_size") or 14)
    channels = int(vision.get("num_channels") or vision.get("in_channels") or 3)
    temporal = int(vision.get("temporal_patch_size") or 1)
    per_block = 4 * hidden * hidden + 2 * hidden * inter + 9 * hidden + 2 * inter
    image = int(vision.get("image_size") or 0)
    positions = (image // patch) ** 2 if image else 0
    out = int(_first(vision, "out_hidden_size", "projection_dim", default=hidden))
    merger = 4 * hidden * 4 * hidden + 4 * hidden * out if out != hidden else 0
    return (
        depth * per_block
        + channels * temporal * patch * patch * hidden
        + positions * hidden
        + merger
    )
