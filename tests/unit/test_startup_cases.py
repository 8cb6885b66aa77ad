"""Real vLLM start-up logs: servecap must predict their KV-cache size.

Fixtures: vllm_startup_cases.json (shared/fixtures, real log lines with the values they state)
and kv_anchors.json (81 logged KV budget -> token pairs from the same study).
"""

from __future__ import annotations

import json

import pytest
from startup_cases import check_case, load_cases

from helpers import FIXTURES
from servecap import ServeConfig, get_gpu, parse_config, parse_version, plan
from servecap.models.resolve import catalogue_entry
from servecap.units import GiB

CASES = load_cases(FIXTURES / "vllm_startup_cases.json", FIXTURES / "startup_case_facts.json")
ANCHORS = json.loads((FIXTURES / "kv_anchors.json").read_text())["anchors"]
MODEL_CONFIGS = json.loads((FIXTURES / "model_configs.json").read_text())


# Cases whose log states every input the plan needs (version, GPU, model, flags).
KNOWN = [c for c in CASES if check_case(c).known]


@pytest.mark.parametrize("case", KNOWN, ids=[c["id"] for c in KNOWN])
def test_cases_with_every_input_stated_predict_kv_tokens_within_1_percent(case):
    result = check_case(case)
    assert result.plan is not None and result.logged_tokens
    assert abs(result.token_error) <= 0.01, (result.predicted_tokens, result.logged_tokens)


def test_at_least_five_cases_are_fully_predicted():
    assert len(KNOWN) >= 5


# The budget these logs print is one rank's while the token count is the minimum over ranks
# (pipeline stages of unknown split; an LMCache run on 4 GPUs), so they cannot pin geometry.
PER_RANK = ("pr20665-deepseek-v2-lite-4xL4", "issue21348-qwen3-235b-a22b-fp8-4xh100")
KV_CASES = [
    c
    for c in CASES
    if c.get("available_kv_gib") is not None
    and c.get("kv_cache_tokens")
    and check_case(c).plan is not None
    and c["id"] not in PER_RANK
]


@pytest.mark.parametrize("case", KV_CASES, ids=[c["id"] for c in KV_CASES])
def test_logged_kv_budget_gives_logged_tokens(case):
    result = check_case(case, kv_from_log=True, assume_version="0.11.0")
    assert abs(result.token_error) <= 0.01


def _anchor_tokens(row):
    entry = catalogue_entry(row["config"])
    raw = entry[1]["config"] if entry else MODEL_CONFIGS[row["config"]]
    config = ServeConfig(
        tensor_parallel_size=row["tensor_parallel_size"],
        pipeline_parallel_size=row["pipeline_parallel_size"],
        kv_cache_dtype=row["kv_cache_dtype"],
        dtype=row["dtype"],
        max_model_len=row["max_model_len"],
        kv_cache_memory_bytes=int(row["available_kv_gib"] * GiB),
    )
    version = parse_version(row["vllm_version"] or "0.19.0")
    return plan(parse_config(raw, row["config"]), get_gpu("h100-sxm"), config, version)


USABLE = [r for r in ANCHORS if not r["skip"]]


@pytest.mark.parametrize("row", USABLE, ids=[r["case"] for r in USABLE])
def test_kv_anchor(row):
    predicted = _anchor_tokens(row).kv_cache_tokens
    # the budget is logged to 0.01 GiB, so the token count is known to about 0.02%
    assert predicted == pytest.approx(row["kv_cache_tokens"], rel=0.002)


def test_fp8_kv_cache_doubles_the_tokens():
    bf16 = next(
        r
        for r in ANCHORS
        if r["case"].endswith("8192-dtbf16") and r["config"].startswith("meta-llama/Llama-3.1")
    )
    fp8 = next(
        r
        for r in ANCHORS
        if r["case"].endswith("dtbf16-kvfp8") and r["config"].startswith("meta-llama/Llama-3.1")
    )
    assert _anchor_tokens(fp8).kv_bytes_per_token * 2 == _anchor_tokens(bf16).kv_bytes_per_token
