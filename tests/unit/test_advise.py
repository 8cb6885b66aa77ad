"""`servecap advise`: the search, its agreement with the simulator, commands, JSON and errors."""

from __future__ import annotations

import json
import shlex
from functools import cache

import pytest

from helpers import run_cli
from servecap import InvalidValueError, UnknownGPUError
from servecap.api import make_plan
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.slo import parse_slo
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.simulate import simulate
from servecap.sizing import Advice, AdviseRequest, advise, deployment_commands, parse_cost

SLOS = ("ttft_p95=2s", "tokens_per_s_p5=20")
SEED = [
    "advise",
    "--model",
    "Qwen/Qwen3-4B",
    "--users",
    "20",
    "--prompt-tokens",
    "300",
    "--output-tokens",
    "1500",
    "--slo",
    "ttft_p95=2s",
    "--slo",
    "tokens_per_s_p5=20",
    "--gpu",
    "rtx-4090",
    "--vllm-version",
    "0.24.0",
]
OPTION_KEYS = {
    "gpu",
    "gpu_name",
    "gpu_count",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "replicas",
    "gpu_memory_utilization",
    "max_model_len",
    "kv_cache_dtype",
    "meets_slos",
    "max_users",
    "ttft_p50_s",
    "ttft_p95_s",
    "tokens_per_s_p50",
    "tokens_per_s_p5",
    "throughput_tokens_per_s",
    "cost_per_hour",
    "commands",
    "plan",
}
CURVE_KEYS = {
    "users",
    "ttft_p50_s",
    "ttft_p95_s",
    "tokens_per_s_p5",
    "throughput_tokens_per_s",
    "meets_slos",
}


def _request(model: str = "Qwen/Qwen3-4B", **kw: object) -> AdviseRequest:
    base: dict[str, object] = {
        "model": model,
        "users": 20,
        "prompt_tokens": 300,
        "output_tokens": 1500,
        "slos": SLOS,
        "gpus": ("rtx-4090",),
        "vllm_version": "0.24.0",
    }
    base.update(kw)
    return AdviseRequest(**base)  # type: ignore[arg-type]


@cache
def _seed() -> Advice:
    return advise(_request())


def test_seed_case_one_rtx_4090_serves_20_users():
    advice = _seed()
    best = advice.best
    assert best is not None and best.meets_slos
    assert (best.gpu_count, best.replicas, best.tensor_parallel_size) == (1, 1, 1)
    assert best.max_users > 20
    assert advice.verdict.startswith("One RTX 4090 serves 20 such users at p95 first-token ")
    assert advice.verdict.endswith(f"it tops out at {best.max_users}.")
    assert best.metrics["ttft_p95_s"] < 2 and best.metrics["tokens_per_s_p5"] >= 20
    # the smallest context that holds 300 + 1,500 tokens, not the model's 40,960
    assert best.plan.max_model_len == 2048


def test_max_users_agrees_with_the_simulator_at_n_and_n_plus_1():
    best = _seed().best
    assert best is not None
    workload = WorkloadSpec(
        prompt_tokens=Lengths("fixed", 300), output_tokens=Lengths("fixed", 1500)
    )
    slos = [parse_slo(s) for s in SLOS]

    def met(users: int) -> bool:
        run = simulate(best.plan, LoadProfile("users", requests=users), workload, slos=slos)
        return run.steps[0].summary.slos_met is True

    assert met(best.max_users)
    assert not met(best.max_users + 1)


def test_curve_runs_from_one_user_past_twice_the_capacity():
    advice = _seed()
    best = advice.best
    assert best is not None
    users = [p["users"] for p in advice.curve]
    assert users == sorted(users) and users[0] == 1 and users[-1] >= 2 * best.max_users
    by_users = {p["users"]: p for p in advice.curve}
    assert by_users[best.max_users]["meets_slos"]
    assert not by_users[best.max_users + 1]["meets_slos"]
    assert all(set(p) >= CURVE_KEYS for p in advice.curve)


def test_command_carries_the_planned_flags():
    best = _seed().best
    assert best is not None
    assert best.commands == [shlex.join(best.plan.vllm_args())]
    command = best.commands[0]
    assert command.startswith("vllm serve Qwen/Qwen3-4B ")
    assert f"--gpu-memory-utilization {best.plan.utilization:g}" in command
    assert "--max-model-len 2048" in command


def test_70b_needs_tensor_parallel_on_24_gb_cards():
    advice = advise(_request("meta-llama/Llama-3.1-70B-Instruct"))
    best = advice.best
    assert best is not None and best.meets_slos
    assert best.gpu_count > 1 and best.tensor_parallel_size > 1
    assert f"--tensor-parallel-size {best.tensor_parallel_size}" in best.commands[0]
    assert any("NVLink" in n for n in best.notes)  # RTX 4090s talk over PCIe


def test_more_users_than_one_card_holds_take_more_gpus():
    advice = advise(_request(users=150))
    best = advice.best
    assert best is not None and best.meets_slos and best.gpu_count >= 2
    assert best.max_users >= 150
    if best.replicas > 1:
        assert f"--data-parallel-size {best.replicas}" in best.commands[0]


def test_impossible_slo_says_nothing_meets_in_one_sentence():
    advice = advise(_request(slos=("ttft_p95=1ms",)))
    assert advice.verdict.startswith("Nothing meets ttft_p95=1ms")
    assert "closest" in advice.verdict and "\n" not in advice.verdict
    assert advice.options and not any(o.meets_slos for o in advice.options)
    assert advice.options[0].max_users == 0


def test_a_model_that_fits_nowhere_is_said_in_one_sentence():
    advice = advise(_request("deepseek-ai/DeepSeek-V3", gpus=("t4",), users=2))
    assert advice.verdict.startswith("Nothing fits: deepseek-ai/DeepSeek-V3")
    assert advice.options == [] and advice.curve == []


def test_multi_node_deployments_get_ray_commands():
    advice = advise(
        _request(
            "meta-llama/Llama-3.1-405B-Instruct",
            gpus=("h100-sxm",),
            max_gpus=16,
            slos=("ttft_p95=5s", "tokens_per_s_p5=10"),
        )
    )
    best = advice.best
    assert best is not None and best.meets_slos
    assert (best.tensor_parallel_size, best.pipeline_parallel_size) == (8, 2)
    joined = "\n".join(best.commands)
    assert "ray start --head" in joined and "ray start --address=" in joined
    assert "--pipeline-parallel-size 2" in joined
    assert "--distributed-executor-backend ray" in joined
    assert any("pipeline parallel" in n for n in best.notes)


def test_replicas_on_one_node_and_before_data_parallel():
    new = make_plan("Qwen/Qwen3-4B", gpu="rtx-4090", vllm_version="0.24.0")
    assert deployment_commands(new, 3, 8)[0].endswith("--data-parallel-size 3")
    old = make_plan("Qwen/Qwen3-4B", gpu="rtx-4090", vllm_version="0.8.5")
    commands = deployment_commands(old, 2, 8)
    assert commands[1].startswith("CUDA_VISIBLE_DEVICES=1 vllm serve")
    assert commands[1].endswith("--port 8001")
    two_nodes = deployment_commands(new, 12, 8)
    assert "--data-parallel-size 8  # on one node" in two_nodes[0]
    assert "--data-parallel-size 4  # on one node" in two_nodes[1]


def test_costs_rank_the_cheaper_gpu_first():
    # 10 users: one L4 (17 at most) or one RTX 4090 each meets the SLOs
    costs = (("rtx-4090", 0.7), ("l4", 0.3))
    advice = advise(_request(users=10, gpus=("rtx-4090", "l4"), costs=costs))
    assert advice.best is not None and advice.best.gpu.slug == "l4"
    assert advice.best.cost_per_hour == pytest.approx(0.3 * advice.best.gpu_count)


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"users": 0}, "--users must be positive"),
        ({"slos": ()}, "at least one SLO"),
        ({"slos": ("ttft=2",)}, "malformed SLO"),
        ({"costs": (("rtx-4090", -1.0),)}, "must be positive"),
        ({"output_tokens": 50_000}, "exceed"),
    ],
)
def test_bad_requests_raise_input_errors(kw, fragment):
    with pytest.raises(InvalidValueError, match=fragment):
        advise(_request(**kw))


def test_unknown_gpu_and_malformed_cost():
    with pytest.raises(UnknownGPUError):
        advise(_request(gpus=("no-such-gpu",)))
    with pytest.raises(InvalidValueError):
        parse_cost("rtx-4090")
    assert parse_cost("RTX4090=0.7") == ("rtx-4090", 0.7)


def test_cli_json_has_the_schema_and_output_writes_it(tmp_path):
    out = tmp_path / "advise.json"
    result = run_cli(*SEED, "--json", "--output", str(out))
    assert result.code == 0, result.stderr
    data = result.json()
    assert isinstance(data, dict)
    assert data == json.loads(out.read_text())
    assert data["kind"] == "advise" and data["model"] == "Qwen/Qwen3-4B"
    assert (data["users"], data["prompt_tokens"], data["output_tokens"]) == (20, 300, 1500)
    assert data["slos"] == list(SLOS)
    assert data["verdict"].startswith("One RTX 4090")
    assert set(data["options"][0]) >= OPTION_KEYS
    assert data["options"][0]["plan"]["fits"] is True
    assert all(set(p) >= CURVE_KEYS for p in data["curve"])


def test_cli_prints_the_verdict_first_and_the_command():
    result = run_cli(*SEED)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("One RTX 4090 serves 20 such users")
    assert "vllm serve Qwen/Qwen3-4B --gpu-memory-utilization" in result.stdout
    assert "headroom:" in result.stdout


def test_cli_nothing_meets_is_an_answer():
    args = [a if a != "ttft_p95=2s" else "ttft_p95=1ms" for a in SEED]
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("Nothing meets")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (("--users", "0"), "--users must be positive"),
        (("--gpu", "no-such-gpu"), "unknown GPU"),
        (("--slo", "fast"), "malformed SLO"),
        (("--cost", "rtx-4090=cheap"), "malformed --cost"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(change, fragment):
    args = list(SEED)
    flag, value = change
    if flag == "--users":
        args[args.index("--users") + 1] = value
    else:
        args += [flag, value]
    result = run_cli(*args)
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert result.stdout == ""
