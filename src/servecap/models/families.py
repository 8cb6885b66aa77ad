"""The model types servecap reads: layout families, aliases, defaults and multimodal wrappers."""

from __future__ import annotations

from typing import Any

# model_type of the text model -> parameter-layout family. Only config.py reads the family: a
# type outside this table is unsupported, and a "moe" one may lack a dense intermediate_size.
# The parameters themselves are counted from the ModelSpec, in memory/weights.py.
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
ALIASES: dict[str, str] = {
    "qwen3_vl_text": "qwen3",
    "qwen3_vl_moe_text": "qwen3_moe",
    "qwen2_5_vl_text": "qwen2",
    "qwen2_vl_text": "qwen2",
    "mistral3_text": "mistral",
}

# Defaults of the transformers config class, for the keys published configs often omit
# (transformers Gemma2Config / Gemma3TextConfig / Llama4TextConfig).
TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
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
MULTIMODAL_TEXT_TYPES: dict[str, str] = {
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

# Types with multi-head latent attention, whose configs must give kv_lora_rank.
MLA_TYPES = {"deepseek_v2", "deepseek_v3", "kimi_k2"}
