"""`simulate`: run a bench-style workload through the simulated engine of a planned deployment."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import InvalidValueError
from ..loadtest.load import LoadProfile, load_steps
from ..loadtest.records import RequestRecord
from ..loadtest.results import ResultWriter
from ..loadtest.slo import SLO
from ..loadtest.steps import RunResult, Step, capacity_sentence, summarize_step
from ..loadtest.summary import summarize_run
from ..loadtest.workload import WorkloadSpec, sample_lengths
from ..memory.plan import MemoryPlan
from ..vllm.metrics import ServerSample
from .engine import Simulator
from .scheduler import EngineConfig
from .steptime import Profile, build_model

SEED_PROMPT_TOKENS = 18  # the seed's short chat prompts, chat template included
STEP_GAP_S = 1.0  # simulated idle time between two steps of a sweep


def engine_config(result: MemoryPlan, prefix_caching: bool = True) -> EngineConfig:
    """The scheduler limits of a planned deployment; refuses one that does not start."""
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
) -> RunResult:
    """Simulate each load step, one after another on one clock, as `bench` would run them.

    The result is `bench`'s: the pooled summary and each step's. With `output`, the records
    and the simulated /metrics timeline go to a result file that `servecap report` reads.
    """
    config = engine_config(result, prefix_caching)
    model = build_model(result, step_profile)
    slos = slos or []
    sweep = bool(sweep_users or sweep_rates)
    mode = "sweep" if sweep else profile.mode
    meta = {
        "tool": "servecap simulate",
        "model": result.model.name,
        "gpu": result.gpu.slug if result.gpu else "cpu",
        "mode": mode,
        "simulated": True,
        "profile": model.profile.source,
        "slos": [s.spec for s in slos],
    }
    writer = ResultWriter(output, meta) if output else None
    steps: list[Step] = []
    engine_steps_by_phase: dict[str, int] = {}
    records: list[RequestRecord] = []
    samples: list[ServerSample] = []
    engine_steps = 0
    offset = 0.0
    try:
        for load in load_steps(profile, sweep_users, sweep_rates):
            lengths = workload_lengths(workload, load.requests)
            _check_context(lengths, config.max_model_len)
            run = Simulator(config, model).run(load.profile, lengths, seed)
            step_records = [_shifted(r, offset, load.phase) for r in run.records]
            step_samples = [replace(s, time_s=s.time_s + offset) for s in run.samples]
            if writer:
                for record in step_records:
                    writer.request(record)
                for sample in step_samples:
                    writer.server(sample)
            steps.append(
                summarize_step(
                    load.phase,
                    load.load,
                    load.unit,
                    step_records,
                    step_samples,
                    load.profile.mode,
                    slos,
                    simulated=True,
                    engine_steps=run.steps,
                )
            )
            records += step_records
            samples += step_samples
            engine_steps += run.steps
            engine_steps_by_phase[load.phase] = run.steps
            offset += run.sim_seconds + STEP_GAP_S
    finally:
        if writer:
            writer.close("complete", engine_steps=engine_steps_by_phase)
    summary = summarize_run(records, samples, mode, slos, simulated=True, engine_steps=engine_steps)
    capacity = capacity_sentence(steps, slos)
    return RunResult(summary, steps, output, capacity, None, records, samples)


def _check_context(lengths: list[tuple[int, int]], max_model_len: int) -> None:
    """vLLM answers a request whose prompt and answer exceed the context with HTTP 400
    (vllm/entrypoints/openai/serving_engine.py, _validate_input); refuse such a workload."""
    longest = max((p + o for p, o in lengths), default=0)
    if longest > max_model_len:
        raise InvalidValueError(
            f"a request of {longest:,} prompt and answer tokens exceeds --max-model-len "
            f"{max_model_len:,} (vLLM refuses it with HTTP 400)",
            "shorten --prompt-tokens or --output-tokens, or raise --max-model-len",
        )


def _shifted(record: RequestRecord, offset: float, phase: str) -> RequestRecord:
    """The record on the run's clock, `offset` seconds later, labelled with its step."""
    if not offset:
        record.phase = phase
        return record
    return replace(
        record,
        phase=phase,
        scheduled_s=record.scheduled_s + offset,
        send_s=record.send_s + offset,
        first_token_s=None if record.first_token_s is None else record.first_token_s + offset,
        end_s=None if record.end_s is None else record.end_s + offset,
        chunk_times_s=[t + offset for t in record.chunk_times_s],
    )
