"""How fast `servecap simulate` runs: 10,000 requests through a 64-stream deployment.

The workload: Llama-3.1-8B-Instruct on one H100 SXM (vLLM 0.24 defaults), 64 streams in a
closed loop, prompts of 100-2,000 tokens and answers of 50-800 tokens. The simulation is
timed on one core (the process is pinned where the OS allows) and printed as requests
simulated per wall-clock second, and against the time the simulated server itself takes
(the speed-up over running the same test on real hardware).

Usage: python benchmarks/sim_speed.py [--requests 10000] [--concurrency 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from servecap import ServeConfig, make_plan
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.simulate import simulate

TARGET_S = 2.0  # the bound for 10,000 requests through 64 streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    plan = make_plan(
        model="meta-llama/Llama-3.1-8B-Instruct",
        gpu="h100-sxm",
        vllm_version="0.24.0",
        config=ServeConfig(max_model_len=8192),
    )
    workload = WorkloadSpec(
        prompt_tokens=Lengths("uniform", 100, 2000),
        output_tokens=Lengths("uniform", 50, 800),
        seed=1,
    )
    profile = LoadProfile("concurrency", requests=args.requests, concurrency=args.concurrency)
    walls, result = [], None
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = simulate(plan, profile, workload)
        walls.append(time.perf_counter() - start)
    assert result is not None
    wall = statistics.median(walls)
    simulated = result.summary.duration_s
    print(
        f"{args.requests:,} requests, {args.concurrency} streams, {plan.model.name} on "
        f"{plan.gpu.name if plan.gpu else 'CPU'}: {result.summary.engine_steps:,} engine steps, "
        f"{simulated:,.0f} s of serving"
    )
    print(
        f"wall time (median of {args.repeat}, one core): {wall:.2f} s -> "
        f"{args.requests / wall:,.0f} requests simulated per second; "
        f"{simulated / wall:,.0f}x faster than the server it simulates"
    )
    verdict = "within" if wall < TARGET_S else "OVER"
    print(f"target: under {TARGET_S:g} s for 10,000 requests through 64 streams: {verdict}")


if __name__ == "__main__":
    main()
