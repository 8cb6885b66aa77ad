"""Turn a Hugging Face config.json (a dict) into a ModelSpec.

Field names and defaults follow vLLM's reading of the config
(`vllm/transformers_utils/model_arch_config_convertor.py`, `vllm/config/model.py`).
Every value is read through `fields.Fields`, so a value of the wrong type or out of range is
a ConfigError that names the key, while a bug in servecap stays a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .attention import read_linear_attention, read_mla
from .families import ALIASES, FAMILIES, MLA_TYPES, MULTIMODAL_TEXT_TYPES, TYPE_DEFAULTS
from .fields import MAX_LAYERS, Fields
from .layer_kinds import LayerKinds, read_layer_kinds
from .moe import read_moe
from .quantization import read_quantization
from .rope import read_rope
from .spec import MLA, Layer, LayerKind, ModelSpec
from .vision import read_vision_params

__all__ = ["FAMILIES", "parse_config", "text_config"]

_KV_HEAD_KEYS = ("num_key_value_heads", "n_head_kv", "num_kv_heads", "multi_query_group_num")
_MAX_POSITION_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "max_sequence_length",
)


def text_config(raw: Mapping[str, Any], name: str = "the model") -> tuple[dict[str, Any], bool]:
    """The language model's config, and whether the model is multimodal."""
    outer = Fields(raw, name)
    outer_type = outer.first_str("model_type", default="")
    multimodal = "vision_config" in raw or outer_type in MULTIMODAL_TEXT_TYPES
    inner = outer.mapping_or("text_config", "llm_config")
    if inner is not None:
        merged = dict(inner.data)
        for key in ("torch_dtype", "dtype", "tie_word_embeddings", "quantization_config"):
            if key not in merged and key in raw:
                merged[key] = raw[key]
        if "model_type" not in merged and outer_type in MULTIMODAL_TEXT_TYPES:
            merged["model_type"] = MULTIMODAL_TEXT_TYPES[outer_type]
        return merged, True
    flat = dict(raw)
    if outer_type in MULTIMODAL_TEXT_TYPES:
        flat["model_type"] = MULTIMODAL_TEXT_TYPES[outer_type]
    return flat, multimodal


def parse_config(raw: Mapping[str, Any], name: str, source: str = "") -> ModelSpec:
    """Build a ModelSpec from the content of a config.json."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config.json of {name} is not a JSON object", "pass a valid config.json")
    text, multimodal = text_config(raw, name)
    top = Fields(raw, name)
    model_type = _model_type(Fields(text, name), top)
    defaults = TYPE_DEFAULTS.get(model_type, {})
    cfg = Fields({**defaults, **{k: v for k, v in text.items() if v is not None}}, name)
    architecture = _architecture(top, cfg)
    if model_type not in FAMILIES:
        known = ", ".join(sorted(FAMILIES))
        raise ConfigError(
            f"architecture {architecture or model_type or '(none)'} (model_type "
            f"{model_type!r}) of {name} is not supported",
            f"supported model types: {known}",
        )
    hidden = cfg.need_int("hidden_size", "n_embd", "d_model")
    n_layers = cfg.need_int("num_hidden_layers", "num_layers", "n_layer", maximum=MAX_LAYERS)
    heads = cfg.need_int("num_attention_heads", "n_head")
    vocab = cfg.need_int("vocab_size", "padded_vocab_size")
    if model_type == "chatglm":
        vocab = cfg.int_or("padded_vocab_size", default=vocab)
    intermediate = _intermediate(cfg, model_type)
    kv_heads = _kv_heads(cfg, model_type, heads)
    head_dim = _head_dim(cfg, hidden, heads)
    max_pos = cfg.first_int(*_MAX_POSITION_KEYS, default=2048)
    max_pos = cfg.int_or("model_max_length", default=max_pos)
    mla = read_mla(cfg) if model_type in MLA_TYPES or cfg.opt_int("kv_lora_rank") else None
    layers = _layers(read_layer_kinds(cfg, model_type, n_layers), mla, kv_heads, head_dim)
    rotary_dim, rope_positions, rope_length = read_rope(cfg, head_dim, max_pos, model_type)
    flags = cfg.data  # read for truthiness only, as transformers does
    tie = flags.get("tie_word_embeddings")
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
        layers=layers,
        rotary_dim=rotary_dim,
        rope_cache_positions=rope_positions,
        rope_length=rope_length,
        gated_mlp=model_type != "phi",
        attention_bias=bool(
            flags.get("attention_bias")
            or flags.get("qkv_bias")
            or model_type == "phi"
            or model_type in ("qwen2", "qwen2_moe")
            or (model_type == "chatglm" and flags.get("add_qkv_bias", True))
        ),
        qk_norm=model_type in ("qwen3", "qwen3_moe", "qwen3_next")
        or bool(flags.get("use_qk_norm")),
        extra_norms_per_layer={"gemma2": 2, "gemma3_text": 2, "glm4": 2}.get(model_type, 0),
        mla=mla,
        linear=read_linear_attention(cfg)
        if any(la.kind is LayerKind.LINEAR for la in layers)
        else None,
        moe=read_moe(cfg, model_type, n_layers),
        quantization=read_quantization(cfg) or read_quantization(top),
        vision_params=read_vision_params(top.first_mapping("vision_config")),
        multimodal=multimodal,
        mtp_layers=cfg.int_or("num_nextn_predict_layers", default=0, maximum=MAX_LAYERS),
        source=source,
    )


def _model_type(text: Fields, top: Fields) -> str:
    """The text model's type, aliases resolved to the type whose layout they share."""
    model_type = text.str_or("model_type", default="") or top.str_or("model_type", default="")
    return ALIASES.get(model_type, model_type)


def _intermediate(cfg: Fields, model_type: str) -> int:
    """The dense MLP width; MoE models may have none."""
    intermediate = cfg.first_int("intermediate_size", "ffn_hidden_size", default=0, minimum=0)
    if model_type == "llama4_text":
        intermediate = cfg.int_or("intermediate_size_mlp", default=intermediate)
    if intermediate <= 0 and FAMILIES[model_type] != "moe":
        raise ConfigError(
            f"config.json of {cfg.name} has no 'intermediate_size'",
            "pass the model's complete config.json (as published on the Hub)",
        )
    return intermediate


def _kv_heads(cfg: Fields, model_type: str, heads: int) -> int:
    """KV heads, which must divide the attention heads."""
    if model_type == "chatglm" and not cfg.data.get("multi_query_attention"):
        return heads
    kv_heads = cfg.first_int(*_KV_HEAD_KEYS, default=heads, minimum=0)
    if kv_heads <= 0 or heads % kv_heads:
        raise ConfigError(
            f"config.json of {cfg.name}: {heads} attention heads are not a multiple of "
            f"{kv_heads} KV heads",
            "check num_key_value_heads in config.json",
        )
    return kv_heads


def _layers(kinds: LayerKinds, mla: MLA | None, kv_heads: int, head_dim: int) -> tuple[Layer, ...]:
    """Each decoder layer's attention: MLA everywhere in MLA models, else its layer kind."""
    if mla is not None:
        latent = mla.kv_lora_rank + mla.qk_rope_head_dim
        return tuple(Layer(LayerKind.MLA, num_kv_heads=1, head_dim=latent) for _ in kinds)
    return tuple(
        Layer(LayerKind.LINEAR)
        if kind is LayerKind.LINEAR
        else Layer(kind, num_kv_heads=kv_heads, head_dim=head_dim, head_dim_v=head_dim, window=w)
        for kind, w in kinds
    )


def _architecture(top: Fields, cfg: Fields) -> str:
    """The first entry of `architectures`, from the outer config or else the text config."""
    architectures = top.str_list_or("architectures") or cfg.str_list_or("architectures")
    return architectures[0] if architectures else ""


def _head_dim(cfg: Fields, hidden: int, heads: int) -> int:
    """head_dim, or hidden_size / num_attention_heads where the config does not give it."""
    head_dim = cfg.opt_int("head_dim")
    if head_dim is not None:
        return head_dim
    if hidden < heads:
        expected = f"at most hidden_size ({hidden}) when there is no head_dim"
        raise cfg.invalid("num_attention_heads", heads, expected)
    return hidden // heads


def _dtype(cfg: Fields) -> str:
    """The checkpoint dtype; anything but float16 or float32 reads as bfloat16."""
    found = cfg.first("torch_dtype", "dtype")
    value: Any = "bfloat16" if found is None else found[1]
    if isinstance(value, dict):  # some composite configs give per-part dtypes
        value = next(iter(value.values()), "bfloat16")
    dtype = str(value).removeprefix("torch.")
    return dtype if dtype in ("float16", "float32") else "bfloat16"
