"""Read a config.json's rotary embedding: rotary dim and vLLM's cos/sin cache length."""

from __future__ import annotations

from .fields import MAX_SIZE, Fields
from .spec import RopeLength


def read_rope(
    cfg: Fields, head_dim: int, max_pos: int, model_type: str
) -> tuple[int, int, RopeLength | None]:
    """Rotary dim, the number of positions in vLLM's cos/sin cache, and the scaling that
    changes the derived context (vLLM skips it for Gemma 3)."""
    rotary_dim = cfg.opt_int("rotary_dim")
    if rotary_dim is None:
        rotary_dim = int(head_dim * cfg.float_or("partial_rotary_factor", default=1.0, maximum=1))
    rotary_dim = cfg.int_or("qk_rope_head_dim", default=rotary_dim)
    if rotary_dim < 1:
        raise cfg.invalid(
            "partial_rotary_factor",
            cfg.data.get("partial_rotary_factor"),
            f"a share of the {head_dim} head dimensions that leaves at least one",
        )
    scaling = cfg.mapping_or("rope_scaling", "rope_parameters")
    if scaling is None:
        return rotary_dim, max_pos, None
    rope_type = scaling.str_or("rope_type", "type", default="default")
    factor = scaling.float_or("factor", default=1.0)
    original = scaling.int_or("original_max_position_embeddings", default=max_pos)
    # vllm/model_executor/layers/rotary_embedding: YaRN-style caches span
    # original_max_position * factor; linear/dynamic scaling multiplies the length.
    if rope_type in ("yarn", "deepseek_yarn"):
        positions = int(original * factor)
    elif rope_type in ("linear", "dynamic"):
        positions = int(max_pos * factor)
    else:
        return rotary_dim, max_pos, None
    if not 1 <= positions <= MAX_SIZE:
        raise scaling.invalid("factor", factor, f"a factor that gives 1 to {MAX_SIZE:,} positions")
    length = None
    if rope_type in ("yarn", "linear", "dynamic") and "gemma3" not in model_type:
        length = RopeLength(rope_type, factor, original)
    return rotary_dim, positions, length
