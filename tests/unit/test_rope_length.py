"""The context vLLM derives from a config.json with rope scaling, release by release
(vllm/config/model.py, _get_and_verify_max_len)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from helpers import FIXTURES
from servecap import ServeConfig, get_gpu, parse_config, parse_version, plan
from servecap.models.resolve import catalogue

QWEN3 = json.loads((FIXTURES / "model_configs.json").read_text())["Qwen/Qwen3-8B"]


def _context(rope: dict[str, Any] | None, version: str, **changes: Any) -> int:
    cfg = {**copy.deepcopy(QWEN3), "rope_scaling": rope, **changes}
    spec = parse_config(cfg, "qwen3-scaled")
    return plan(spec, get_gpu("h200"), ServeConfig(), parse_version(version)).max_model_len


YARN = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}


def test_without_scaling_the_context_is_max_position_embeddings():
    assert _context(None, "0.24.0") == _context(None, "0.33.0") == 40960


def test_yarn_scaled_the_original_length_until_0_30():
    assert _context(YARN, "0.8.5") == _context(YARN, "0.29.0") == 4 * 32768
    assert _context(YARN, "0.30.0") == _context(YARN, "0.33.0") == 40960


@pytest.mark.parametrize("kind", ["linear", "dynamic"])
def test_linear_and_dynamic_scaling_multiply_the_length_in_every_release(kind):
    rope = {"rope_type": kind, "factor": 2.0}
    assert _context(rope, "0.8.5") == _context(rope, "0.33.0") == 2 * 40960


def test_types_that_keep_the_length_keep_it():
    for rope in ({"rope_type": "llama3", "factor": 8.0}, {"type": "longrope", "factor": 4.0}):
        assert _context(rope, "0.24.0") == 40960


def test_gemma3_is_never_scaled():
    gemma = catalogue()["google/gemma-3-4b-it"]["config"]
    assert gemma["text_config"]["rope_scaling"]["rope_type"] == "linear"
    spec = parse_config(gemma, "gemma")
    assert spec.rope_length is None
    result = plan(spec, get_gpu("h200"), ServeConfig(), parse_version("0.24.0"))
    assert result.max_model_len == spec.max_position_embeddings


def test_a_context_beyond_the_derived_one_is_refused_with_vllms_words():
    spec = parse_config({**copy.deepcopy(QWEN3), "rope_scaling": YARN}, "qwen3-scaled")
    config = ServeConfig(max_model_len=100_000)
    assert plan(spec, get_gpu("h200"), config, parse_version("0.29.0")).fits
    refused = plan(spec, get_gpu("h200"), config, parse_version("0.30.0"))
    assert not refused.fits and "40960" in (refused.error or "")
