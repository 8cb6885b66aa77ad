"""vLLM's refusal texts, version by version, including their quirks."""

from __future__ import annotations

import pytest

from servecap import ServeConfig, parse_version
from servecap.units import GiB
from servecap.vllm import messages

NEED = int(5.625 * GiB)
HAVE = int(2.39 * GiB)


def text(version: str, estimate: int = 17_392) -> str:
    return messages.max_len_error(parse_version(version), 40_960, NEED, HAVE, estimate)


def test_0_8_0_says_gb_and_has_no_estimate():
    assert text("0.8.0") == (
        "To serve at least one request with the models's max seq len (40960), (5.62 GB KV cache "
        "is needed, which is larger than the available KV cache memory (2.39 GB). Try increasing "
        "`gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
    )


def test_0_8_5_loses_the_estimate_and_keeps_a_double_space():
    assert "(2.39 GiB). Based on the available memory,  Try increasing" in text("0.8.5")
    assert "(2.39 GiB).  Try increasing" in text("0.8.5", estimate=0)


def test_0_9_to_0_13_print_two_decimals_and_the_estimate():
    t = text("0.10.2")
    assert (
        "(2.39 GiB). Based on the available memory, the estimated maximum model length is "
        "17392. Try increasing" in t
    )
    assert "docs.vllm.ai" not in t
    assert text("0.13.0").endswith("configuration/conserving_memory/ for more details.")


def test_0_14_uses_format_gib_and_a_single_space_without_estimate():
    t = messages.max_len_error(parse_version("0.14.0"), 40_960, NEED, int(2.4 * GiB), 0)
    assert "memory (2.4 GiB). Try increasing" in t


@pytest.mark.parametrize("version,typo", [("0.20.2", True), ("0.22.0", False), ("0.33.0", False)])
def test_models_typo_is_fixed_in_0_22(version: str, typo: bool):
    t = text(version)
    assert ("models's" in t) is typo
    if not typo:
        assert "(which also controls CPU memory on the CPU backend)" in t


def test_no_memory_text():
    assert messages.no_memory_error(parse_version("0.11.0")) == (
        "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` "
        "when initializing the engine."
    )
    assert "despite its name" in messages.no_memory_error(parse_version("0.24.0"))


def test_format_gib_drops_trailing_zeros_from_0_14():
    assert messages.format_gib(parse_version("0.13.0"), 2.4 * GiB) == "2.40"
    assert messages.format_gib(parse_version("0.14.0"), 2.4 * GiB) == "2.4"


def test_a_context_beyond_the_config_is_refused_like_vllm_does():
    from servecap import make_plan

    result = make_plan(
        model="Qwen/Qwen3-4B",
        gpu="h100-sxm",
        vllm_version="0.32.0",
        config=ServeConfig(max_model_len=50_000),
    )
    assert not result.fits
    assert result.error.startswith(
        "User-specified max_model_len (50000) is greater than the derived max_model_len "
        "(max_position_embeddings=40960.0 or model_max_length=None in model's config.json). "
        "To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1."
    )
    older = make_plan(
        model="Qwen/Qwen3-4B",
        gpu="h100-sxm",
        vllm_version="0.9.2",
        config=ServeConfig(max_model_len=50_000),
    )
    assert older.error.endswith("set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1")
    assert "(max_position_embeddings=40960 or" in older.error
