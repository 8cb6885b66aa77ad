"""Where servecap writes when it is not told: one folder, ./servecap-results/."""

from __future__ import annotations

import time
from pathlib import Path

RESULTS_DIR = Path("servecap-results")


def default_output(kind: str, suffix: str = ".jsonl") -> Path:
    """servecap-results/KIND-YYYYMMDD-HHMMSS.SUFFIX, e.g. servecap-results/bench-....jsonl."""
    return RESULTS_DIR / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"
