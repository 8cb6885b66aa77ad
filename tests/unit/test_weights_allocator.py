"""vLLM's "Model loading took" counts each weight as the block PyTorch's caching allocator gave
it: from 10 MiB a tensor's segment is rounded up to 2 MiB, and a rest of 1 MiB or less stays
with it. The byte totals are what a plain-torch replay of vLLM's allocation order measured on
an H200 (torch 2.11) the way DeviceMemoryProfiler measures."""

from __future__ import annotations

import pytest

from helpers import FIXTURES
from servecap import load_model
from servecap.memory.weights import Parallel, allocated_bytes, rope_cache_bytes, weight_bytes
from servecap.units import GiB, MiB


@pytest.mark.parametrize(
    "nbytes,block",
    [
        (256, 512),
        (5_120, 5_120),
        (8 * MiB, 8 * MiB),  # cut from a shared 20 MiB segment
        (30 * MiB, 30 * MiB),
        (49 * MiB // 2, 49 * MiB // 2),  # the 1.5 MiB rest is split off
        (95 * MiB // 2, 48 * MiB),
        (95 * MiB, 96 * MiB),  # a rest of exactly 1 MiB stays
        (125 * MiB, 126 * MiB),
    ],
)
def test_allocated_block(nbytes, block):
    assert allocated_bytes(nbytes) == block


def test_qwen3_4b_weights_byte_for_byte():
    model = load_model(str(FIXTURES / "configs" / "qwen3-4b.json"))
    params = 4_022_468_096 * 2
    rope = 40_960 * 128 * 2
    # each layer's gate_up_proj 95 -> 96 MiB and down_proj 47.5 -> 48; embed_tokens 741.875 -> 742
    padding = 36 * 3 * MiB // 2 + MiB // 8
    # 4 KV-scale scalars of 512 bytes per layer; q_norm and k_norm 256 -> 512 bytes
    small = 36 * (4 * 512 + 2 * 256)
    assert rope_cache_bytes(model, "bfloat16") == rope
    assert weight_bytes(model, Parallel()) == params + rope + padding + small == 8_112_268_288


@pytest.mark.parametrize(
    "model,tp,logged,digits",
    [
        ("Qwen/Qwen3-4B", 1, 7.56, 2),  # H200, 0.24.0, dummy weights (benchmarks/gpu)
        ("Qwen/Qwen2-7B-Instruct", 1, 14.2488, 3),  # A100, 0.10.1.1 (dennislee22)
        ("Qwen/Qwen2-7B-Instruct", 2, 7.1217, 3),
        ("Qwen/Qwen3-32B", 2, 30.59, 2),  # H100, 0.11 (llm-d)
        ("meta-llama/Llama-3.1-8B-Instruct", 1, 14.9888, 4),  # no tensor is padded
    ],
)
def test_weights_match_model_loading_took(model, tp, logged, digits):
    # older Attention layers also keep q/k/v_range on the GPU, 1.5 KiB a layer not counted here
    assert round(weight_bytes(load_model(model), Parallel(tp=tp)) / GiB, digits) == round(
        logged, digits
    )
