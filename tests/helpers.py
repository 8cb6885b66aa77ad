"""Test helpers: fixture paths and a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def run_cli(*args: str, stdin: str | None = None, timeout: float = 120) -> CliResult:
    """Run `servecap` in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "servecap", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120", "HF_HUB_OFFLINE": "1"},
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
