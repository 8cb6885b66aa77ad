"""servecap's plan against real vLLM 0.24.0 on an H200 (benchmarks/gpu: Qwen3-4B's config.json,
dummy weights). These start-ups found Model Runner V2's sampler warm-up overestimated about 4x
and Hopper's non-torch memory underestimated; the logs are kept here so those stay fixed."""

from __future__ import annotations

import pytest

from helpers import FIXTURES, run_cli

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
    assert abs(plan["kv_cache_gib"] - data["kv_cache_gib"]) < 0.01
    assert abs(plan["kv_cache_tokens"] / data["kv_cache_tokens"] - 1) < 0.0002
