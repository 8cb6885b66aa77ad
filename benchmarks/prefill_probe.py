"""Real vLLM's prefill time on the CPU build against the step-time model's, prompt by prompt.

Starts the server of benchmarks/sim_accuracy.py (4-layer wide random Qwen3, 64 KV blocks) and
keeps one long answer decoding throughout, so the engine is busy as in a load test (an idle
CPU engine pays tens of milliseconds to pick up the first request). Then it sends one request at
a time with prompts of 64 to 1,536 tokens and two output tokens (a random model's single token
may decode to no text, which streams no timed chunk), three times each, and prints each
TTFT beside the model's time for the step that prefills it next to the running decode, plus its
request latency, with the given calibrated profile (or the CPU defaults). A TTFT also holds the
wait for the step under way, about half a decode step.

Usage: python benchmarks/prefill_probe.py [--profile PROFILE.json] [--out DIR]
(needs scripts/setup-vllm; about 80 s on 2 cores)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import tempfile
from pathlib import Path

import sim_accuracy

from servecap.loadtest.bench import BenchConfig, run_bench
from servecap.loadtest.client import Endpoint
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.results import read_results
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.steptime import Profile, StepTimeModel, build_model
from servecap.vllm.launcher import find_vllm

PROMPTS = (64, 256, 512, 1024, 1536)
REPEATS = 3
BACKGROUND_CONTEXT = 100  # tokens the decoding answer holds, roughly, while the probes run


def _config(
    url: str, model: str, profile: LoadProfile, prompt: int, output: int, out: Path, seed: int
) -> BenchConfig:
    workload = WorkloadSpec(
        prompt_tokens=Lengths("fixed", prompt), output_tokens=Lengths("fixed", output), seed=seed
    )
    return BenchConfig(
        Endpoint(url, model, "completions"), profile, workload, output=out, seed=seed
    )


def modelled_ttft(step: StepTimeModel, prompt: int) -> float:
    """One step prefilling `prompt` tokens beside one decode, plus the request latency."""
    context = prompt + BACKGROUND_CONTEXT
    pairs = prompt * prompt / 2 + BACKGROUND_CONTEXT
    return step.step_s(prompt, 1, context, pairs) + step.profile.request_latency_s


async def probe(url: str, model: str, out: Path) -> dict[int, list[float]]:
    """TTFT of each probe prompt length, while one other answer decodes."""
    warm = _config(
        url,
        model,
        LoadProfile("concurrency", requests=4, concurrency=2),
        200,
        16,
        out / "warmup.jsonl",
        1,
    )
    await run_bench(warm)
    long_answer = _config(
        url, model, LoadProfile("single", requests=1), 32, 1900, out / "background.jsonl", 2
    )
    background = asyncio.create_task(run_bench(long_answer))
    await asyncio.sleep(2)
    ttfts: dict[int, list[float]] = {p: [] for p in PROMPTS}
    try:
        for repeat in range(REPEATS):
            for i, prompt in enumerate(PROMPTS):
                seed = 100 + 10 * repeat + i  # fresh prompts: no prefix-cache hits
                config = _config(
                    url,
                    model,
                    LoadProfile("single", requests=1),
                    prompt,
                    2,
                    out / f"probe-{prompt}-{repeat}.jsonl",
                    seed,
                )
                records = read_results([(await run_bench(config)).path]).records
                ttfts[prompt] += [r.ttft_s for r in records if r.ok and r.ttft_s is not None]
                await asyncio.sleep(0.3)
    finally:
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background
    return ttfts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", type=Path, default=None, help="a calibrated profile")
    parser.add_argument("--out", type=Path, default=None, help="keep the result files here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="servecap-prefill-"))
    out.mkdir(parents=True, exist_ok=True)
    setup = sim_accuracy.REPO / "scripts" / "setup-vllm"
    python = subprocess.run([str(setup)], capture_output=True, text=True, check=True)
    install = find_vllm(python.stdout.strip().splitlines()[-1])
    if install is None:
        raise SystemExit("real vLLM is needed: run scripts/setup-vllm")
    server, model_dir = sim_accuracy.start_server(install, out)
    try:
        ttfts = asyncio.run(probe(server.url, str(model_dir), out))
    finally:
        server.stop()
    step = build_model(
        sim_accuracy.plan_for(model_dir), Profile.load(args.profile) if args.profile else None
    )
    print(f"profile: {step.profile.source}; results in {out}")
    for prompt, measured in ttfts.items():
        shown = ", ".join(f"{t * 1000:.0f}" for t in measured)
        modelled = modelled_ttft(step, prompt) * 1000
        print(f"{prompt:>5}-token prompt: TTFT {shown} ms; model {modelled:.0f} ms")


if __name__ == "__main__":
    main()
