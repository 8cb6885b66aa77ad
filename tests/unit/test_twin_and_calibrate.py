"""The twin server, and calibration recovering a known step-time profile."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

import pytest

from helpers import run_cli, scarce_cpu_plan
from servecap import ServeConfig, make_plan
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.calibrate import calibrate, replay
from servecap.sim.simulate import simulate
from servecap.sim.steptime import Profile
from servecap.sim.twin import Faults, Twin
from servecap.sim.twin_server import SIM_HEADER, TwinServer
from servecap.tinymodel import write_tiny_model
from servecap.vllm.metrics import parse_metrics
from vllm_servers import WIDE


def plan():
    return make_plan(
        model="Qwen/Qwen3-4B",
        gpu="rtx-4090",
        vllm_version="0.24.0",
        config=ServeConfig(gpu_memory_utilization=0.5, max_model_len=10_000),
    )


def bench(url: str, *args: str, tmp_path) -> dict:
    result = run_cli(
        "bench",
        "--url",
        url,
        "--model",
        "Qwen/Qwen3-4B-sim",
        "--output",
        str(tmp_path / "r.jsonl"),
        "--json",
        *args,
    )
    assert result.code == 0, result.stderr
    return result.json()


def test_twin_streams_at_the_simulated_speed(tmp_path):
    with TwinServer(Twin(plan(), speedup=4)) as server:
        data = bench(
            server.url,
            "--requests",
            "1",
            "--repeat",
            "2",
            "--output-tokens",
            "150",
            "--prompt-tokens",
            "50",
            tmp_path=tmp_path,
        )
        request = urllib.request.Request(server.url + "/v1/models")
        with urllib.request.urlopen(request) as response:
            assert response.headers[SIM_HEADER] == "true"
            assert json.load(response)["data"][0]["id"] == "Qwen/Qwen3-4B-sim"
    simulated = simulate(
        plan(),
        LoadProfile("single", requests=1),
        WorkloadSpec(prompt_tokens=Lengths("fixed", 50), output_tokens=Lengths("fixed", 150)),
    ).summary
    # four times real time, to within the event loop's timing
    assert simulated.tpot_s.p50 is not None
    expected = simulated.tpot_s.p50 / 4
    assert data["tpot_s"]["p50"] == pytest.approx(expected, rel=0.1)
    records = [
        json.loads(x)
        for x in (tmp_path / "r.jsonl").read_text().splitlines()
        if '"type":"request"' in x
    ]
    assert [r["prompt_tokens"] for r in records] == [50, 50]  # /tokenize shaping worked


def test_twin_metrics_show_the_queue(tmp_path):
    # 40 x 1,300 tokens is three times the 17,440-token KV cache, so requests must wait
    with TwinServer(Twin(plan(), speedup=20)) as server:
        data = bench(
            server.url,
            "--metrics-interval",
            "0.05",
            "--users",
            "40",
            "--prompt-tokens",
            "100",
            "--output-tokens",
            "1200",
            "--endpoint",
            "completions",
            tmp_path=tmp_path,
        )
        with urllib.request.urlopen(server.url + "/metrics") as response:
            after = parse_metrics(response.read().decode())
    assert data["succeeded"] == 40
    assert data["server"]["max_waiting"] > 0 and data["server"]["preemptions"] > 0
    assert after.running == 0 and after.num_gpu_blocks == plan().num_blocks


def test_twin_injects_faults(tmp_path):
    with TwinServer(
        Twin(plan(), speedup=50, faults=Faults(error_rate=1.0, error_status=503))
    ) as server:
        errors = bench(server.url, "--users", "3", "--output-tokens", "5", tmp_path=tmp_path)
    assert errors["errors"] == {"http_status": 3}
    with TwinServer(Twin(plan(), speedup=50, faults=Faults(disconnect_rate=1.0))) as server:
        cut = bench(server.url, "--users", "3", "--output-tokens", "20", tmp_path=tmp_path)
    assert cut["errors"] == {"disconnect": 3}


def test_calibration_recovers_a_known_profile():
    truth = Profile(
        overhead_s=0.004, bandwidth_efficiency=0.6, flops_efficiency=0.3, api_chunk_s=0.00003
    )
    measured = simulate(
        plan(),
        LoadProfile("users", requests=12),
        WorkloadSpec(
            prompt_tokens=Lengths.parse("uniform:100:800", "p"),
            output_tokens=Lengths.parse("uniform:50:300", "o"),
        ),
        step_profile=truth,
    ).records
    fitted = calibrate(plan(), measured)
    assert fitted.error < 0.03 < fitted.before
    replayed = replay(plan(), measured, fitted.profile)
    truth_replay = replay(plan(), measured, truth)
    assert replayed.tpot_s.p50 == pytest.approx(truth_replay.tpot_s.p50, rel=0.05)


@pytest.mark.parametrize(
    "truth",
    [
        Profile(overhead_s=0.004, flops_efficiency=2.0, api_chunk_s=0.0001),
        Profile(overhead_s=0.002, flops_efficiency=3.0, api_chunk_s=0.0003, request_latency_s=0.02),
    ],
    ids=["slow-steps", "fast-steps"],
)
def test_a_cpu_calibration_run_predicts_the_scarce_kv_target(tmp_path, truth):
    """The benchmark's calibration workload (12 streams, mixed lengths, plentiful KV) on the CPU
    plan of the wide tiny model, simulated with a known profile; the profile fitted to it must
    predict the benchmark's target (40 users, scarce KV) as the known profile does."""
    model_dir = write_tiny_model(tmp_path / "model", WIDE)
    cpu_plan = scarce_cpu_plan(model_dir)
    truth = replace(truth, bandwidth_efficiency=0.5)
    calibration = simulate(
        cpu_plan,
        LoadProfile("concurrency", requests=36, concurrency=12),
        WorkloadSpec(
            prompt_tokens=Lengths.parse("uniform:64:320", "p"),
            output_tokens=Lengths.parse("uniform:32:256", "o"),
            seed=11,
        ),
        step_profile=truth,
    ).records
    fitted = calibrate(cpu_plan, calibration).profile
    target = (
        LoadProfile("users", requests=40),
        WorkloadSpec(prompt_tokens=Lengths("fixed", 455), output_tokens=Lengths("fixed", 400)),
    )
    expected = simulate(cpu_plan, *target, step_profile=truth).summary
    predicted = simulate(cpu_plan, *target, step_profile=fitted).summary
    for key in ("ttft_s", "e2e_s", "tpot_s"):
        assert predicted.metric(key).p50 == pytest.approx(expected.metric(key).p50, rel=0.05), key
    assert predicted.output_throughput_tok_s == pytest.approx(
        expected.output_throughput_tok_s, rel=0.05
    )


def test_calibrate_command_takes_serve_flags_around_the_result_files(tmp_path):
    deployment = ("Qwen/Qwen3-4B", "--gpu", "rtx-4090", "--max-model-len", "10000")
    run = tmp_path / "run.jsonl"
    made = run_cli(
        "simulate", *deployment, "--gpu-memory-utilization", "0.5", "--concurrency", "4",
        "--requests", "12", "--prompt-tokens", "uniform:64:320", "--output-tokens", "64",
        "-o", str(run),
    )  # fmt: skip
    assert made.code == 0, made.stderr
    model, *flags = deployment
    profile = tmp_path / "profile.json"
    fitted = run_cli(
        "calibrate", str(run), "--gpu-memory-utilization", "0.5", "--model", model, *flags,
        "-o", str(profile), "--json",
    )  # fmt: skip
    assert fitted.code == 0, fitted.stderr
    assert json.loads(fitted.stdout)["requests"] == 12
    assert Profile.load(profile).source == "calibrated on 12 requests"
    # a flag before the file reaches the plan too: too little memory for any KV cache
    starved = run_cli(
        "calibrate", "--gpu-memory-utilization", "0.3", str(run), "--model", model, *flags
    )
    assert starved.code == 2
    assert "does not start" in starved.stderr and "result file" not in starved.stderr
    assert "details.." not in starved.stderr
    nothing = run_cli("calibrate", "--gpu-memory-utilization", "0.5", "--model", model, *flags)
    assert nothing.code == 2 and "needs a server or results" in nothing.stderr


def test_twin_refuses_a_request_longer_than_the_context_as_vllm_does(tmp_path):
    with TwinServer(Twin(plan(), speedup=50)) as server:
        data = bench(server.url, "--users", "2", "--output-tokens", "10000", tmp_path=tmp_path)
    assert data["errors"] == {"http_status": 2}
    records = [
        json.loads(x)
        for x in (tmp_path / "r.jsonl").read_text().splitlines()
        if '"type":"request"' in x
    ]
    assert all("maximum context length is 10000 tokens" in r["error_detail"] for r in records)
