"""A short, planned measurement of a live server, for fitting the step-time model to it.

Each step is one `bench` run that isolates a part of an engine step's cost: decode at batch
sizes from 1 to what the deployment holds (the weights read, the per-sequence costs), decode
over long contexts (the KV the attention reads), single prefills from short to long prompts
(the GEMMs, and the API server's latency before a request reaches the engine), and a mixed run
with arrivals (prefill chunks inside decode steps). Every step writes its own result file, so
`servecap calibrate` reads them all, and a cut-off measurement keeps what it finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..loadtest.bench import BenchConfig, BenchProgress, run_bench
from ..loadtest.client import Endpoint, open_session
from ..loadtest.load import LoadProfile
from ..loadtest.steps import RunResult
from ..loadtest.workload import Lengths, WorkloadSpec
from ..memory.plan import MemoryPlan
from .fit import Fit, fit_profile, measured_points

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PREFILLS = (128, 512, 2048, 8192)
DECODE_PROMPT, DECODE_OUTPUT = 128, 256
LONG_BATCHES = (1, 8, 32)
LONG_OUTPUT = 128
KV_SHARE = 0.8  # a step's requests may hold this share of the KV cache at their longest


@dataclass(frozen=True)
class MeasureStep:
    """One bench run of the measurement."""

    name: str
    profile: LoadProfile
    workload: WorkloadSpec
    warmup: int = 0


def _fixed(prompt: int, output: int, seed: int) -> WorkloadSpec:
    return WorkloadSpec(
        prompt_tokens=Lengths("fixed", prompt), output_tokens=Lengths("fixed", output), seed=seed
    )


def measurement_plan(plan: MemoryPlan, quick: bool = False) -> list[MeasureStep]:
    """The steps for a deployment: batches and prompts capped by its seats, context and KV."""
    seats = plan.limits.max_num_seqs
    context = plan.max_model_len
    tokens = plan.kv_cache_tokens * KV_SHARE

    def fits(batch: int, prompt: int, output: int) -> bool:
        return batch <= seats and batch * (prompt + output) <= tokens

    batches = BATCHES[::2] if quick else BATCHES
    steps = [
        MeasureStep("warmup", LoadProfile("users", requests=16), _fixed(64, 16, 0), warmup=0),
    ]
    for batch in batches:
        if fits(batch, DECODE_PROMPT, DECODE_OUTPUT):
            steps.append(
                MeasureStep(
                    f"decode-b{batch}",
                    LoadProfile("users", requests=batch),
                    _fixed(DECODE_PROMPT, DECODE_OUTPUT, batch),
                )
            )
    long_prompt = min(4096, context // 2)
    for batch in LONG_BATCHES:
        if long_prompt > 2 * DECODE_PROMPT and fits(batch, long_prompt, LONG_OUTPUT):
            steps.append(
                MeasureStep(
                    f"long-b{batch}",
                    LoadProfile("users", requests=batch),
                    _fixed(long_prompt, LONG_OUTPUT, 100 + batch),
                )
            )
    for prompt in PREFILLS:
        if prompt + 16 <= context and fits(1, prompt, 16):
            steps.append(
                MeasureStep(
                    f"prefill-{prompt}",
                    LoadProfile("single", requests=2 if quick else 3),
                    _fixed(prompt, 16, 200 + prompt),
                )
            )
    mixed_prompt = Lengths("uniform", 128, max(256, min(2048, context // 4)))
    mixed_output = Lengths("uniform", 32, 256)
    if fits(16, int(mixed_prompt.b), int(mixed_output.b)):
        steps.append(
            MeasureStep(
                "mixed",
                LoadProfile("concurrency", requests=48 if quick else 96, concurrency=16),
                WorkloadSpec(prompt_tokens=mixed_prompt, output_tokens=mixed_output, seed=300),
            )
        )
    return steps


async def run_measurement(
    endpoint: Endpoint,
    steps: list[MeasureStep],
    out_dir: Path,
    on_step: Callable[[int, MeasureStep], None] | None = None,
    progress: BenchProgress | None = None,
) -> list[RunResult]:
    """Run each step against the server, one after another on one session; each step's
    requests land in OUT_DIR/NN-NAME.jsonl as they finish (the warm-up's too)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    async with open_session() as session:
        for i, step in enumerate(steps):
            if on_step:
                on_step(i, step)
            config = BenchConfig(
                endpoint,
                step.profile,
                step.workload,
                warmup=step.warmup,
                output=out_dir / f"{i:02d}-{step.name}.jsonl",
                sample_interval_s=0.25,
            )
            results.append(await run_bench(config, progress, session=session))
    return results


def measured_files(out_dir: Path) -> list[Path]:
    """The result files a measurement left in `out_dir`, in order, the warm-up left out."""
    return sorted(p for p in out_dir.glob("[0-9][0-9]-*.jsonl") if not p.stem.endswith("warmup"))


def fit_measurement(plan: MemoryPlan, folder: Path) -> Fit:
    """Fit a profile to the result files a measurement left in `folder`, starting from the
    deployment's default profile (so the fit says how far off that default was)."""
    return fit_profile([(plan, measured_points(folder))])


async def measure_server(
    endpoint: Endpoint,
    plan: MemoryPlan,
    out_dir: Path,
    quick: bool = False,
    on_step: Callable[[int, MeasureStep], None] | None = None,
    progress: BenchProgress | None = None,
) -> Fit:
    """Measure a live server with the deployment's planned steps, then fit its profile."""
    await run_measurement(endpoint, measurement_plan(plan, quick), out_dir, on_step, progress)
    return fit_measurement(plan, out_dir)
