"""--num-gpu-blocks-override also sets the memory vLLM's start-up check uses (0.29 and later)."""

from __future__ import annotations

from servecap import ServeConfig, make_plan
from servecap.tinymodel import TinyModel, write_tiny_model

# vLLM 0.32.0 (CPU build) refused the tiny Qwen3 model with 16 blocks of 128 tokens like this:
LOGGED = (
    "To serve at least one request with the model's max seq len (4096), (0.0 GiB KV cache is "
    "needed, which is larger than the available KV cache memory (0.0 GiB). Based on the "
    "available memory, the estimated maximum model length is 1920. Try increasing "
    "`gpu_memory_utilization` (which also controls CPU memory on the CPU backend) or "
    "decreasing `max_model_len` when initializing the engine. See "
    "https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details."
)


def _plan(tmp_path, max_model_len: int):
    model = write_tiny_model(tmp_path / "tiny", TinyModel())
    settings = {
        "device": "cpu",
        "kv_cache_space_gib": 1,
        "max_model_len": max_model_len,
        "num_gpu_blocks_override": 16,
    }
    return make_plan(
        model=str(model), vllm_version="0.32.0", config=ServeConfig.from_values(settings)
    )


def test_override_smaller_than_one_request_is_refused_as_vllm_does(tmp_path):
    result = _plan(tmp_path, 4096)
    assert not result.fits
    assert result.error == LOGGED
    assert result.estimated_max_model_len == 1920


def test_override_that_holds_a_request_fits(tmp_path):
    result = _plan(tmp_path, 1920)
    assert result.fits and result.num_blocks == 16 and result.kv_cache_tokens == 2048


def test_before_0_21_the_check_used_the_profiled_memory(tmp_path):
    model = write_tiny_model(tmp_path / "tiny", TinyModel())
    settings = {
        "device": "cpu",
        "kv_cache_space_gib": 1,
        "max_model_len": 4096,
        "num_gpu_blocks_override": 16,
    }
    result = make_plan(
        model=str(model), vllm_version="0.20.0", config=ServeConfig.from_values(settings)
    )
    assert result.fits and result.num_blocks == 16
