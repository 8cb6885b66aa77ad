"""KV-cache layouts of hybrid, MLA and linear-attention models (vllm/v1/kv_cache_interface.py).

Each case gives vLLM a fixed KV budget, so only the grouping, block and token arithmetic
is under test: the numbers are vLLM's, computed with its formulas from the real configs.
"""

from __future__ import annotations

import pytest

from servecap import ServeConfig, make_plan
from servecap.units import GiB


def kv_plan(model: str, version: str, max_len: int, kv_gib: float, **settings):
    return make_plan(
        model=model,
        gpu="h100-sxm",
        vllm_version=version,
        config=ServeConfig.from_values(
            dict(
                max_model_len=max_len,
                kv_cache_memory_bytes=int(kv_gib * GiB),
                max_num_batched_tokens=8192,
                **settings,
            )
        ),
    )


@pytest.mark.parametrize(
    "model,version,max_len,kv_gib,extra,tokens,concurrency",
    [
        # Gemma-3-27B: 10 global + 52 sliding layers -> 7 groups of 10 sharing one block pool
        ("google/gemma-3-27b-it", "0.22.0", 131_072, 40, {}, 368_540, "2.81"),
        ("google/gemma-3-27b-it", "0.19.0", 131_072, 40, {}, 74_896, "2.81"),
        # without the hybrid manager every layer stores every token: the context no longer fits
        (
            "google/gemma-3-27b-it",
            "0.22.0",
            131_072,
            40,
            {"disable_hybrid_kv_cache_manager": True},
            84_560,
            "0.65",
        ),
        # gpt-oss-120b: 18 full + 18 sliding (window 128) layers
        ("openai/gpt-oss-120b", "0.22.0", 131_072, 40, {}, 1_095_405, "8.36"),
        ("openai/gpt-oss-120b", "0.19.0", 131_072, 40, {}, 582_528, "8.36"),
        # Qwen3-Next: 12 attention + 36 gated-delta-net layers; attention block raised to 544
        ("Qwen/Qwen3-Next-80B-A3B-Instruct", "0.22.0", 262_144, 40, {}, 1_736_095, "6.62"),
        ("Qwen/Qwen3-Next-80B-A3B-Instruct", "0.19.0", 262_144, 40, {}, 436_832, "6.62"),
        # DeepSeek-V3 MLA: one 576-wide latent per token, FlashMLA blocks of 64 on Hopper
        ("deepseek-ai/DeepSeek-V3", "0.22.0", 163_840, 20, {}, 305_536, "1.86"),
        (
            "deepseek-ai/DeepSeek-V3",
            "0.22.0",
            163_840,
            20,
            {"kv_cache_dtype": "fp8"},
            611_136,
            "3.73",
        ),
    ],
)
def test_worked_examples(model, version, max_len, kv_gib, extra, tokens, concurrency):
    result = kv_plan(model, version, max_len, kv_gib, **extra)
    assert result.kv_cache_tokens == tokens
    assert f"{result.max_concurrency:.2f}" == concurrency


def test_qwen3_next_uses_544_token_blocks():
    result = kv_plan("Qwen/Qwen3-Next-80B-A3B-Instruct", "0.22.0", 262_144, 40)
    assert result.block_size == 544
    assert result.num_blocks == 3_212


def test_mla_kv_does_not_shrink_with_tensor_parallelism():
    one = kv_plan("deepseek-ai/DeepSeek-V3", "0.22.0", 163_840, 20)
    eight = kv_plan("deepseek-ai/DeepSeek-V3", "0.22.0", 163_840, 20, tensor_parallel_size=8)
    assert one.kv_bytes_per_token == eight.kv_bytes_per_token == 61 * 576 * 2


def test_kv_heads_are_replicated_beyond_their_count():
    # Qwen3-235B has 4 KV heads: TP 8 keeps one per GPU, so per-GPU KV stops halving at TP 4
    four = kv_plan("Qwen/Qwen3-235B-A22B", "0.22.0", 40_960, 10, tensor_parallel_size=4)
    eight = kv_plan("Qwen/Qwen3-235B-A22B", "0.22.0", 40_960, 10, tensor_parallel_size=8)
    assert four.kv_bytes_per_token == eight.kv_bytes_per_token == 94 * 2 * 1 * 128 * 2


def test_pipeline_stages_hold_their_share_of_layers():
    result = kv_plan(
        "meta-llama/Llama-3.1-8B-Instruct", "0.19.0", 8192, 60, pipeline_parallel_size=2
    )
    assert [len(s.layout.layer_specs) for s in result.stages] == [16, 16]
    assert result.kv_bytes_per_token == 16 * 2 * 8 * 128 * 2
