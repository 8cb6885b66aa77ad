"""`servecap plan` as a user runs it: output, JSON contract, inputs, and every bad input."""

from __future__ import annotations

import json

import pytest

from helpers import FIXTURES, run_cli

SEED = [
    "Qwen/Qwen3-4B",
    "--gpu",
    "rtx-4090",
    "--gpu-memory-utilization",
    "0.5",
    "--max-model-len",
    "10000",
]
JSON_KEYS = {
    "model",
    "gpu",
    "vllm_version",
    "gpu_total_gib",
    "gpu_memory_utilization",
    "weights_gib",
    "activation_peak_gib",
    "non_torch_gib",
    "cudagraph_gib",
    "kv_cache_gib",
    "kv_bytes_per_token",
    "block_size",
    "num_blocks",
    "kv_cache_tokens",
    "max_model_len",
    "max_concurrency",
    "fits",
    "error",
    "estimated_max_model_len",
    "vllm_args",
}


def test_seed_question_is_answered_in_one_sentence():
    result = run_cli("plan", *SEED)
    assert result.code == 0, result.stderr
    assert "vLLM takes 11.82 GiB of the NVIDIA GeForce RTX 4090's 23.64 GiB" in result.stdout
    assert "147,456" in result.stdout  # KV bytes per token
    assert (
        "vllm serve Qwen/Qwen3-4B --gpu-memory-utilization 0.5 --max-model-len 10000"
        in result.stdout
    )


def test_json_has_the_stable_keys():
    data = run_cli("plan", *SEED, "--json").json()
    assert set(data) >= JSON_KEYS
    assert data["kv_bytes_per_token"] == 147_456
    assert data["kv_cache_tokens"] == data["num_blocks"] * 16
    assert data["fits"] is True and data["error"] is None
    assert data["vllm_args"][:3] == ["vllm", "serve", "Qwen/Qwen3-4B"]


def test_full_context_at_half_the_card_is_refused_with_vllms_text():
    data = run_cli(
        "plan",
        "Qwen/Qwen3-4B",
        "--gpu",
        "rtx-4090",
        "--gpu-memory-utilization",
        "0.5",
        "--max-model-len",
        "40960",
        "--vllm-version",
        "0.22.0",
        "--json",
    ).json()
    assert data["fits"] is False
    assert data["error"].startswith(
        "To serve at least one request with the model's max seq len (40960), (5.62 GiB KV cache "
        "is needed, which is larger than the available KV cache memory ("
    )
    assert f"estimated maximum model length is {data['estimated_max_model_len']}." in data["error"]
    assert data["smallest_setup"]["min_gpu_memory_utilization"] > 0.5


def test_model_as_option_and_pasted_vllm_command_agree():
    positional = run_cli("plan", *SEED, "--json").json()
    option = run_cli("plan", "--model", *SEED, "--json").json()
    pasted = run_cli(
        "plan",
        "--gpu",
        "rtx-4090",
        "--json",
        "--",
        "vllm",
        "serve",
        "Qwen/Qwen3-4B",
        "--gpu-memory-utilization",
        "0.5",
        "--max-model-len",
        "10000",
        "--port",
        "8001",
    ).json()
    assert positional["kv_cache_tokens"] == option["kv_cache_tokens"] == pasted["kv_cache_tokens"]


@pytest.mark.parametrize("spelling", ["rtx-4090", "RTX4090", "4090", "NVIDIA GeForce RTX 4090"])
def test_gpu_spellings(spelling):
    data = run_cli("plan", "Qwen/Qwen3-4B", "--gpu", spelling, "--json").json()
    assert data["gpu"] == "rtx-4090"


def test_gpu_memory_override_and_version():
    data = run_cli(
        "plan",
        "Qwen/Qwen3-4B",
        "--gpu",
        "h100-sxm",
        "--gpu-memory-gib",
        "40",
        "--vllm-version",
        "0.10.2",
        "--json",
    ).json()
    assert data["gpu_total_gib"] == 40 and data["vllm_version"] == "0.10.2"


def test_config_json_path(tmp_path):
    config = tmp_path / "config.json"
    config.write_text((FIXTURES / "configs" / "qwen3-4b.json").read_text())
    data = run_cli("plan", str(config), "--gpu", "h100-sxm", "--json").json()
    assert data["kv_bytes_per_token"] == 147_456


def one_line_error(result, *fragments: str) -> None:
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["Qwen/Qwen3-4B", "--gpu", "rtx-9999"], ["unknown GPU 'rtx-9999'", "servecap gpus"]),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "--gpu-memory-utilization", "0"],
            ["--gpu-memory-utilization must be in (0, 1]"],
        ),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "--gpu-memory-utilization", "1.5"],
            ["--gpu-memory-utilization must be in (0, 1]"],
        ),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "--max-model-len", "0"],
            ["--max-model-len must be positive"],
        ),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "--max-model-len", "-5"],
            ["--max-model-len must be positive"],
        ),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "-tp", "3"],
            ["does not divide the 32 attention heads", "1, 2, 4, 8"],
        ),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "--vllm-version", "0.5.4"],
            ["outside the versions servecap models", "0.8.0 to 0.33.x"],
        ),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "--vllm-version", "banana"],
            ["'banana' is not a vLLM version"],
        ),
        (["Qwen/Qwen3-4B"], ["no GPU given", "--gpu"]),
        (
            ["someone/not-a-model", "--gpu", "h100-sxm"],
            ["unknown model 'someone/not-a-model'", "local config.json"],
        ),
        (
            ["Qwen/Qwen3-4B", "--gpu", "h100-sxm", "--max-model-len", "abc"],
            ["Invalid value for '--max-model-len'"],
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args, fragments):
    one_line_error(run_cli("plan", *args), *fragments)


def test_malformed_config_json(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"hidden_size": 128,')
    one_line_error(run_cli("plan", str(config), "--gpu", "h100-sxm"), "is not valid JSON")


def test_incomplete_config_json(tmp_path):
    config = tmp_path / "config.json"
    raw = json.loads((FIXTURES / "configs" / "qwen3-4b.json").read_text())
    del raw["num_attention_heads"]
    config.write_text(json.dumps(raw))
    one_line_error(
        run_cli("plan", str(config), "--gpu", "h100-sxm"),
        "has no 'num_attention_heads'",
        "complete config.json",
    )


def test_unknown_architecture(tmp_path):
    config = tmp_path / "config.json"
    raw = json.loads((FIXTURES / "configs" / "qwen3-4b.json").read_text())
    raw.update(model_type="telepathy", architectures=["TelepathyForCausalLM"])
    config.write_text(json.dumps(raw))
    one_line_error(
        run_cli("plan", str(config), "--gpu", "h100-sxm"),
        "TelepathyForCausalLM",
        "is not supported",
    )


def test_gpus_lists_the_catalogue():
    data = run_cli("gpus", "--json").json()
    slugs = {g["slug"] for g in data}
    assert {
        "rtx-3090",
        "rtx-4090",
        "rtx-5090",
        "a10",
        "a10g",
        "l4",
        "l40s",
        "a100-40gb",
        "a100-80gb",
        "h100-pcie",
        "h100-sxm",
        "h200",
        "h20",
        "b200",
        "mi300x",
    } <= slugs
    h100 = next(g for g in data if g["slug"] == "h100-sxm")
    assert 79.1 < h100["memory_gib"] < 79.3


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("head_dim", "x", "wrong type or shape"),
        ("num_key_value_heads", [8], "wrong type or shape"),
        ("max_position_embeddings", {"a": 1}, "wrong type or shape"),
        ("intermediate_size", "big", "wrong type or shape"),
        ("num_key_value_heads", 0, "not a multiple of 0 KV heads"),
        ("num_hidden_layers", 36.5, "invalid 'num_hidden_layers': 36.5"),
    ],
)
def test_config_values_of_the_wrong_type(tmp_path, field, value, fragment):
    config = tmp_path / "config.json"
    raw = json.loads((FIXTURES / "configs" / "qwen3-4b.json").read_text())
    raw[field] = value
    config.write_text(json.dumps(raw))
    one_line_error(run_cli("plan", str(config), "--gpu", "h100-sxm"), fragment)


def test_a_missing_path_is_not_sent_to_the_hub(tmp_path):
    missing = tmp_path / "no" / "such-model"
    one_line_error(run_cli("plan", str(missing), "--gpu", "h100-sxm"), "does not exist")


def test_a_local_folder_is_served_by_its_path(tmp_path):
    from servecap.tinymodel import write_tiny_model

    folder = write_tiny_model(tmp_path / "models" / "tiny")
    data = run_cli("plan", str(folder), "--gpu", "h100-sxm", "--json").json()
    assert data["model"] == str(folder)
    assert data["vllm_args"][:3] == ["vllm", "serve", str(folder)]


def test_the_longest_context_that_fits_is_the_fit_checks_own(tmp_path):
    data = run_cli("plan", *SEED, "--json").json()
    longest = data["smallest_setup"]["max_model_len_that_fits"]
    assert longest == data["estimated_max_model_len"]
    at = [*SEED[:-1], str(longest)]
    assert run_cli("plan", *at, "--json").json()["fits"] is True
    beyond = [*SEED[:-1], str(longest + 1)]
    assert run_cli("plan", *beyond, "--json").json()["fits"] is False


def test_smallest_setup_answers_are_the_edges_of_fitting():
    """Each inverse answer fits, and one step less does not."""
    args = ["Qwen/Qwen3-8B", "--gpu", "rtx-4090", "--max-model-len", "32768", "--json"]
    small = run_cli("plan", *args).json()["smallest_setup"]
    u = small["min_gpu_memory_utilization"]

    def fits(*extra: str) -> bool:
        return bool(run_cli("plan", *args, *extra).json()["fits"])

    assert fits("--gpu-memory-utilization", str(u))
    assert not fits("--gpu-memory-utilization", f"{u - 0.01:.2f}")
    gib = small["min_gpu_memory_gib"]
    assert fits("--gpu-memory-gib", str(gib))
    assert not fits("--gpu-memory-gib", f"{gib - 0.01:.2f}")
    tp = small["min_tensor_parallel_size"]
    assert fits("-tp", str(tp))
    if tp > 1:
        assert not fits("-tp", str(tp // 2))
