"""`servecap simulate` with its default step-time profile against published GPU benchmarks.

No calibration: each case is planned from the catalogue (model, GPU, vLLM flags) and simulated
with the workload the publication describes; the prediction is printed beside the published
number (tests/fixtures/throughput_cases.json holds the sources). Cases whose workload is not
stated well enough to simulate, or that rely on prefix-cache hits across requests (which the
simulator models only for recomputed requests), are left out and listed.

Usage: python benchmarks/sim_published.py
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servecap import ServeConfig, make_plan
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.simulate import simulate

CASES_FILE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "throughput_cases.json"


@dataclass(frozen=True)
class Case:
    """How to simulate one published run, and which of its numbers to compare."""

    id: str
    model: str
    gpu: str
    settings: dict[str, Any]
    load: LoadProfile
    prompt_tokens: int
    output_tokens: int
    compare: tuple[tuple[str, str], ...]  # (published key, simulated metric)
    vllm_version: str | None = None


def _single(case_id: str, prompt: int, output: int, n: int) -> Case:
    # tt340: one request at a time on one A100 80GB (the bf16 model needs ~57 GiB)
    return Case(
        case_id,
        "Qwen/Qwen3-30B-A3B",
        "a100-80gb",
        {"max_model_len": 8192},
        LoadProfile("single", requests=n),
        prompt,
        output,
        (("request_tok_s_per_user", "tokens_per_s.p50"), ("mean_tpot_ms", "tpot_s.mean")),
    )


CASES = [
    _single("tt340-qwen3-30b-a3b-a100-isl128-osl128", 128, 128, 8),
    _single("tt340-qwen3-30b-a3b-a100-isl128-osl1024", 128, 1024, 4),
    _single("tt340-qwen3-30b-a3b-a100-isl1024-osl128", 1024, 128, 4),
    _single("tt340-qwen3-30b-a3b-a100-isl2048-osl128", 2048, 128, 4),
    _single("tt340-qwen3-30b-a3b-a100-isl3072-osl128", 3072, 128, 4),
    _single("tt340-qwen3-30b-a3b-a100-isl4096-osl128", 4096, 128, 2),
    *(
        Case(
            case_id,
            "Qwen/Qwen2.5-7B-Instruct-AWQ",
            "rtx-4080",
            {"max_model_len": 4096},
            LoadProfile("concurrency", requests=32, concurrency=conc),
            2930,
            512,
            compare,
            "0.26.0",
        )
        for case_id, conc, compare in (
            (
                "rtx4080-qwen2.5-7b-awq-c1-miss",
                1,
                (
                    ("output_tok_s", "output_throughput_tok_s"),
                    ("median_ttft_ms", "ttft_s.p50"),
                    ("median_tpot_ms", "tpot_s.p50"),
                ),
            ),
            (
                "rtx4080-qwen2.5-7b-awq-c8-miss",
                8,
                (("output_tok_s", "output_throughput_tok_s"), ("median_ttft_ms", "ttft_s.p50")),
            ),
        )
    ),
    *(
        Case(
            case_id,
            "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
            "l40s",
            {
                "tensor_parallel_size": 8,
                "enable_expert_parallel": True,
                "gpu_memory_utilization": 0.9,
                "max_model_len": 32768,
            },
            LoadProfile("concurrency", requests=streams, concurrency=streams),
            100,  # not stated: a short chat prompt
            2000,  # "1852-2169 tokens per stream"
            (("request_tok_s_per_user", "tokens_per_s.p50"),),
            "0.10.2",
        )
        for case_id, streams in (
            ("l40s-qwen3-235b-fp8-tp8-c1", 1),
            ("l40s-qwen3-235b-fp8-tp8-c8", 8),
            ("l40s-qwen3-235b-fp8-tp8-c32", 32),
        )
    ),
]


def published_value(raw: Any) -> float | None:
    """A number, or the middle of a published range such as "22.900-23.409"."""
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str) and "-" in raw:
        low, high = (float(x) for x in raw.split("-"))
        return (low + high) / 2
    return None


def simulated_value(summary: dict[str, Any], metric: str) -> float | None:
    key, _, stat = metric.partition(".")
    value = summary.get(key)
    if stat:
        value = value.get(stat) if isinstance(value, dict) else None
    if value is None:
        return None
    # latencies print in ms, as published
    return float(value) * (1000 if key in ("ttft_s", "tpot_s") else 1)


def published_errors() -> list[tuple[str, str, str, float, float, float]]:
    """(case, GPU, published key, published, simulated, relative error) for every number."""
    published = {c["id"]: c for c in json.loads(CASES_FILE.read_text())}
    found = []
    for case in CASES:
        source = published[case.id]
        plan = make_plan(
            model=case.model,
            gpu=case.gpu,
            vllm_version=case.vllm_version,
            config=ServeConfig.from_values(dict(case.settings)),
        )
        workload = WorkloadSpec(
            prompt_tokens=Lengths("fixed", case.prompt_tokens),
            output_tokens=Lengths("fixed", case.output_tokens),
        )
        summary = simulate(plan, case.load, workload).summary.to_dict()
        for key, metric in case.compare:
            theirs = published_value(source.get(key))
            ours = simulated_value(summary, metric)
            if theirs is not None and ours is not None:
                found.append((case.id, case.gpu, key, theirs, ours, (ours - theirs) / theirs))
    return found


def main() -> None:
    errors: list[float] = []
    print(f"{'case':<42} {'metric':<24} {'published':>10} {'simulated':>10} {'error':>8}")
    for case_id, _, key, theirs, ours, error in published_errors():
        errors.append(abs(error))
        print(f"{case_id:<42} {key:<24} {theirs:>10.1f} {ours:>10.1f} {error:>+8.1%}")
    ids = {c["id"] for c in json.loads(CASES_FILE.read_text())}
    left_out = sorted(ids - {c.id for c in CASES})
    print(
        f"\n{len(errors)} numbers from {len(CASES)} published runs, default profile: "
        f"median |error| {statistics.median(errors):.1%}, within 15%: "
        f"{sum(e <= 0.15 for e in errors) / len(errors):.0%}, within 30%: "
        f"{sum(e <= 0.30 for e in errors) / len(errors):.0%}"
    )
    print(f"left out ({len(left_out)}): " + ", ".join(left_out))


if __name__ == "__main__":
    main()
