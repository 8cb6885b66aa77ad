"""`bench --json` and `simulate --json` mean the same by every key, in single runs and sweeps:
the pooled summary on top, each step under `steps`, as `report` reads either's result file."""

from __future__ import annotations

import pytest

from helpers import run_cli
from servecap import ServeConfig, make_plan
from servecap.sim.twin import Twin
from servecap.sim.twin_server import TwinServer

DEPLOYMENT = ("Qwen/Qwen3-0.6B", "--gpu", "h100-sxm", "--max-model-len", "4096")
WORKLOAD = ("--prompt-tokens", "50", "--output-tokens", "40", "--slo", "ttft_p95=2s")
SIM_ONLY = {"simulated", "sim_steps", "deployment", "expected_error"}
MEASURED_ONLY = {"client"}
STEP_KEYS = {"phase", "load"}


def _json(*args: str) -> dict:
    result = run_cli(*args, "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def twin_url():
    plan = make_plan(
        "Qwen/Qwen3-0.6B", ServeConfig(max_model_len=4096), gpu="h100-sxm", vllm_version="0.24.0"
    )
    with TwinServer(Twin(plan, speedup=20)) as server:
        yield server.url


def _bench(url: str, path, *load: str) -> dict:
    return _json("bench", "--url", url, "--model", "Qwen/Qwen3-0.6B-sim", *load, *WORKLOAD,
                 "--output", str(path), "--metrics-interval", "0.05")  # fmt: skip


def _simulate(path, *load: str) -> dict:
    return _json("simulate", *DEPLOYMENT, "--vllm-version", "0.24.0", *load, *WORKLOAD,
                 "-o", str(path))  # fmt: skip


def _pooled(data: dict, extra: set[str]) -> dict:
    return {k: v for k, v in data.items() if k not in extra | {"result_file"}}


@pytest.mark.parametrize("load", [("--users", "3"), ("--sweep-users", "2,4")], ids=["one", "sweep"])
def test_bench_and_simulate_share_every_key_and_its_meaning(twin_url, tmp_path, load):
    measured = _bench(twin_url, tmp_path / "bench.jsonl", *load)
    simulated = _simulate(tmp_path / "sim.jsonl", *load)
    assert set(measured) - MEASURED_ONLY == set(simulated) - SIM_ONLY
    sweep = load[0] == "--sweep-users"
    for data in (measured, simulated):
        # the top is the whole run, pooled over the steps; the steps are each level alone
        assert ("steps" in data) is sweep
        steps = data.get("steps") or [data]
        assert data["requests"] == sum(s["requests"] for s in steps) == (6 if sweep else 3)
        assert data["output_tokens_total"] == 40 * data["requests"]
        assert data["ttft_s"]["count"] == data["requests"]
        assert data["slos"][0]["slo"] == "ttft p95 <= 2 s"
        if sweep:
            assert [s["phase"] for s in steps] == ["users=2", "users=4"]
            assert [s["load"] for s in steps] == [2, 4]
            assert all(set(s) - STEP_KEYS <= set(data) for s in steps)
            assert data["duration_s"] >= max(s["duration_s"] for s in steps)
            assert data["capacity"].startswith("With ttft p95 <= 2 s, the server handles up to")
        else:
            assert (
                data["capacity"]
                == "With ttft p95 <= 2 s, the server handles up to 3 users at once."
            )


@pytest.mark.parametrize("tool", ["bench", "simulate"])
def test_report_of_the_result_file_prints_the_same_summary(twin_url, tmp_path, tool):
    path = tmp_path / f"{tool}.jsonl"
    load = ("--sweep-users", "2,4")
    printed = _bench(twin_url, path, *load) if tool == "bench" else _simulate(path, *load)
    reported = _json("report", str(path))
    extra = {"status", "sources", "stopped_early", "deployment", "expected_error"}
    assert _pooled(reported, extra) == _pooled(printed, extra)
    assert reported["status"] == "complete"
