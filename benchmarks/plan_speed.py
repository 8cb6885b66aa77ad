"""How long `servecap plan` takes for a catalogue model, interpreter start-up included.

Prints the median wall time of the CLI over several runs, next to a bare `python -c pass`
measured in the same run, and the ratio between them.

Usage: python benchmarks/plan_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

PLAN = [
    sys.executable,
    "-m",
    "servecap",
    "plan",
    "Qwen/Qwen3-4B",
    "--gpu",
    "rtx-4090",
    "--gpu-memory-utilization",
    "0.5",
    "--max-model-len",
    "10000",
    "--json",
]
BARE = [sys.executable, "-c", "pass"]


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    median_seconds(PLAN, 2)  # warm the file cache
    plan = median_seconds(PLAN, args.runs)
    bare = median_seconds(BARE, args.runs)
    print(f"servecap plan (catalogue model, --json): {plan * 1000:7.1f} ms median of {args.runs}")
    print(f"python -c pass (interpreter alone):      {bare * 1000:7.1f} ms")
    print(
        f"ratio: {plan / bare:.1f}x the bare interpreter; "
        + (
            "well under one second"
            if plan < 0.5
            else "under one second"
            if plan < 1
            else "NOT under one second"
        )
    )


if __name__ == "__main__":
    main()
