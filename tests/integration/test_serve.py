"""`servecap serve` starts real vLLM, explains its start-up, and stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from servecap.tinymodel import write_tiny_model
from vllm_servers import DTYPE_ARGS


def _vllm_processes(marker: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _start(model: Path, log: Path, python: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servecap",
            "serve",
            str(model),
            "--device",
            "cpu",
            "--kv-cache-space-gib",
            "1",
            "--max-model-len",
            "1024",
            "--port",
            "0",
            "--vllm-python",
            python,
            "--log-file",
            str(log),
            "--api-key",
            "sekrit-key",
            *DTYPE_ARGS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if "vLLM is ready at" in line:
            return proc, seen
    proc.kill()
    rest, err = proc.communicate()
    raise AssertionError(f"serve never became ready:\n{seen}{rest}\n{err}")


def test_serve_starts_explains_and_stops_on_sigterm(tmp_path, vllm_install):
    model = write_tiny_model(tmp_path / "serve-model")
    proc, stdout = _start(model, tmp_path / "vllm.log", vllm_install.python)
    try:
        url = re.search(r"ready at (http://127\.0\.0\.1:\d+)/v1", stdout).group(1)
        assert "KV cache size" in stdout and "+0 (+0.0%)" in stdout  # log and plan agree
        request = urllib.request.Request(
            url + "/v1/models", headers={"Authorization": "Bearer sekrit-key"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert str(model) in response.read().decode()
        assert _vllm_processes(str(model))
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, stderr = proc.communicate(timeout=60)
    stdout += rest
    assert proc.returncode == 0, stderr
    assert "sekrit-key" not in stdout + stderr  # the key is passed on, never printed
    time.sleep(1)
    assert _vllm_processes(str(model)) == []  # no orphaned engine or worker processes


def test_serve_reports_a_crashed_vllm(tmp_path, vllm_install):
    model = write_tiny_model(tmp_path / "crash-model")
    proc, _ = _start(model, tmp_path / "vllm.log", vllm_install.python)
    try:
        for pid in _vllm_processes(f"api_server --model {model}"):
            os.kill(pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1
    assert "vLLM exited with code" in stderr
    time.sleep(1)
    assert _vllm_processes(str(model)) == []
