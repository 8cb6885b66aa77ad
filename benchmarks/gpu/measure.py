"""Run servecap's planned measurement (servecap.sim.measure) against a live vLLM, and keep
every result file: the data the shipped step-time profiles are fitted to.

    python benchmarks/gpu/measure.py --url http://127.0.0.1:8011 --model Qwen/Qwen3-8B \
        --gpu h100-sxm --vllm-version 0.24.0 --out DIR [--quick] [vllm serve flags]

`--model` is the catalogue id the server serves (`--served-model-name`); its plan, with the
given flags, caps the batches and prompts at what the deployment holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from servecap import Endpoint, ServeConfig, make_plan
from servecap.sim.measure import MeasureStep, measurement_plan, run_measurement
from servecap.vllm.serve_config import parse_serve_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--gpu", default=None)
    parser.add_argument("--vllm-version", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--kv-cache-space-gib", type=float, default=None)
    args, flags = parser.parse_known_args()
    values = parse_serve_command(flags).values
    config = ServeConfig.from_values(
        {**values, "device": args.device, "kv_cache_space_gib": args.kv_cache_space_gib}
    )
    plan = make_plan(args.model, config, args.gpu, vllm_version=args.vllm_version)
    steps = measurement_plan(plan, quick=args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "plan.json").write_text(json.dumps(plan.to_dict(), indent=1))
    started = time.monotonic()

    def say(i: int, step: MeasureStep) -> None:
        elapsed = time.monotonic() - started
        print(f"[{elapsed:6.1f} s] {i + 1}/{len(steps)} {step.name}", flush=True)

    endpoint = Endpoint(args.url, args.model, "completions")
    results = asyncio.run(run_measurement(endpoint, steps, args.out, say))
    for step, result in zip(steps, results, strict=True):
        s = result.summary
        print(
            f"{step.name:>14}: {s.succeeded}/{s.requests} ok, TTFT p50 "
            f"{(s.ttft_s.p50 or 0) * 1000:8.1f} ms, TPOT p50 {(s.tpot_s.p50 or 0) * 1000:6.2f} ms, "
            f"{s.output_throughput_tok_s or 0:9.1f} tok/s"
        )
    print(f"measured in {time.monotonic() - started:.0f} s; files in {args.out}")


if __name__ == "__main__":
    main()
