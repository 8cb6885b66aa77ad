"""Test helpers: fixture paths and a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from servecap import ServeConfig

if TYPE_CHECKING:
    from servecap.memory.plan import MemoryPlan

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def run_cli(*args: str, stdin: str | None = None) -> CliResult:
    """Run `servecap` in this process, as a shell would: its argv, stdin, stdout, stderr and
    exit code (an escaped exception prints its traceback and exits 1, as Python does)."""
    from typer.testing import CliRunner

    from servecap.cli.app import main

    runner = CliRunner()
    env = {"COLUMNS": "120", "HF_HUB_OFFLINE": "1"}
    with runner.isolation(input=stdin, env=env) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue(), err.getvalue()
    return CliResult(code, stdout.decode(), stderr.decode())


def run_cli_process(*args: str, stdin: str | None = None, timeout: float = 120) -> CliResult:
    """Run `servecap` in a subprocess: for what only a real process shows (exit codes, stderr
    of the interpreter, signals)."""
    proc = subprocess.run(
        [sys.executable, "-m", "servecap", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120", "HF_HUB_OFFLINE": "1"},
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def scarce_cpu_plan(model_dir: Path) -> MemoryPlan:
    """The plan of the CPU vLLM fixture with 64 KV blocks of 128 tokens (SCARCE_WIDE's flags)."""
    from servecap import make_plan

    return make_plan(
        model=str(model_dir),
        vllm_version="0.32.0",
        config=ServeConfig(
            device="cpu", kv_cache_space_gib=1, max_model_len=2048, num_gpu_blocks_override=64
        ),
    )
