"""Which KV-cache kind each decoder layer has: layer_types, or the model type's own pattern."""

from __future__ import annotations

from .fields import Fields
from .spec import LayerKind

LayerKinds = list[tuple[LayerKind, int | None]]  # kind and window (or chunk) of each layer

_QWEN_TYPES = ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe")


def read_layer_kinds(cfg: Fields, model_type: str, n: int) -> LayerKinds:
    """The kind of each of the n layers, with its window or chunk size where it has one."""
    layer_types = cfg.str_list_or("layer_types")
    if len(layer_types) >= n:
        return [_named_kind(cfg, kind) for kind in layer_types[:n]]
    window = cfg.opt_int("sliding_window")
    if model_type == "gemma2" and window:
        # Even layers slide (vllm/model_executor/models/gemma2.py).
        return [
            (LayerKind.SLIDING, window) if i % 2 == 0 else (LayerKind.FULL, None) for i in range(n)
        ]
    if model_type in ("gemma3_text", "cohere2") and window:
        pattern = cfg.int_or(
            "sliding_window_pattern", default=6 if model_type == "gemma3_text" else 4
        )
        return [
            (LayerKind.FULL, None) if (i + 1) % pattern == 0 else (LayerKind.SLIDING, window)
            for i in range(n)
        ]
    if model_type in _QWEN_TYPES and cfg.data.get("use_sliding_window"):
        first_sliding = cfg.int_or("max_window_layers", default=0)
        return [
            (LayerKind.SLIDING, window) if window and i >= first_sliding else (LayerKind.FULL, None)
            for i in range(n)
        ]
    if model_type == "qwen3_next":
        interval = cfg.int_or("full_attention_interval", default=4)
        return [
            (LayerKind.FULL, None) if (i + 1) % interval == 0 else (LayerKind.LINEAR, None)
            for i in range(n)
        ]
    if model_type == "llama4_text":
        chunked = _llama4_kinds(cfg, n)
        if chunked is not None:
            return chunked
    return [(LayerKind.FULL, None)] * n


def _named_kind(cfg: Fields, kind: str) -> tuple[LayerKind, int | None]:
    """One layer_types entry; names servecap does not know are full attention."""
    if kind == "sliding_attention":
        window = cfg.opt_int("sliding_window")
        return (LayerKind.SLIDING, window) if window else (LayerKind.FULL, None)
    if kind in ("linear_attention", "mamba"):
        return LayerKind.LINEAR, None
    if kind == "chunked_attention":
        return LayerKind.CHUNKED, cfg.int_or("attention_chunk_size", default=8192)
    return LayerKind.FULL, None


def _llama4_kinds(cfg: Fields, n: int) -> LayerKinds | None:
    """Llama 4: layers that use RoPE attend locally in chunks; the NoPE layers are global."""
    chunk = cfg.opt_int("attention_chunk_size")
    if chunk is None:
        return None
    uses_rope = cfg.int_list_or("no_rope_layers", maximum=1)
    if not uses_rope:
        interval = cfg.int_or("nope_layer_interval", default=4)
        uses_rope = [int((i + 1) % interval != 0) for i in range(n)]
    if len(uses_rope) < n:
        raise cfg.invalid("no_rope_layers", uses_rope, f"one 0 or 1 for each of the {n} layers")
    return [
        (LayerKind.CHUNKED, chunk) if uses_rope[i] else (LayerKind.FULL, None) for i in range(n)
    ]
