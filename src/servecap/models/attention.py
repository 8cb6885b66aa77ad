"""Read the geometry of multi-head latent attention and of linear (gated delta net) attention."""

from __future__ import annotations

from .fields import Fields
from .spec import MLA, LinearAttention


def read_mla(cfg: Fields) -> MLA:
    """DeepSeek-V2/V3 and Kimi K2 latent attention; kv_lora_rank is required."""
    return MLA(
        kv_lora_rank=cfg.need_int("kv_lora_rank"),
        qk_rope_head_dim=cfg.int_or("qk_rope_head_dim", default=64),
        qk_nope_head_dim=cfg.int_or("qk_nope_head_dim", default=128),
        v_head_dim=cfg.int_or("v_head_dim", default=128),
        q_lora_rank=cfg.opt_int("q_lora_rank"),
    )


def read_linear_attention(cfg: Fields) -> LinearAttention:
    """Qwen3-Next gated delta net heads and convolution, with Qwen3-Next's defaults."""
    return LinearAttention(
        num_key_heads=cfg.int_or("linear_num_key_heads", default=16),
        num_value_heads=cfg.int_or("linear_num_value_heads", default=32),
        key_head_dim=cfg.int_or("linear_key_head_dim", default=128),
        value_head_dim=cfg.int_or("linear_value_head_dim", default=128),
        conv_kernel=cfg.int_or("linear_conv_kernel_dim", default=4),
    )
