"""How far the simulator's numbers are expected to be off, from its validation against real
vLLM (servecap/data/validation.json, written by benchmarks/gpu/sim_vs_real.py).

Each bound is the error nine validation runs in ten stayed within, for the kind of profile a
simulation uses: the shipped profile of a measured GPU, or the measured terms applied to an
unmeasured GPU's datasheet (validated on the GPUs that profile was not fitted on, and on the
published runs of tests/fixtures/throughput_cases.json). A hand-made or calibrated profile, and
the CPU's rough defaults, have no validated bound, and say so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..hardware import get_gpu
from ..memory.plan import MemoryPlan
from .steptime import Profile, shipped_profile

LABELS = {
    "output_throughput": "throughput",
    "tpot_p50": "TPOT p50",
    "e2e_p50": "E2E p50",
    "ttft_p50": "TTFT p50",
}


@dataclass(frozen=True)
class ExpectedError:
    """The validated error bounds of one simulation's numbers (relative, 0.1 = ±10%)."""

    basis: str  # "shipped", "datasheet", "own profile" or "cpu defaults"
    bounds: dict[str, float] = field(default_factory=dict)
    runs: int = 0
    validated_on: tuple[str, ...] = ()
    published_p90: float | None = None

    def sentence(self) -> str:
        if not self.bounds:
            if self.basis == "own profile":
                return (
                    "expected error: not validated for a profile of your own; "
                    "`servecap calibrate` printed how closely it fits your measurement"
                )
            return (
                "expected error: unknown, the CPU's step-time defaults are rough; "
                "`servecap calibrate --url` measures your machine"
            )
        terms = ", ".join(f"{LABELS[k]} ±{v:.0%}" for k, v in self.bounds.items())
        where = ", ".join(self.validated_on)
        if self.basis == "shipped":
            head = f"expected error (profile measured on this GPU; 9 of 10 of {self.runs} runs)"
        else:
            head = (
                f"expected error (no profile measured on this GPU: datasheet defaults; 9 of 10 "
                f"of {self.runs} runs on {where})"
            )
        published = ""
        if self.published_p90 is not None:
            published = f"; published runs on other GPUs: ±{self.published_p90:.0%}"
        return f"{head}: {terms}{published}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "bounds": dict(self.bounds),
            "runs": self.runs,
            "validated_on": list(self.validated_on),
            "published_p90": self.published_p90,
            "sentence": self.sentence(),
        }


@cache
def validation() -> dict[str, Any]:
    """The shipped validation table."""
    text = (resources.files("servecap") / "data" / "validation.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def expected_error(plan: MemoryPlan, profile: Profile | None = None) -> ExpectedError:
    """The bounds for simulating `plan` with `profile` (None: the default profile)."""
    if profile is not None:
        return ExpectedError("own profile")
    if plan.gpu is None:
        return ExpectedError("cpu defaults")
    basis = "shipped" if shipped_profile(plan.gpu.slug) else "datasheet"
    table = validation()
    entry = table.get(basis)
    published = table.get("published", {}).get("p90_error") if basis == "datasheet" else None
    if entry is None:
        return ExpectedError(basis, published_p90=published)
    metrics = entry["metrics"]
    bounds = {k: _up(metrics[k]["p90_error"]) for k in LABELS if k in metrics}
    runs = max((m["runs"] for m in metrics.values()), default=0)
    names = tuple(get_gpu(slug).name for slug in entry["gpus"])
    return ExpectedError(basis, bounds, runs, names, published)


def _up(value: float) -> float:
    """Rounded up to a whole percent."""
    return math.ceil(round(value * 100, 6)) / 100
