"""`servecap bench` against real vLLM in every mode, and what it reads from vLLM's gauges."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

from helpers import run_cli_process as run_cli
from servecap.vllm.metrics import parse_metrics
from vllm_servers import QWEN3, SCARCE_WIDE


def bench(server, *args: str, tmp_path, name: str = "run") -> dict:
    out = tmp_path / f"{name}.jsonl"
    result = run_cli(
        "bench",
        "--url",
        server.url + "/v1",
        "--model",
        server.model,
        "--output",
        str(out),
        "--json",
        *args,
        timeout=600,
    )
    assert result.code == 0, result.stderr
    return result.json()


def _requests(path) -> list[dict]:
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    return [x for x in lines if x["type"] == "request"]


def test_single_requests_match_usage_and_exact_prompt_lengths(vllm_server, tmp_path):
    server = vllm_server(QWEN3)
    data = bench(
        server,
        "--requests",
        "1",
        "--repeat",
        "3",
        "--prompt-tokens",
        "64",
        "--output-tokens",
        "32",
        tmp_path=tmp_path,
    )
    assert data["succeeded"] == 3 and data["output_tokens_total"] == 96
    assert data["usage_missing"] == 0 and data["ended_early"] == 0
    records = _requests(tmp_path / "run.jsonl")
    # /tokenize shaped each chat prompt so vLLM counted exactly 64 tokens
    assert [r["prompt_tokens"] for r in records] == [64, 64, 64]
    assert data["ttft_s"]["count"] == data["tpot_s"]["count"] == 3
    # (this tiny model decodes in ~1.5 ms a step, so under CPU load vLLM's API server may send
    # a whole answer in one chunk and TPOT is 0; token-by-token timing is checked on a slower
    # model in test_peer_agreement)
    assert 0 < data["ttft_s"]["p50"] <= data["e2e_s"]["p50"]


def test_completions_users_concurrency_and_rate(vllm_server, tmp_path):
    server = vllm_server(QWEN3)
    users = bench(
        server,
        "--endpoint",
        "completions",
        "--users",
        "6",
        "--output-tokens",
        "300",
        tmp_path=tmp_path,
        name="users",
    )
    assert users["succeeded"] == 6 and users["output_tokens_total"] == 1800
    assert users["server"]["samples"] >= 1  # vLLM's /metrics was read during the run
    closed = bench(
        server,
        "--concurrency",
        "3",
        "--requests",
        "9",
        "--output-tokens",
        "16",
        tmp_path=tmp_path,
        name="closed",
    )
    assert closed["succeeded"] == 9
    rate = bench(
        server,
        "--rate",
        "4",
        "--requests",
        "8",
        "--output-tokens",
        "16",
        tmp_path=tmp_path,
        name="rate",
    )
    assert rate["succeeded"] == 8
    # on two cores the vLLM engine keeps one busy, so the client's own lag is measured, not zero
    assert rate["client"]["loop_lag_p99_ms"] is not None


def test_sweep_stops_or_reports_capacity(vllm_server, tmp_path):
    server = vllm_server(QWEN3)
    data = bench(
        server,
        "--sweep-users",
        "1,2,4",
        "--output-tokens",
        "16",
        "--slo",
        "ttft_p95=30s",
        tmp_path=tmp_path,
    )
    assert [s["phase"] for s in data["steps"]] == ["users=1", "users=2", "users=4"]
    assert "the server handles up to 4 users at once" in data["capacity"]


def test_scarce_kv_blocks_show_as_waiting_and_preemptions(vllm_server, tmp_path):
    # the wide model (~11 ms a step): the run lasts long enough that /metrics is read while
    # requests wait. On the fast one, all 24 answers took ~4 s, and on a loaded CI machine the
    # client was starved of CPU for those 4 s, so no reading fell inside the run.
    server = vllm_server(SCARCE_WIDE)
    data = bench(
        server,
        "--endpoint",
        "completions",
        "--users",
        "16",
        "--prompt-tokens",
        "450",
        "--output-tokens",
        "600",
        tmp_path=tmp_path,
    )
    assert data["succeeded"] == 16
    view = data["server"]
    assert view["max_waiting"] > 0 and view["preemptions"] > 0
    assert 0 < view["max_running"] < 16 and view["num_gpu_blocks"] == 64
    human = run_cli("report", str(tmp_path / "run.jsonl"))
    assert "waited" in human.stdout and "preemption" in human.stdout


def test_interrupt_leaves_a_usable_partial_result(vllm_server, tmp_path):
    server = vllm_server(QWEN3)
    out = tmp_path / "partial.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servecap",
            "bench",
            "--url",
            server.url,
            "--model",
            server.model,
            "--concurrency",
            "2",
            "--requests",
            "400",
            "--output-tokens",
            "64",
            "--output",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or len(_requests(out)) < 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "every finished request is in" in stderr
    report = run_cli("report", str(out), "--json").json()
    assert report["status"] == "interrupted"
    assert report["succeeded"] >= 3 and report["requests"] < 400


def test_a_server_killed_mid_run_gives_classified_errors(vllm_server, tmp_path):
    import os

    # ~11 ms a step and scarce blocks: 1,500-token answers take far longer than the kill
    server = vllm_server(SCARCE_WIDE)  # the last user of this server: it is killed here
    out = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servecap",
            "bench",
            "--url",
            server.url,
            "--model",
            server.model,
            "--endpoint",
            "completions",
            "--users",
            "6",
            "--output-tokens",
            "1500",
            "--json",
            "--output",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # kill once vLLM runs the requests: 1,500 tokens each take seconds, so none can finish
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
            if (parse_metrics(response.read().decode()).running or 0) > 0:
                break
        time.sleep(0.05)
    time.sleep(0.3)
    assert server.server.process is not None
    os.killpg(server.server.process.pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    data = json.loads(stdout)
    assert data["requests"] == 6 and data["failed"] == 6
    assert set(data["errors"]) <= {"disconnect", "connection_refused"}
    assert all(r["error_detail"] for r in _requests(out))
