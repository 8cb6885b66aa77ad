"""Read the mixture-of-experts facts of a config.json."""

from __future__ import annotations

from .fields import MAX_LAYERS, Fields
from .spec import MoE


def read_moe(cfg: Fields, model_type: str, n: int) -> MoE | None:
    """Experts, their sizes and the layers that have them; None for a dense model."""
    experts = cfg.first_int(
        "num_local_experts", "num_experts", "n_routed_experts", default=0, minimum=0
    )
    if experts <= 1:
        return None
    per_token = cfg.first_int(
        "num_experts_per_tok", "experts_per_token", "moe_topk", default=2, maximum=experts
    )
    inter = cfg.first_int(
        "moe_intermediate_size", "intermediate_size_moe", "intermediate_size", default=0, minimum=0
    )
    shared = 0
    if model_type == "llama4_text":
        shared = inter  # one shared expert of the routed experts' size
    elif (size := cfg.opt_int("shared_expert_intermediate_size")) is not None:
        shared = size
    elif (count := cfg.opt_int("n_shared_experts")) is not None:
        shared = count * inter
    first_dense = cfg.int_or("first_k_dense_replace", default=0, maximum=MAX_LAYERS)
    step = cfg.int_or("decoder_sparse_step", "moe_layer_freq", default=1)
    dense_only = set(cfg.int_list_or("mlp_only_layers"))
    if model_type == "minimax_m2":
        inter = cfg.int_or("intermediate_size", default=inter)
    if model_type == "llama4_text":
        step = cfg.int_or("interleave_moe_layer_step", default=1)
        layers = tuple(i for i in range(n) if (i + 1) % step == 0)
    else:
        layers = tuple(
            i for i in range(n) if i >= first_dense and (i + 1) % step == 0 and i not in dense_only
        )
    return MoE(
        num_experts=experts,
        experts_per_token=per_token,
        expert_intermediate_size=inter,
        shared_intermediate_size=shared,
        moe_layers=layers,
        expert_bias=model_type == "gpt_oss",
    )
