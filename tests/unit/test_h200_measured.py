"""servecap's plan against real vLLM 0.24.0 on an H200 (benchmarks/gpu: Qwen3-4B's config.json,
dummy weights). These start-ups found Model Runner V2's sampler warm-up overestimated about 4x,
Hopper's non-torch memory underestimated and the weights' allocator rounding missing; the logs
are kept here so those stay fixed. One start-up printed vLLM's memory numbers in bytes
(benchmarks/gpu/h200/bytes-0.9.vllm.log, vLLM's format_gib patched to add them)."""

from __future__ import annotations

import re

import pytest

from helpers import FIXTURES, run_cli
from servecap import ServeConfig, make_plan

CONFIG = str(FIXTURES / "configs" / "qwen3-4b.json")


@pytest.mark.parametrize("log,utilization", [("u0.5", "0.5"), ("u0.9", "0.9")])
def test_the_plan_matches_the_h200_log(log, utilization):
    path = FIXTURES / "logs" / f"h200-qwen3-4b-v0.24-{log}.log"
    data = run_cli(
        "explain",
        str(path),
        "--gpu",
        "h200",
        "--vllm-version",
        "0.24.0",
        "--model",
        CONFIG,
        "--json",
    ).json()
    plan = data["prediction"]
    assert data["gpu_memory_utilization"] == float(utilization)
    # vLLM prints two decimals: the plan must round to the same activation and non-torch
    assert round(plan["activation_peak_gib"], 2) == data["activation_peak_gib"] == 0.95
    assert round(plan["non_torch_gib"], 2) == data["non_torch_gib"] == 0.22
    assert abs(plan["cudagraph_gib"] - data["cudagraph_gib"]) <= 0.02
    # "Model loading took 7.56 GiB": the allocator's block rounding, 54 MiB over the parameters
    assert round(plan["weights_gib"], 2) == data["weights_gib"] == 7.56
    assert round(plan["kv_cache_gib"], 2) == data["kv_cache_gib"]
    assert plan["kv_cache_tokens"] == data["kv_cache_tokens"]
    assert round(plan["max_concurrency"], 2) == data["max_concurrency"]


def _logged_bytes(text: str, label: str) -> int:
    match = re.search(re.escape(label) + r"[: ]+[\d.]+ \((\d+) bytes\)", text)
    assert match, label
    return int(match.group(1))


def test_the_plan_matches_vllms_bytes():
    text = (FIXTURES / "logs" / "h200-qwen3-4b-v0.24-u0.9-bytes.log").read_text()
    plan = make_plan(
        model=CONFIG,
        gpu="h200",
        vllm_version="0.24.0",
        config=ServeConfig(gpu_memory_utilization=0.9),
    )
    stage = plan.stage
    assert stage.weights_bytes == _logged_bytes(text, "Model loading took")
    assert stage.non_torch_bytes == _logged_bytes(text, "non-torch forward increase memory")
    # the sampler's logits in their allocator blocks; 340 KiB of small buffers are not modelled
    activation = _logged_bytes(text, "torch peak memory increase")
    assert 0 <= activation - stage.activation_bytes < 512 * 1024
    available = _logged_bytes(text, "Available KV cache memory")
    assert 0 <= stage.available_bytes - available < 512 * 1024
    assert "GPU KV cache size: 852,640 tokens" in text
    assert plan.kv_cache_tokens == 852_640


def test_the_refusal_is_vllms_to_the_character():
    logged = (FIXTURES / "logs" / "h200-qwen3-4b-v0.24-refusal.log").read_text()
    message = logged.split("ValueError: ", 1)[1].strip()
    plan = make_plan(
        model=CONFIG,
        gpu="h200",
        vllm_version="0.24.0",
        config=ServeConfig(gpu_memory_utilization=0.1, max_model_len=40960),
    )
    assert not plan.fits and plan.error == message
