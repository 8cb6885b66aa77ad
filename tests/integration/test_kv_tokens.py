"""`servecap plan --device cpu` predicts what real vLLM logs, to the token; explain agrees."""

from __future__ import annotations

import pytest

from helpers import run_cli
from servecap.explanation import explain
from servecap.vllm.logparse import parse_log
from vllm_servers import DTYPE_ARGS, LLAMA, QWEN3, SLIDING

SHAPES = [SLIDING, LLAMA, QWEN3]


@pytest.mark.parametrize("config", SHAPES, ids=[c.name for c in SHAPES])
def test_plan_predicts_the_cpu_kv_cache_size_to_the_token(vllm_server, vllm_install, config):
    server = vllm_server(config)
    logged = parse_log(server.server.log_text())
    assert logged.device == "CPU"
    assert logged.kv_cache_tokens is not None and logged.max_concurrency is not None
    predicted = run_cli(
        "plan",
        server.model,
        "--device",
        "cpu",
        "--kv-cache-space-gib",
        str(config.kv_cache_space_gib),
        "--max-model-len",
        str(config.max_model_len),
        "--vllm-version",
        vllm_install.version,
        *DTYPE_ARGS,
        "--json",
    ).json()
    assert predicted["kv_cache_tokens"] == logged.kv_cache_tokens
    assert f"{predicted['max_concurrency']:.2f}" == f"{logged.max_concurrency:.2f}"
    assert predicted["kv_cache_gib"] == logged.kv_cache_gib


@pytest.mark.parametrize("config", SHAPES, ids=[c.name for c in SHAPES])
def test_explain_on_the_real_log_agrees_with_the_plan(vllm_server, config):
    server = vllm_server(config)
    result = explain(server.server.log_text())
    assert result.plan is not None, result.notes
    assert result.log.vllm_version is not None
    assert result.plan.kv_cache_tokens == result.log.kv_cache_tokens
    cli = run_cli("explain", str(server.log_path), "--json").json()
    assert cli["kv_cache_tokens"] == cli["prediction"]["kv_cache_tokens"]
    assert cli["weights_gib"] is None  # the CPU backend does not log a weights line


def test_sliding_window_layers_are_grouped_not_promoted(vllm_server):
    # 2 sliding + 2 full layers: a request holds 16 full + 17 sliding blocks, not 32
    server = vllm_server(SLIDING)
    logged = parse_log(server.server.log_text())
    blocks = 16_384 if not DTYPE_ARGS else 8_192  # 1 GiB of bf16 (or float32) KV blocks
    assert logged.max_concurrency == pytest.approx(blocks / 33, abs=0.01)
