"""One error tree and one mapping: every failure a user can cause or meet is one line on
stderr with a fix, input errors exit 2, failures of servers 1, stop signals 130."""

from __future__ import annotations

import json

import pytest

from helpers import run_cli, run_cli_process
from servecap import errors
from servecap.cli.app import main
from servecap.units import dtype_bytes

SEED = ("Qwen/Qwen3-4B", "--gpu", "rtx-4090", "--gpu-memory-utilization", "0.5")


def _one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("servecap: error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_the_tree_gives_each_kind_its_exit_code():
    assert issubclass(errors.ConfigError, errors.InputError)
    assert errors.InputError("x").exit_code == 2
    assert errors.ServerError("x").exit_code == 1
    assert errors.Stopped("x").exit_code == 130
    assert str(errors.InvalidValueError("a problem.", "the fix")) == "a problem. the fix"


@pytest.mark.parametrize(
    "error,code",
    [(errors.InvalidValueError("bad", "fix it"), 2), (errors.ServerError("vLLM died"), 1)],
)
def test_main_maps_every_servecap_error(monkeypatch, capsys, error, code):
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr("servecap.cli.app.app", fail)
    with pytest.raises(SystemExit) as exit_info:
        main(["plan"])
    assert exit_info.value.code == code
    assert capsys.readouterr().err == f"servecap: error: {error}\n"


def test_a_stop_signal_exits_130(monkeypatch, capsys):
    def stopped(*args: object, **kwargs: object) -> None:
        raise errors.Stopped("stopped by SIGTERM")

    monkeypatch.setattr("servecap.cli.app.app", stopped)
    with pytest.raises(SystemExit) as exit_info:
        main(["serve"])
    assert exit_info.value.code == 130
    assert "interrupted (stopped by SIGTERM)" in capsys.readouterr().err


def test_an_unknown_dtype_is_an_input_error_not_a_key_error():
    with pytest.raises(errors.InvalidValueError, match="unknown dtype 'fp3'"):
        dtype_bytes("fp3")


def test_a_profile_with_an_unknown_key_is_one_line(tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"servecap_profile": 1, "overhead_s": 0.002, "overhaed": 1}))
    result = run_cli("simulate", *SEED, "--users", "2", "--profile", str(profile))
    assert result.code == 2
    assert "unknown key 'overhaed'" in _one_line(result)


@pytest.mark.parametrize(
    "content,fragment",
    [
        ([1, 2], "is not a servecap profile"),
        ({"servecap_profile": 1, "overhead_s": "fast"}, "overhead_s: input should be"),
        ({"servecap_profile": 1, "overhead_s": -1.0}, "greater than or equal to 0"),
        ({"servecap_profile": 2, "overhead_s": 0.1}, "servecap_profile"),
    ],
)
def test_bad_profiles_are_one_line(tmp_path, content, fragment):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(content))
    result = run_cli("twin", *SEED, "--profile", str(profile))
    assert result.code == 2
    assert fragment in _one_line(result)


def test_a_request_longer_than_the_context_is_refused_as_vllm_does():
    result = run_cli(
        "simulate", *SEED, "--max-model-len", "2048", "--users", "1", "--prompt-tokens", "9000",
    )  # fmt: skip
    assert result.code == 2
    assert "9,100 prompt and answer tokens exceeds --max-model-len 2,048" in _one_line(result)


def test_a_request_that_can_never_fit_the_blocks_is_an_input_error():
    from servecap import ServeConfig, make_plan
    from servecap.sim.request import SimRequest
    from servecap.sim.scheduler import EngineConfig, Scheduler
    from servecap.sim.steptime import Profile, build_model

    plan = make_plan("Qwen/Qwen3-0.6B", ServeConfig(max_model_len=4096), gpu="h100-sxm")
    scheduler = Scheduler(EngineConfig(9, 16, 8, 2048, 4096), build_model(plan, Profile(0.001)))
    scheduler.submit(SimRequest(0, 1000, 10, 0.0))  # 63 blocks; the pool has 8
    with pytest.raises(errors.InvalidValueError, match="can never fit the KV cache of 8 blocks"):
        scheduler.step()


def test_a_mistyped_setting_is_an_input_error_not_a_type_error():
    from servecap import ServeConfig

    with pytest.raises(errors.InvalidValueError, match="unknown vLLM setting max_model_length"):
        ServeConfig.from_values({"max_model_length": 4096})


def test_a_real_process_exits_2_with_one_line_for_bad_input():
    result = run_cli_process("plan", "Qwen/Qwen3-4B", "--gpu", "no-such-gpu")
    assert result.code == 2
    assert "no-such-gpu" in _one_line(result)


def test_a_real_process_exits_2_for_a_usage_error_and_0_for_help():
    bad = run_cli_process("simulate", "--users", "many")
    assert bad.code == 2 and "servecap simulate --help" in _one_line(bad)
    assert run_cli_process("--help").code == 0
