"""`simulate`: run a bench-style workload through the simulated engine of a planned deployment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidValueError
from ..loadtest.records import RequestRecord
from ..loadtest.results import ResultWriter
from ..loadtest.runner import LoadProfile
from ..loadtest.slo import SLO
from ..loadtest.workload import WorkloadSpec, sample_lengths
from ..memory.plan import MemoryPlan
from ..report.bench_summary import summarize
from ..vllm.metrics import ServerSample
from .engine import EngineConfig, Simulator
from .steptime import Profile, build_model

SEED_PROMPT_TOKENS = 18  # the seed's short chat prompts, chat template included


@dataclass
class SimStep:
    phase: str
    load: float
    summary: dict[str, Any]
    records: list[RequestRecord] = field(default_factory=list)
    samples: list[ServerSample] = field(default_factory=list)


def engine_config(result: MemoryPlan, prefix_caching: bool = True) -> EngineConfig:
    if not result.fits:
        raise InvalidValueError(
            "the deployment does not start: " + (result.error or "it does not fit"),
            "change the settings until `servecap plan` says it fits",
        )
    return EngineConfig(
        num_blocks=result.num_blocks,
        block_size=result.block_size,
        max_num_seqs=result.limits.max_num_seqs,
        max_num_batched_tokens=result.limits.max_num_batched_tokens,
        max_model_len=result.max_model_len,
        prefix_caching=prefix_caching,
    )


def steps_for(
    profile: LoadProfile, sweep_users: list[int], sweep_rates: list[float]
) -> list[tuple[str, LoadProfile, float, int]]:
    """(phase, profile, load, request count) per step, as `bench` runs them."""
    if sweep_users:
        return [(f"users={n}", LoadProfile("users", requests=n), n, n) for n in sweep_users]
    if sweep_rates:
        count = profile.requests or 100
        return [
            (
                f"rate={r:g}",
                LoadProfile("rate", requests=count, rate=r, burstiness=profile.burstiness),
                r,
                count,
            )
            for r in sweep_rates
        ]
    if profile.mode in ("users", "single"):
        count = profile.requests or 1
        return [("", profile, float(count if profile.mode == "users" else 1), count)]
    count = profile.requests or (
        max(64, (profile.concurrency or 1) * 4) if profile.duration_s else 100
    )
    load = profile.concurrency if profile.mode == "concurrency" else profile.rate
    return [("", profile, float(load or 0), count)]


def workload_lengths(workload: WorkloadSpec, count: int) -> list[tuple[int, int]]:
    """Prompt and output lengths the simulated clients send (the same ones `bench` sends)."""
    if workload.source == "random":
        lengths = sample_lengths(workload, count)
    elif workload.source == "seed":
        lengths = [(SEED_PROMPT_TOKENS, o) for _, o in sample_lengths(workload, count)]
    else:
        raise InvalidValueError(
            f"simulate takes random or seed workloads, not {workload.source}",
            "describe the dataset with --prompt-tokens and --output-tokens distributions",
        )
    return [(max(1, p), max(1, o)) for p, o in lengths]


def simulate(
    result: MemoryPlan,
    profile: LoadProfile,
    workload: WorkloadSpec,
    sweep_users: list[int] | None = None,
    sweep_rates: list[float] | None = None,
    slos: list[SLO] | None = None,
    step_profile: Profile | None = None,
    prefix_caching: bool = True,
    output: Path | None = None,
    seed: int = 0,
) -> list[SimStep]:
    """Simulate each load step; optionally write bench-format records and a /metrics timeline."""
    config = engine_config(result, prefix_caching)
    model = build_model(result, step_profile)
    writer = (
        ResultWriter(
            output,
            {
                "tool": "servecap simulate",
                "model": result.model.name,
                "gpu": result.gpu.slug if result.gpu else "cpu",
                "mode": "sweep" if (sweep_users or sweep_rates) else profile.mode,
                "simulated": True,
                "profile": model.profile.source,
            },
        )
        if output
        else None
    )
    steps = []
    offset = 0.0
    try:
        for phase, step_profile_, load, count in steps_for(
            profile, sweep_users or [], sweep_rates or []
        ):
            lengths = workload_lengths(workload, count)
            sim = Simulator(config, model)
            run = sim.run(step_profile_, lengths, seed)
            for record in run.records:
                record.phase = phase
            summary = summarize(run.records, run.samples, step_profile_.mode, slos or [])
            summary["simulated"] = True
            summary["sim_steps"] = run.steps
            steps.append(SimStep(phase, load, summary, run.records, run.samples))
            if writer:
                _write(writer, run.records, run.samples, offset)
            offset += run.sim_seconds + 1.0
    finally:
        if writer:
            writer.close("complete")
    return steps


def _write(
    writer: ResultWriter, records: list[RequestRecord], samples: list[ServerSample], offset: float
) -> None:
    from dataclasses import replace

    for record in records:
        shifted = replace(
            record,
            scheduled_s=record.scheduled_s + offset,
            send_s=record.send_s + offset,
            first_token_s=None if record.first_token_s is None else record.first_token_s + offset,
            end_s=None if record.end_s is None else record.end_s + offset,
            chunk_times_s=[t + offset for t in record.chunk_times_s],
        )
        writer.request(shifted)
    for sample in samples:
        writer.server(replace(sample, time_s=sample.time_s + offset))
