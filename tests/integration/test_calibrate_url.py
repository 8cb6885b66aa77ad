"""`servecap calibrate --url` against real vLLM: the planned measurement, then the fit."""

from __future__ import annotations

import json

from helpers import run_cli
from servecap.sim.steptime import Profile
from vllm_servers import DTYPE_ARGS, QWEN3


def test_calibrate_measures_a_live_server_and_fits_its_profile(vllm_server, vllm_install, tmp_path):
    server = vllm_server(QWEN3)
    folder, profile = tmp_path / "measure", tmp_path / "profile.json"
    deployment = [
        "--model",
        server.model,
        "--device",
        "cpu",
        "--kv-cache-space-gib",
        str(QWEN3.kv_cache_space_gib),
        "--max-model-len",
        str(QWEN3.max_model_len),
        "--vllm-version",
        vllm_install.version,
        *DTYPE_ARGS,
    ]
    result = run_cli(
        "calibrate",
        "--url",
        server.url,
        "--quick",
        "--measure-dir",
        str(folder),
        "-o",
        str(profile),
        "--json",
        *deployment,
    )
    assert result.code == 0, result.stderr
    data = result.json()
    steps = {s["step"] for s in data["steps"]}
    # decode batches from 1 up, a long context, single prefills: each its own result file
    assert {"decode-b1", "decode-b16", "long-b1", "prefill-128", "prefill-512"} <= steps
    assert {p.stem.split("-", 1)[1] for p in folder.glob("[0-9][0-9]-*.jsonl")} >= steps
    assert data["points"] == len(data["steps"])
    # the fit beats the CPU's rough defaults and predicts most measured steps within 30%
    assert data["rms_log_error"] < data["rms_log_error_before"]
    assert sum(abs(s["error"]) <= 0.3 for s in data["steps"]) >= 0.7 * len(data["steps"])
    saved = Profile.load(profile)
    assert saved.overhead_s == data["values"]["overhead_s"]["value"]

    # fitting the folder again, offline, gives the same profile
    again = run_cli("calibrate", str(folder), "-o", str(tmp_path / "again.json"), "--json",
                    *deployment)  # fmt: skip
    assert again.code == 0, again.stderr
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(profile.read_text())
