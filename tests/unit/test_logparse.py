"""The start-up log parser: fixture cases to the exact value, every version's line format."""

from __future__ import annotations

import pytest
from startup_cases import load_cases

from helpers import FIXTURES, run_cli
from servecap.vllm.logparse import parse_log

CASES = [c for c in load_cases(FIXTURES / "vllm_startup_cases.json") if c.get("raw_log_lines")]

# fixture key -> parser attribute
FIELDS = {
    "weights_gib": "weights_gib",
    "available_kv_gib": "kv_cache_gib",
    "kv_cache_tokens": "kv_cache_tokens",
    "max_concurrency": "max_concurrency",
    "max_concurrency_at_len": "concurrency_len",
    "cudagraph_gib": "cudagraph_gib",
    "peak_activation_gib": "activation_peak_gib",
    "non_torch_gib": "non_torch_gib",
    "gpu_blocks": "num_blocks",
    "gpu_total_mem_gib": "gpu_total_gib",
    "max_model_len": "max_model_len",
    "gpu_memory_utilization": "gpu_memory_utilization",
    "max_num_batched_tokens": "max_num_batched_tokens",
}
# Values these fixtures took from prose or summaries around the log, not from vLLM's lines.
LLMD_SUMMARY = {
    "peak_activation_gib",
    "non_torch_gib",
    "cudagraph_gib",
    "gpu_total_mem_gib",
    "gpu_memory_utilization",
    "max_model_len",
}  # llm-d's table, not its log lines
NOT_IN_LOG_LINES = {
    "llmdbench-gpt-oss-20b-h100-tp1-16000": LLMD_SUMMARY,
    "llmdbench-llama-3.3-70b-fp8dyn-h100-tp1-16000-FAIL": LLMD_SUMMARY,
    "llmdbench-llama-3.1-8b-h100-tp1-16000": LLMD_SUMMARY,
    "llmdbench-qwen3-0.6b-h100-tp1-16000": LLMD_SUMMARY,
    "rtx4080-qwen2.5-7b-awq-32k": {
        "weights_gib",
        "peak_activation_gib",
        "non_torch_gib",
        "cudagraph_gib",
        "gpu_total_mem_gib",
    },
    "homelab-qwen3-vl-4b-fp8-u0.15-8192": set(FIELDS),
    "issue21348-qwen3-235b-a22b-fp8-4xh100": {"gpu_memory_utilization"},
    "pr20665-deepseek-v2-lite-4xL4": {"available_kv_gib"},  # the fixture keeps rank 0's value
}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_fixture_case_parses_to_its_stated_values(case):
    log = parse_log("\n".join(case["raw_log_lines"]))
    skip = NOT_IN_LOG_LINES.get(case["id"], set())
    checked = 0
    for key, attribute in FIELDS.items():
        expected = case.get(key)
        if expected is None or key in skip:
            continue
        assert getattr(log, attribute) == expected, (key, getattr(log, attribute), expected)
        checked += 1
    assert checked or case["id"] in NOT_IN_LOG_LINES
    if case.get("outcome") == "error":
        assert log.fits is False and log.error
    if (case.get("tensor_parallel_size") or 1) > 1 and "non-default" in " ".join(
        case["raw_log_lines"]
    ):
        assert log.args["tensor_parallel_size"] == case["tensor_parallel_size"]


def test_multi_rank_log_takes_the_minimum_budget():
    case = next(c for c in CASES if c["id"] == "pr20665-deepseek-v2-lite-4xL4")
    log = parse_log("\n".join(case["raw_log_lines"]))
    assert log.kv_cache_gib == 11.33
    assert log.kv_cache_gib_per_rank["VllmWorker rank=0"] == case["available_kv_gib"] == 12.13


V0_8_1 = """\
INFO 04-02 10:00:00 [__init__.py:239] Automatically detected platform cuda.
INFO 04-02 10:00:01 [api_server.py:981] vLLM API server version 0.8.1
INFO 04-02 10:00:03 [core.py:58] Initializing a V1 LLM engine (v0.8.1) with config: model='Qwen/Qwen3-4B'
Loading safetensors checkpoint shards: 100% Completed | 3/3 [00:02<00:00,  1.2it/s]
INFO 04-02 10:00:09 [gpu_model_runner.py:1174] Model loading took 7.5520 GB and 3.2 seconds
INFO 04-02 10:00:15 [kv_cache_utils.py:537] GPU KV cache size: 17,440 tokens
INFO 04-02 10:00:15 [kv_cache_utils.py:540] Maximum concurrency for 10,000 tokens per request: 1.74x
INFO 04-02 10:00:30 [gpu_model_runner.py:1499] Graph capturing finished in 15 secs, took 0.58 GiB
"""


def test_v0_8_gb_means_gib():
    log = parse_log(V0_8_1)
    assert log.vllm_version == "0.8.1"
    assert log.weights_gib == 7.552 and log.kv_cache_tokens == 17_440
    assert log.max_concurrency == 1.74 and log.concurrency_len == 10_000
    assert log.graph_capture_gib == 0.58 and log.fits is True


V0_11_TP2 = """\
(APIServer pid=7) INFO 10-01 12:00:00 [utils.py:233] non-default args: {'model': 'Qwen/Qwen3-32B', 'max_model_len': 16000, 'tensor_parallel_size': 2}
(Worker_TP0 pid=21) INFO 10-01 12:00:40 [gpu_model_runner.py:2653] Model loading took 30.5900 GiB memory and 20.1 seconds
(Worker_TP1 pid=22) INFO 10-01 12:00:40 [gpu_model_runner.py:2653] Model loading took 30.5900 GiB memory and 20.3 seconds
some unrelated line from a sidecar 0.99 GiB
(Worker_TP1 pid=22) DEBUG 10-01 12:01:00 [gpu_worker.py:290] Memory profiling takes 9.87 seconds. Total non KV cache memory: 36.77GiB; torch peak memory increase: 5.64GiB; non-torch forward increase memory: 0.54GiB; weights memory: 30.59GiB.
(Worker_TP0 pid=21) INFO 10-01 12:01:00 [gpu_worker.py:298] Available KV cache memory: 34.52 GiB
(Worker_TP1 pid=22) INFO 10-01 12:01:00 [gpu_worker.py:298] Available KV cache memory: 34.49 GiB
(EngineCore_DP0 pid=11) INFO 10-01 12:01:01 [kv_cache_utils.py:1087] GPU KV cache size: 282,576 tokens
(EngineCore_DP0 pid=11) INFO 10-01 12:01:01 [kv_cache_utils.py:1091] Maximum concurrency for 16,000 tokens per request: 17.66x
"""


def test_tp_log_interleaved_with_other_output():
    log = parse_log(V0_11_TP2)
    assert log.weights_gib == 30.59
    assert log.kv_cache_gib == 34.49  # the smaller rank, as vLLM sizes every rank to it
    assert log.activation_peak_gib == 5.64 and log.non_torch_gib == 0.54
    assert log.args["tensor_parallel_size"] == 2 and log.model == "Qwen/Qwen3-32B"
    assert log.max_model_len == 16_000


V0_28 = """\
(EngineCore pid=5) INFO 03-01 09:00:00 [gpu_model_runner.py:3300] Model loading took 7.55 GiB memory and 4.1 seconds
(EngineCore pid=5) INFO 03-01 09:00:20 [gpu_worker.py:310] Available KV cache memory: 2.4 GiB
(EngineCore pid=5) INFO 03-01 09:00:20 [kv_cache_utils.py:1300] GPU KV cache size: 17,440 tokens, Maximum concurrency for 10,000 tokens per request: 1.74x
(EngineCore pid=5) INFO 03-01 09:00:21 [gpu_worker.py:400] Estimated CUDA graph memory: 0.41 GiB total
"""


def test_merged_capacity_line_and_format_gib():
    log = parse_log(V0_28)
    assert log.kv_cache_gib == 2.4 and log.kv_cache_tokens == 17_440
    assert log.max_concurrency == 1.74 and log.cudagraph_gib == 0.41


REFUSAL = """\
INFO 06-01 10:00:00 [api_server.py:1287] vLLM API server version 0.9.2
INFO 06-01 10:00:09 [gpu_model_runner.py:1595] Model loading took 7.5520 GiB and 3.1 seconds
INFO 06-01 10:00:15 [gpu_worker.py:232] Available KV cache memory: 2.39 GiB
ERROR 06-01 10:00:15 [core.py:586] EngineCore failed to start.
ValueError: To serve at least one request with the models's max seq len (40960), (5.62 GiB KV cache is needed, which is larger than the available KV cache memory (2.39 GiB). Based on the available memory, the estimated maximum model length is 17392. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.
"""


def test_refusal_is_read_with_its_numbers():
    log = parse_log(REFUSAL)
    assert log.fits is False
    assert log.error.startswith("To serve at least one request")
    assert log.error_needed_gib == 5.62 and log.error_available_gib == 2.39
    assert log.estimated_max_model_len == 17_392 and log.max_model_len == 40_960


def test_v0_engine_block_count():
    log = parse_log(
        "INFO 01-01 [executor_base.py:110] # cuda blocks: 3852, # CPU blocks: 4096\n"
        "INFO 01-01 [worker.py:267] the current vLLM instance can use "
        "total_gpu_memory (79.22GiB) x gpu_memory_utilization (0.90) = 71.29GiB\n"
    )
    assert log.engine == "V0" and log.num_blocks == 3_852
    assert log.gpu_total_gib == 79.22 and log.gpu_memory_utilization == 0.9


def test_real_cpu_log():
    log = parse_log((FIXTURES / "logs" / "vllm-0.32.0-cpu-override64.log").read_text())
    assert log.vllm_version == "0.32.0" and log.device == "CPU"
    assert log.kv_cache_tokens == 8_192 and log.num_gpu_blocks_override == 64
    assert log.kv_cache_gib == 1.0 and log.max_concurrency == 4.0


def test_explain_cli_reads_stdin_and_compares(tmp_path):
    text = (FIXTURES / "logs" / "vllm-0.32.0-cpu-qwen3-tiny.log").read_text()
    # the log names its model by a temporary path; point explain at the same shape
    from servecap.tinymodel import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny")
    data = run_cli("explain", "-", "--model", str(model), "--json", stdin=text).json()
    assert data["kv_cache_tokens"] == 2_097_152
    assert data["prediction"]["kv_cache_tokens"] == 2_097_152
    assert data["weights_gib"] is None and data["activation_peak_gib"] is None


def test_explain_without_gpu_facts_shows_the_log_and_says_what_is_missing():
    result = run_cli("explain", "-", stdin=V0_11_TP2)
    assert result.code == 0
    assert "34.49" in result.stdout and "--gpu" in result.stdout


def test_explain_compares_with_a_plan_for_the_gpu_given():
    data = run_cli(
        "explain", "-", "--gpu", "h100-sxm", "--vllm-version", "0.11.0", "--json", stdin=V0_11_TP2
    ).json()
    assert data["kv_cache_gib"] == 34.49
    assert data["prediction"]["kv_cache_gib"] == pytest.approx(34.49, abs=0.2)


def test_a_log_without_a_startup_is_an_error():
    result = run_cli("explain", "-", stdin="hello\nworld\n")
    assert result.code == 2
    assert "no vLLM start-up found in the log" in result.stderr


def test_missing_log_file_is_an_error(tmp_path):
    result = run_cli("explain", str(tmp_path / "nope.log"))
    assert result.code == 2 and "cannot read log file" in result.stderr


RESERVED = "(EngineCore_DP0 pid=5) INFO 09-01 10:00:05 [gpu_worker.py:280] Initial free memory 70.10 GiB, reserved 12.50 GiB memory for KV Cache as specified by kv_cache_memory_bytes config and skipped memory profiling. This does not respect the gpu_memory_utilization config. Only use kv_cache_memory_bytes config when you want manual control of KV cache memory size.\n"


def test_kv_cache_memory_bytes_line_is_a_startup():
    log = parse_log(RESERVED)
    assert log.found and log.kv_cache_gib == 12.5 and log.fits is True
    result = run_cli("explain", "-", "--json", stdin=RESERVED)
    assert result.code == 0, result.stderr
    assert result.json()["kv_cache_gib"] == 12.5


def test_auto_fit_line_gives_the_fitted_length():
    reduced = parse_log(
        "(APIServer pid=7) INFO [utils.py:233] non-default args: {'model': 'Qwen/Qwen3-4B', 'max_model_len': -1}\n"
        "(EngineCore pid=9) INFO [kv_cache_utils.py:900] Auto-fit max_model_len: reduced from 262144 to 98304 to fit in available GPU memory (12.3 GiB available for KV cache)\n"
    )
    assert reduced.max_model_len == 98_304
    full = parse_log(
        "INFO [kv_cache_utils.py:900] Auto-fit max_model_len: full model context length 40960 fits in available GPU memory\n"
    )
    assert full.max_model_len == 40_960
    newer = parse_log(
        "INFO [kv_cache_utils.py:900] Auto-fit max_model_len: reduced from 131072 to 65536 to fit in available KV cache memory (12.3 GiB GPU)\n"
    )
    assert newer.max_model_len == 65_536


def test_model_is_read_from_the_engine_config_line():
    log = parse_log(
        "(EngineCore_DP0 pid=11) INFO 10-01 12:00:05 [core.py:77] Initializing a V1 LLM engine (v0.11.0) with config: model='Qwen/Qwen3-4B', speculative_config=None, tokenizer='Qwen/Qwen3-4B', skip_tokenizer_init=False\n"
        "(EngineCore_DP0 pid=11) INFO 10-01 12:01:01 [kv_cache_utils.py:1087] GPU KV cache size: 17,440 tokens\n"
    )
    assert log.model == "Qwen/Qwen3-4B" and log.vllm_version == "0.11.0"


DATA_PARALLEL = """\
(EngineCore_DP1 pid=12) INFO 10-01 12:01:01 [kv_cache_utils.py:1087] GPU KV cache size: 18,000 tokens
(EngineCore_DP1 pid=12) INFO 10-01 12:01:01 [kv_cache_utils.py:1091] Maximum concurrency for 10,000 tokens per request: 1.80x
(EngineCore_DP0 pid=11) INFO 10-01 12:01:02 [kv_cache_utils.py:1087] GPU KV cache size: 20,000 tokens
(EngineCore_DP0 pid=11) INFO 10-01 12:01:02 [kv_cache_utils.py:1091] Maximum concurrency for 10,000 tokens per request: 2.00x
"""


def test_data_parallel_tokens_and_concurrency_come_from_the_smallest_engine():
    log = parse_log(DATA_PARALLEL)
    assert log.kv_cache_tokens == 18_000  # DP1, though DP0 was logged last
    assert log.max_concurrency == 1.8 and log.concurrency_len == 10_000


def test_graph_profiling_line_says_whether_graphs_are_in_the_budget():
    on = "INFO [gpu_worker.py:400] CUDA graph memory profiling is enabled (default since v0.21.0). The current --gpu-memory-utilization=0.8200 is equivalent to --gpu-memory-utilization=0.8048 without CUDA graph memory profiling.\n"
    off = "WARNING [gpu_worker.py:400] CUDA graph memory profiling is disabled (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0).\n"
    old = "INFO [gpu_worker.py:400] In v0.19, CUDA graph memory profiling will be enabled by default.\n"
    assert parse_log(on).cudagraph_in_budget is True
    assert parse_log(off).cudagraph_in_budget is False
    assert parse_log(old).cudagraph_in_budget is False
    assert parse_log(V0_28).cudagraph_in_budget is None


def test_a_log_with_only_a_version_line_is_no_startup():
    text = "INFO 06-01 10:00:00 [api_server.py:1287] vLLM API server version 0.9.2\n"
    assert not parse_log(text).found
    result = run_cli("explain", "-", stdin=text)
    assert result.code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no vLLM start-up found in the log" in result.stderr
