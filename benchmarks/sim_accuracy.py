"""How close `servecap simulate` comes to real vLLM, after calibrating on a different run.

1. Real vLLM (the CPU build) serves a small random Qwen3-like model with 64 KV blocks of 128
   tokens.
2. Calibration run (`servecap bench`): 12 streams, 36 requests, prompts of 64-320 tokens and
   answers of 32-256. KV is plentiful there: nothing waits for blocks.
3. Target run (`servecap bench`): 40 users at once with 455-token prompts and 400 output
   tokens. KV is scarce there: vLLM admits what fits, preempts as answers grow, queues the rest.
   Steps 2 and 3 alternate, at least four times and until three runs of each were steady
   (below), at most eight times.
4. `servecap calibrate` fits a step-time profile to each steady calibration run.
5. `servecap simulate` predicts the target run with each profile. The median of the
   predictions is printed against the median of the steady target runs, with the
   running/waiting time-course of the first of them against the prediction of median
   throughput.

Steady: this machine's speed drifts. For seconds to minutes an engine step takes up to twice
as long, and that can fall on any run. A run whose median engine step is over SLOW_RATIO times
that of the fastest run of the same workload is set aside, as a measurement of a slowed machine.

Usage: python benchmarks/sim_accuracy.py [--out DIR] [--rounds N]
       python benchmarks/sim_accuracy.py --reuse --out DIR   (fit and predict the saved runs again)
(needs scripts/setup-vllm; about 6 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from servecap import ServeConfig, make_plan
from servecap.hardware import cpu_has_native_bf16
from servecap.loadtest.bench import BenchConfig, run_bench
from servecap.loadtest.client import Endpoint
from servecap.loadtest.compare import Comparison, Row, compare_runs
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.records import RequestRecord
from servecap.loadtest.results import RunData, read_results
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.memory.plan import MemoryPlan
from servecap.report.compare_view import compare_table, course_table
from servecap.sim.calibrate import Calibration, calibrate
from servecap.sim.observed import LONG_STEP_S, observed_steps
from servecap.sim.simulate import simulate
from servecap.tinymodel import TinyModel, write_tiny_model
from servecap.vllm.launcher import LaunchSpec, VllmInstall, VllmServer, find_vllm

REPO = Path(__file__).resolve().parents[1]
# Qwen3-like, 4 layers x 1024 wide: ~11 ms a decode step here, so vLLM streams token by token.
# (The 2-layer, 128-wide test model decodes in ~1.5 ms, faster than vLLM's API server can
# stream on a shared core: its answers arrive in bursts and have no step timing to learn.)
SHAPE = TinyModel(
    architecture="qwen3",
    num_layers=4,
    hidden_size=1024,
    num_attention_heads=16,
    num_kv_heads=4,
    head_dim=64,
    intermediate_size=4096,
)
BLOCKS = 64
MAX_MODEL_LEN = 2048
VLLM_VERSION = "0.32.0"
# the model is bf16; a CPU without bf16 units emulates it, many times slower than float32
DTYPE = "auto" if cpu_has_native_bf16() else "float32"

# 12 streams reach the batch sizes the target runs at, with plentiful KV: 12 x 576 tokens at
# most, of 63 x 128. How a step's cost grows with the streams shows only across that range.
CALIBRATION = (
    LoadProfile("concurrency", requests=36, concurrency=12),
    WorkloadSpec(
        prompt_tokens=Lengths("uniform", 64, 320),
        output_tokens=Lengths("uniform", 32, 256),
        seed=11,
    ),
)
TARGET = (
    LoadProfile("users", requests=40),
    WorkloadSpec(
        prompt_tokens=Lengths("fixed", 455),
        output_tokens=Lengths("fixed", 400),
        seed=12,
    ),
)


@dataclass(frozen=True)
class Steps:
    """The engine's steps as the clients saw them (servecap.sim.observed).

    Steps over LONG_STEP_S are those with a prefill or a recompute; the median is a decode
    step. On a machine whose speed drifts, the median moves, and the slowest WINDOW_S window's
    median decode step shows a slow phase within the run.
    """

    median_s: float
    long_count: int
    long_total_s: float
    slowest_window_s: float


WINDOW_S = 4.0
ROUNDS = 4  # at least; more until STEADY_RUNS of each workload were steady, up to MAX_ROUNDS
MAX_ROUNDS = 8
STEADY_RUNS = 3
SLOW_RATIO = 1.15


def engine_steps(records: list[RequestRecord]) -> Steps:
    steps = observed_steps(records)
    gaps = [duration for _, _, duration in steps]
    long = [g for g in gaps if g > LONG_STEP_S]
    windows: dict[int, list[float]] = {}
    first = steps[0][0] if steps else 0.0
    for start, _, gap in steps:
        if gap <= LONG_STEP_S:
            windows.setdefault(int((start - first) // WINDOW_S), []).append(gap)
    medians = [statistics.median(w) for w in windows.values() if len(w) >= 20]
    return Steps(
        statistics.median(gaps) if gaps else math.nan,
        len(long),
        sum(long),
        max(medians) if medians else math.nan,
    )


def steady(runs: list[Steps]) -> list[bool]:
    """Which runs of one workload had this machine at its usual speed (module docstring)."""
    fastest = min(s.median_s for s in runs)
    return [s.median_s <= SLOW_RATIO * fastest for s in runs]


@dataclass
class Accuracy:
    calibrations: list[Calibration]  # one fit per steady calibration run
    comparisons: list[Comparison]  # each steady target run against the central prediction
    predictions: list[list[Row]]  # each fit's prediction (the `predicted` side of each row)
    calibration_steps: list[Steps]  # every calibration run's, steady or not
    measured_steps: list[Steps]  # every target run's
    predicted_steps: Steps  # the central prediction's

    @property
    def rows(self) -> list[Row]:
        """Each number's median over the steady target runs against its median over the fits."""
        first = self.comparisons[0].rows
        return [
            Row(
                row.label,
                _median([c.rows[i].measured for c in self.comparisons]),
                _median([p[i].predicted for p in self.predictions]),
                row.unit,
            )
            for i, row in enumerate(first)
        ]


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def plan_for(model_dir: Path) -> MemoryPlan:
    """The deployment as servecap plans it (the same flags the server runs with)."""
    return make_plan(
        model=str(model_dir),
        vllm_version=VLLM_VERSION,
        config=ServeConfig(
            device="cpu",
            kv_cache_space_gib=1,
            max_model_len=MAX_MODEL_LEN,
            num_gpu_blocks_override=BLOCKS,
            dtype=DTYPE,
        ),
    )


def start_server(install: VllmInstall, root: Path) -> tuple[VllmServer, Path]:
    model_dir = write_tiny_model(root / "model", SHAPE)
    spec = LaunchSpec(
        model=str(model_dir),
        args=[
            "--max-model-len",
            str(MAX_MODEL_LEN),
            "--num-gpu-blocks-override",
            str(BLOCKS),
            *(["--dtype", DTYPE] if DTYPE != "auto" else []),
        ],
        kv_cache_space_gib=1,
        log_path=root / "vllm.log",
    )
    server = VllmServer(spec, install).start()
    try:
        server.wait_ready(timeout=600)
    except BaseException:
        server.stop()
        raise
    return server, model_dir


def _bench(url: str, model: str, run: tuple[LoadProfile, WorkloadSpec], out: Path) -> Path:
    profile, workload = run
    config = BenchConfig(
        Endpoint(url, model, "completions"),  # no chat template: exact prompt lengths
        profile,
        workload,
        output=out,
        sample_interval_s=0.25,
        seed=workload.seed,
    )
    return asyncio.run(run_bench(config)).path


def measure_and_predict(url: str, model_dir: Path, out: Path, rounds: int = ROUNDS) -> Accuracy:
    """Measure the calibration and the target run alternately, at least `rounds` times and
    until STEADY_RUNS of each were steady; fit a profile to each steady calibration run and
    predict the target with each."""
    plan = plan_for(model_dir)
    model = str(model_dir)
    # a few requests first, so the calibration does not pay for the server's first steps
    warm = (LoadProfile("concurrency", requests=4, concurrency=2), CALIBRATION[1])
    _bench(url, model, warm, out / "warmup.jsonl")
    calibration_steps: list[Steps] = []
    target_steps: list[Steps] = []
    while len(target_steps) < max(rounds, MAX_ROUNDS):
        i = len(target_steps)
        for run, path, steps in (
            (CALIBRATION, out / f"calibration{i}.jsonl", calibration_steps),
            (TARGET, out / f"target{i}.jsonl", target_steps),
        ):
            steps.append(engine_steps(read_results([_bench(url, model, run, path)]).records))
        if len(target_steps) >= rounds and all(
            sum(steady(runs)) >= STEADY_RUNS for runs in (calibration_steps, target_steps)
        ):
            break
    return predict(plan, out, len(target_steps))


def _saved(out: Path, rounds: int) -> tuple[list[RunData], list[RunData]]:
    """The calibration and the target runs saved in `out`."""
    calibrations = [read_results([out / f"calibration{i}.jsonl"]) for i in range(rounds)]
    return calibrations, [read_results([out / f"target{i}.jsonl"]) for i in range(rounds)]


def predict(plan: MemoryPlan, out: Path, rounds: int) -> Accuracy:
    """Fit a profile to each steady calibration run saved in `out`, predict the target with each
    and set the predictions against the steady target runs."""
    calibration_runs, target_runs = _saved(out, rounds)
    calibration_steps = [engine_steps(r.records) for r in calibration_runs]
    target_steps = [engine_steps(r.records) for r in target_runs]
    fits = {
        i: calibrate(plan, run.records)
        for i, (run, ok) in enumerate(zip(calibration_runs, steady(calibration_steps), strict=True))
        if ok
    }
    targets = [run for run, ok in zip(target_runs, steady(target_steps), strict=True) if ok]
    # the simulated clients send what the real ones sent: the same prompt and output lengths
    predictions = []
    for i, fit in fits.items():
        fit.profile.save(out / f"profile{i}.json")
        simulated = out / f"target-simulated{i}.jsonl"
        predictions.append(simulate(plan, *TARGET, step_profile=fit.profile, output=simulated))
    first = (targets[0].records, targets[0].samples)
    predicted_rows = [compare_runs(first, (p.records, p.samples)).rows for p in predictions]
    throughput = [_row(rows, "output throughput").predicted or 0.0 for rows in predicted_rows]
    middle = sorted(range(len(predictions)), key=throughput.__getitem__)[len(predictions) // 2]
    central = predictions[middle]
    return Accuracy(
        list(fits.values()),
        [compare_runs((t.records, t.samples), (central.records, central.samples)) for t in targets],
        predicted_rows,
        calibration_steps,
        target_steps,
        engine_steps(central.records),
    )


def _row(rows: list[Row], label: str) -> Row:
    return next(r for r in rows if r.label == label)


def _medians(runs: list[Steps]) -> str:
    """Each run's median engine step; a set-aside run's in brackets."""
    return "/".join(
        f"{s.median_s * 1000:.1f}" if ok else f"({s.median_s * 1000:.1f})"
        for s, ok in zip(runs, steady(runs), strict=True)
    )


def steps_line(result: Accuracy) -> str:
    """The engine steps of every run, real (each run) against simulated."""
    real, sim = result.measured_steps, result.predicted_steps
    counts = "/".join(str(s.long_count) for s in real)
    totals = "/".join(f"{s.long_total_s:.1f}" for s in real)
    slowest = "/".join(f"{s.slowest_window_s * 1000:.1f}" for s in real)
    return (
        f"engine steps: median (a decode step) of the calibration runs "
        f"{_medians(result.calibration_steps)} ms; of the target runs, real "
        f"{_medians(real)} ms, simulated {sim.median_s * 1000:.1f} ms (in brackets: set aside, "
        f"over {SLOW_RATIO:g}x the fastest run); slowest {WINDOW_S:g}-s window's median real "
        f"{slowest} ms, simulated {sim.slowest_window_s * 1000:.1f} ms; steps over "
        f"{LONG_STEP_S * 1000:.0f} ms (prefills, recomputes) real {counts}, {totals} s in all, "
        f"simulated {sim.long_count}, {sim.long_total_s:.1f} s"
    )


def show(result: Accuracy, console: Console) -> None:
    profiles = [c.profile for c in result.calibrations]

    def spread(values: list[float], scale: float, unit: str) -> str:
        return f"{min(values) * scale:.3g}-{max(values) * scale:.3g} {unit}"

    console.print(
        f"calibrated on each of {len(profiles)} steady runs of {result.calibrations[0].requests} "
        f"requests: step overhead {spread([p.overhead_s for p in profiles], 1000, 'ms')}, compute "
        f"{spread([p.flops_efficiency for p in profiles], 1, 'x the CPU guess')}, API server "
        f"{spread([p.api_chunk_s for p in profiles], 1e6, 'us')} per chunk, request latency "
        f"{spread([p.request_latency_s for p in profiles], 1000, 'ms')}; fit error "
        f"{spread([c.error for c in result.calibrations], 100, '%')}"
    )
    console.print(
        f"\ntarget: {TARGET[0].requests} users at once, {TARGET[1].prompt_tokens.a:g}-token "
        f"prompts, {TARGET[1].output_tokens.a:g} output tokens, {BLOCKS} KV blocks of 128"
    )
    console.print(
        f"real vLLM: the median of {len(result.comparisons)} steady runs of "
        f"{len(result.measured_steps)}; simulated: the median of the {len(result.predictions)} "
        "fits' predictions"
    )
    console.print(compare_table(result.rows, "real vLLM", "simulated"))
    console.print(steps_line(result), "")
    console.print("the first steady run's time-course, against the fit of median throughput:")
    console.print(course_table(result.comparisons[0].course, "real vLLM", "simulated"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the result files here")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help=f"calibration and target runs, at least (default {ROUNDS}; with --reuse, all saved)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="no vLLM: fit and predict again from the runs saved in --out",
    )
    args = parser.parse_args()
    console = Console(highlight=False)
    if args.reuse:
        if args.out is None:
            sys.exit("--reuse needs --out DIR, the folder of an earlier run")
        saved = 0
        while (args.out / f"calibration{saved}.jsonl").exists() and (
            args.out / f"target{saved}.jsonl"
        ).exists():
            saved += 1
        rounds = saved if args.rounds is None else min(args.rounds, saved)
        if not rounds or not (args.out / "model").is_dir():
            sys.exit(f"{args.out} holds no saved rounds: run without --reuse first")
        show(predict(plan_for(args.out / "model"), args.out, rounds), console)
        return
    out = args.out or Path(tempfile.mkdtemp(prefix="servecap-sim-accuracy-"))
    out.mkdir(parents=True, exist_ok=True)
    python = (
        subprocess.run(
            [str(REPO / "scripts" / "setup-vllm")], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    install = find_vllm(python)
    if install is None:
        sys.exit("real vLLM is needed: run scripts/setup-vllm")
    console.print(f"starting vLLM {install.version} (CPU build); results in {out}")
    server, model_dir = start_server(install, out)
    try:
        result = measure_and_predict(server.url, model_dir, out, args.rounds or ROUNDS)
    finally:
        server.stop()
    show(result, console)


if __name__ == "__main__":
    main()
