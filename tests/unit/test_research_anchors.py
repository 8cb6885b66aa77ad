"""Public start-up logs with every budget term printed (llm-d H100 logs).

vLLM 0.11 on an H100 (79.18 GiB), max-model-len 16,000; each row is W, A and KV as logged.
"""

from __future__ import annotations

import pytest

from servecap import ServeConfig, make_plan
from servecap.units import GiB

ANCHORS = [
    # model, TP, utilization, weights, activation peak, KV cache (GiB, as vLLM logged them)
    ("meta-llama/Llama-3.1-8B-Instruct", 1, 0.9, 14.99, 4.76, 51.38),
    ("Qwen/Qwen3-0.6B", 1, 0.9, 1.12, 5.56, 64.45),
    ("Qwen/Qwen3-32B", 1, 0.9, 61.03, 5.64, 4.45),
    ("Qwen/Qwen3-32B", 2, 0.9, 30.59, 5.64, 34.49),
    ("openai/gpt-oss-20b", 1, 0.9, 13.47, 7.38, 50.28),
    ("openai/gpt-oss-120b", 1, 0.95, 64.38, 7.38, 3.33),
    ("RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic", 2, 0.9, 33.88, 4.84, 32.00),
    ("RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic", 1, 0.9, 67.72, 4.84, -1.44),
]


def _plan(model: str, tp: int, utilization: float):
    return make_plan(
        model=model,
        gpu="h100-sxm",
        vllm_version="0.11.0",
        config=ServeConfig.from_values(
            dict(gpu_memory_utilization=utilization, max_model_len=16_000, tensor_parallel_size=tp)
        ),
    )


@pytest.mark.parametrize(
    "model,tp,u,weights,activation,kv", ANCHORS, ids=[f"{a[0]}-tp{a[1]}" for a in ANCHORS]
)
def test_each_budget_term_matches_the_log(model, tp, u, weights, activation, kv):
    s = _plan(model, tp, u).stage
    assert s.weights_bytes / GiB == pytest.approx(weights, rel=0.01)
    assert s.activation_bytes / GiB == pytest.approx(activation, abs=0.02)
    assert s.available_bytes / GiB == pytest.approx(kv, abs=0.2)


def test_a_70b_fp8_model_does_not_fit_one_h100_with_vllms_words():
    result = _plan("RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic", 1, 0.9)
    assert not result.fits
    assert result.error is not None
    assert result.error.startswith("No available memory for the cache blocks.")


def test_activation_is_independent_of_model_size_but_not_of_the_gpu_class():
    # The sampler warm-up over max_num_seqs x vocab dominates: 1024 rows on an H100, 256 on
    # a 24 GB card, the same for a 0.6B and a 32B model of one vocabulary.
    small = _plan("Qwen/Qwen3-0.6B", 1, 0.9).stage.activation_bytes
    large = _plan("Qwen/Qwen3-32B", 1, 0.9).stage.activation_bytes
    assert abs(small - large) / large < 0.02
    consumer = make_plan(
        model="Qwen/Qwen3-32B",
        gpu="rtx-4090",
        vllm_version="0.11.0",
        config=ServeConfig(max_model_len=1000, tensor_parallel_size=4),
    )
    assert consumer.stage.activation_bytes < large / 3


def test_llama_8b_on_a_4090_gives_the_logged_2588_blocks():
    # LLMServingSim PR #59: 2,588 blocks = 41,408 tokens at u 0.9, 256 seqs, 2,048 tokens (mid-2025)
    result = make_plan(
        model="meta-llama/Llama-3.1-8B-Instruct",
        gpu="rtx-4090",
        vllm_version="0.10.2",
        config=ServeConfig(gpu_memory_utilization=0.9, max_model_len=8192),
    )
    assert result.num_blocks == pytest.approx(2_588, abs=10)


def test_gemma3_weights_include_both_rope_tables():
    # PR #21489 log on a 178 GiB GPU: "8.58 GiB for weight"; the two RoPE caches are 0.56 GiB
    result = make_plan(
        model="google/gemma-3-4b-it",
        gpu="b200",
        vllm_version="0.10.2",
        config=ServeConfig(gpu_memory_utilization=0.9),
    )
    assert result.stage.weights_bytes / GiB == pytest.approx(8.58, abs=0.03)


def test_fp8_kv_30b_moe_refusal_numbers():
    # issue #25350: 48 layers x 4 KV heads x 128 x 2 x 1 byte = 49,152 B/token with fp8 KV;
    # at max-model-len 221,000 vLLM needed 10.12 GiB and estimated 122,080 tokens
    block = 16 * 49_152
    result = make_plan(
        model="Qwen/Qwen3-30B-A3B-Instruct-2507",
        gpu="h100-sxm",
        vllm_version="0.11.0",
        config=ServeConfig(
            max_model_len=221_000, kv_cache_dtype="fp8", kv_cache_memory_bytes=int(7_630.5 * block)
        ),
    )
    assert result.kv_bytes_per_token == 49_152
    assert "(10.12 GiB KV cache is needed" in result.error
    assert result.estimated_max_model_len == 122_080
    fits = make_plan(
        model="Qwen/Qwen3-30B-A3B-Instruct-2507",
        gpu="h100-sxm",
        vllm_version="0.11.0",
        config=ServeConfig(
            max_model_len=100_000, kv_cache_dtype="fp8", kv_cache_memory_bytes=int(14_408.5 * block)
        ),
    )
    # 14,408 blocks is 10.55 GiB as the log prints it
    assert f"{fits.available_bytes / GiB:.2f}" == "10.55"
    assert fits.kv_cache_tokens == 230_528
    assert f"{fits.max_concurrency:.2f}" == "2.31"
