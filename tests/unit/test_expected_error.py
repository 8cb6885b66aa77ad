"""The error servecap states for its simulations, and the validation it comes from."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from helpers import run_cli
from servecap import ServeConfig, make_plan
from servecap.hardware import get_gpu
from servecap.sim.expected_error import expected_error, validation
from servecap.sim.steptime import Profile, datasheet_profile, default_profile, shipped_profile

REPO = Path(__file__).resolve().parents[2]


def _sim_vs_real():
    path = REPO / "benchmarks" / "gpu" / "sim_vs_real.py"
    spec = importlib.util.spec_from_file_location("sim_vs_real", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["sim_vs_real"] = module
    spec.loader.exec_module(module)
    return module


def test_the_shipped_validation_table_is_what_the_saved_gpu_runs_give():
    # replays every saved GPU run and published case: the shipped numbers cannot drift from
    # the data or the model (rerun `python benchmarks/gpu/sim_vs_real.py --write` after either)
    rows, _, table = _sim_vs_real().compute()
    assert table == validation()
    assert {r["profile"] for r in rows} == {"shipped", "datasheet"}
    assert len(rows) >= 50


def test_a_measured_gpu_states_its_own_bounds_and_others_the_datasheet_ones():
    h100 = make_plan("Qwen/Qwen3-8B", ServeConfig(), gpu="h100-sxm", vllm_version="0.24.0")
    a100 = make_plan("Qwen/Qwen3-8B", ServeConfig(), gpu="a100-80gb", vllm_version="0.24.0")
    measured, datasheet = expected_error(h100), expected_error(a100)
    assert measured.basis == "shipped" and datasheet.basis == "datasheet"
    shipped = validation()["shipped"]["metrics"]["output_throughput"]["p90_error"]
    assert shipped <= measured.bounds["output_throughput"] < shipped + 0.01
    assert datasheet.published_p90 == validation()["published"]["p90_error"]
    assert "measured on this GPU" in measured.sentence()
    assert "datasheet" in datasheet.sentence() and "NVIDIA H200" in datasheet.sentence()
    own = expected_error(h100, Profile(overhead_s=0.001))
    assert own.bounds == {} and "not validated" in own.sentence()


def test_an_unmeasured_gpu_gets_the_measured_terms_through_its_datasheet():
    h100 = shipped_profile("h100-sxm")
    assert h100 is not None and default_profile(get_gpu("h100-sxm")) == h100
    a100 = datasheet_profile(get_gpu("a100-80gb"))
    assert a100.bandwidth_efficiency == pytest.approx(h100.bandwidth_efficiency)
    # GPU time per byte scales with the datasheet bandwidth (3,350 against 2,039 GB/s)
    assert a100.moe_layer_s == pytest.approx(h100.moe_layer_s * 3350 / 2039)
    assert a100.overhead_s != h100.overhead_s  # another machine's host


def test_simulate_json_carries_the_expected_error():
    result = run_cli("simulate", "Qwen/Qwen3-8B", "--gpu", "h100-sxm", "--users", "4",
                     "--prompt-tokens", "64", "--output-tokens", "16", "--json")  # fmt: skip
    assert result.code == 0, result.stderr
    stated = json.loads(result.stdout)["expected_error"]
    assert stated["basis"] == "shipped" and stated["bounds"]["tpot_p50"] > 0
    shown = run_cli("simulate", "Qwen/Qwen3-8B", "--gpu", "h100-sxm", "--users", "4",
                    "--prompt-tokens", "64", "--output-tokens", "16")  # fmt: skip
    assert "expected error" in shown.stdout
