"""`servecap demo --engine vllm`: the same four answers, measured on real vLLM (CPU build)."""

from __future__ import annotations

import json

from helpers import run_cli_process as run_cli
from servecap.tinymodel import write_tiny_model
from vllm_servers import DTYPE_ARGS, WIDE


def test_demo_on_real_vllm(tmp_path, vllm_install):
    # WIDE decodes slowly enough (~11 ms a step) that all 8 users are in before any finishes
    model = write_tiny_model(tmp_path / "tiny", WIDE)
    out = tmp_path / "demo"
    result = run_cli(
        "demo",
        "--engine",
        "vllm",
        "--model",
        str(model),
        "--device",
        "cpu",
        "--max-model-len",
        "1024",
        "--num-gpu-blocks-override",
        "16",
        "--users",
        "8",
        "--user-output-tokens",
        "400",
        "--single-output-tokens",
        "32",
        "--repeat",
        "2",
        "--vllm-python",
        vllm_install.python,
        *DTYPE_ARGS,
        "-o",
        str(out),
        timeout=900,
    )
    assert result.code == 0, result.stderr
    data = json.loads((out / "demo.json").read_text())
    assert data["engine"] == "vllm" and len(data["answers"]) == 4
    # both deployments' logs showed the planned KV cache, to the token
    memory = data["answers"][0]["answer"]
    assert memory.count("exactly as planned") == 2, memory
    # 16 blocks of 128 tokens cannot hold the model's 4,096-token context: vLLM's refusal
    assert "estimated maximum model length is 1920" in data["answers"][1]["answer"]
    runs = {r["label"]: r["summary"] for r in data["runs"]}
    singles = [s for label, s in runs.items() if label.startswith("one request")]
    assert [s["succeeded"] for s in singles] == [2, 2]
    users = next(s for label, s in runs.items() if label.startswith("8 users"))
    # 8 answers of ~420 tokens do not fit 1,920 usable tokens at once: vLLM preempted
    assert users["succeeded"] == 8 and users["preemptions_total"] > 0
    for run in data["runs"]:
        assert (out / run["result_file"]).is_file()
