"""The seed's hand calculation for Qwen3-4B, pinned to the byte and the block."""

from __future__ import annotations

from helpers import FIXTURES
from servecap import ServeConfig, get_gpu, load_model, parse_version, plan
from servecap.memory import kv
from servecap.units import GiB
from servecap.vllm import messages

QWEN3_4B = str(FIXTURES / "configs" / "qwen3-4b.json")


def _layout(version: str = "0.11.0") -> kv.KVLayout:
    model = load_model(QWEN3_4B)
    v = parse_version(version)
    specs = kv.layer_specs(model, range(model.num_layers), 1, 2, 2, v, True)
    return kv.layout(specs, 16, v, 2048)


def test_kv_bytes_per_token_uses_kv_heads_times_head_dim():
    # 36 layers x 2 (K and V) x 8 KV heads x 128 head_dim x 2 bytes; d_model would give 80 dims
    assert _layout().kv_bytes_per_token == 147_456


def test_full_context_needs_5_62_gib():
    needed = _layout().needed_bytes(40_960, over_groups=False)
    assert needed == 6_039_797_760
    assert messages.format_gib(parse_version("0.8.5"), needed) == "5.62"


def test_17440_tokens_are_1090_blocks():
    lay = _layout()
    assert lay.bytes_per_block == 16 * 147_456
    # 1,090 blocks need 2.39502 GiB; the next block would need 2.39722 GiB
    assert (1_090 * lay.bytes_per_block) // lay.bytes_per_block * 16 == 17_440
    available = int(2.396 * GiB)
    assert available // lay.bytes_per_block == 1_090


def test_seed_refusal_text_matches_vllm():
    gpu = get_gpu("rtx-4090")
    model = load_model(QWEN3_4B)
    config = ServeConfig(
        gpu_memory_utilization=0.5, max_model_len=40_960, kv_cache_memory_bytes=int(2.39 * GiB)
    )
    result = plan(model, gpu, config, parse_version("0.9.2"))
    assert not result.fits
    assert result.error == (
        "To serve at least one request with the models's max seq len (40960), (5.62 GiB KV "
        "cache is needed, which is larger than the available KV cache memory (2.39 GiB). "
        "Based on the available memory, the estimated maximum model length is 17392. "
        "Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
        "initializing the engine."
    )
    # vllm/v1/core/kv_cache_utils.py: the estimate is 16 * floor(available / 2.25 MiB)
    assert result.estimated_max_model_len == 16 * (int(2.39 * GiB) // (16 * 147_456))


def test_seed_kv_cache_tokens_and_concurrency_from_the_logged_budget():
    gpu = get_gpu("rtx-4090")
    model = load_model(QWEN3_4B)
    config = ServeConfig(
        gpu_memory_utilization=0.5, max_model_len=10_000, kv_cache_memory_bytes=int(2.396 * GiB)
    )
    for version in ("0.8.5", "0.10.2", "0.24.0", "0.33.0"):
        result = plan(model, gpu, config, parse_version(version))
        assert result.fits
        assert result.num_blocks == 1_090
        assert result.kv_cache_tokens == 17_440
        assert f"{result.max_concurrency:.2f}" == "1.74"
