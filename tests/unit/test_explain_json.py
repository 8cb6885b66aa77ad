"""`servecap explain`: plan --json's keys, the log's command as argv, and disagreements named."""

# ruff: noqa: E501 - verbatim vLLM log lines

from __future__ import annotations

from helpers import run_cli
from servecap.explanation import explain

# vLLM's own extras, kept beside plan --json's keys
EXPLAIN_ONLY = {"engine", "kv_cache_gib_per_rank", "prediction"}

TP2 = """\
(APIServer pid=7) INFO 10-01 12:00:00 [api_server.py:1885] vLLM API server version 0.11.0
(APIServer pid=7) INFO 10-01 12:00:00 [utils.py:233] non-default args: {'model': 'Qwen/Qwen3-32B', 'max_model_len': 16000, 'tensor_parallel_size': 2, 'enforce_eager': True, 'api_key': ['sekrit'], 'enable_prefix_caching': False}
(Worker_TP0 pid=21) INFO 10-01 12:00:40 [gpu_model_runner.py:2653] Model loading took 30.5900 GiB memory and 20.1 seconds
(Worker_TP0 pid=21) INFO 10-01 12:01:00 [gpu_worker.py:298] Available KV cache memory: 34.52 GiB
(EngineCore_DP0 pid=11) INFO 10-01 12:01:01 [kv_cache_utils.py:1087] GPU KV cache size: 282,576 tokens
"""

REFUSAL = """\
INFO 06-01 10:00:00 [api_server.py:1287] vLLM API server version 0.9.2
INFO 06-01 10:00:09 [gpu_model_runner.py:1595] Model loading took 7.5520 GiB and 3.1 seconds
INFO 06-01 10:00:15 [gpu_worker.py:232] Available KV cache memory: 2.39 GiB
ValueError: To serve at least one request with the models's max seq len (40960), (5.62 GiB KV cache is needed, which is larger than the available KV cache memory (2.39 GiB). Based on the available memory, the estimated maximum model length is 17392.
"""

# started on an 8 GiB card at 0.9, where 7.55 GiB of weights leave no room by servecap's plan
STARTED_ON_8GIB = """\
(EngineCore_DP0 pid=11) INFO 10-01 12:00:05 [core.py:77] Initializing a V1 LLM engine (v0.11.0) with config: model='Qwen/Qwen3-4B', speculative_config=None
(EngineCore_DP0 pid=11) INFO 10-01 12:00:06 [gpu_worker.py:250] Free memory on device (7.9/8.0 GiB) on startup. Desired GPU memory utilization is (0.9, 7.2 GiB).
(EngineCore_DP0 pid=11) INFO 10-01 12:00:40 [gpu_model_runner.py:2653] Model loading took 7.5500 GiB memory and 4.1 seconds
(EngineCore_DP0 pid=11) INFO 10-01 12:01:00 [gpu_worker.py:298] Available KV cache memory: 0.10 GiB
(EngineCore_DP0 pid=11) INFO 10-01 12:01:01 [kv_cache_utils.py:1087] GPU KV cache size: 720 tokens
"""


def test_explain_json_has_plan_json_keys_in_order_plus_its_own():
    plan = run_cli("plan", "Qwen/Qwen3-32B", "--gpu", "h100-sxm", "-tp", "2", "--json").json()
    explained = run_cli(
        "explain", "-", "--gpu", "h100-sxm", "--vllm-version", "0.11.0", "--json", stdin=TP2
    ).json()
    assert list(explained)[: len(plan)] == list(plan)
    assert set(explained) - set(plan) == EXPLAIN_ONLY
    assert explained["prediction"]["model"] == "Qwen/Qwen3-32B"


def test_explain_json_takes_settings_from_the_log_and_is_null_where_it_is_silent():
    data = explain(TP2).to_dict()
    assert data["tensor_parallel_size"] == 2 and data["max_model_len"] == 16_000
    assert data["device"] == "cuda"  # the log's "GPU", in plan --json's words
    for key in (
        "pipeline_parallel_size",
        "max_num_seqs",
        "max_num_batched_tokens",
        "other_gib",
        "cudagraph_in_budget",
        "smallest_setup",
        "kv_bytes_per_token",
    ):
        assert data[key] is None, key


def test_vllm_args_is_the_logged_command_as_a_list_with_the_key_masked():
    assert explain(TP2).to_dict()["vllm_args"] == [
        "vllm",
        "serve",
        "Qwen/Qwen3-32B",
        "--max-model-len",
        "16000",
        "--tensor-parallel-size",
        "2",
        "--enforce-eager",
        "--api-key",
        "***",
    ]
    assert explain(REFUSAL).to_dict()["vllm_args"] is None  # no args line


def test_explain_says_when_vllm_refused_but_the_plan_fits():
    result = run_cli("explain", "-", "--model", "Qwen/Qwen3-4B", "--gpu", "rtx-4090", stdin=REFUSAL)
    assert result.code == 0, result.stderr
    sentence = "vLLM refused to start, but servecap's plan says these settings fit"
    table_end = result.stdout.index("maximum concurrency")
    assert result.stdout.index(sentence) > table_end
    assert result.stdout.index(sentence) < result.stdout.index("vLLM refused to start:")
    data = explain(REFUSAL, model="Qwen/Qwen3-4B", gpu="rtx-4090").to_dict()
    assert data["fits"] is False and data["prediction"]["fits"] is True
    assert sentence in data["notes"]


def test_explain_says_when_vllm_started_but_the_plan_refuses():
    ex = explain(STARTED_ON_8GIB)
    assert ex.plan is not None and ex.plan.model.name == "Qwen/Qwen3-4B"  # from the config line
    assert ex.log.fits is True and ex.plan.fits is False
    assert ex.mismatch == "vLLM started, but servecap's plan predicted a refusal for these settings"
    result = run_cli("explain", "-", stdin=STARTED_ON_8GIB)
    assert ex.mismatch in result.stdout


def test_no_disagreement_when_log_and_plan_agree():
    agreeing = explain(TP2, gpu="h100-sxm")
    assert agreeing.plan is not None and agreeing.plan.fits is True
    assert agreeing.mismatch is None and agreeing.to_dict()["notes"] == []
