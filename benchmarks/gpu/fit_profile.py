"""Fit one step-time profile to the planned measurements of several models on one GPU
(benchmarks/gpu/campaign.sh), save it, and print every measured point against the default
profile and the fitted one.

    python benchmarks/gpu/fit_profile.py benchmarks/gpu/h100 h100-sxm \
        [--save src/servecap/data/profiles/h100-sxm.json]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from servecap import ServeConfig, make_plan
from servecap.sim.fit import fit_profile, measured_points, predict
from servecap.sim.simulate import engine_config
from servecap.sim.steptime import PRIOR, build_model

MODELS = {
    "qwen3-1.7b": "Qwen/Qwen3-1.7B",
    "qwen3-8b": "Qwen/Qwen3-8B",
    "qwen3-14b": "Qwen/Qwen3-14B",
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("gpu")
    parser.add_argument("--vllm-version", default="0.24.0")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--source", default="measured with vLLM 0.24.0 (benchmarks/gpu)")
    args = parser.parse_args()
    measurements = []
    for folder, model in MODELS.items():
        if (args.folder / folder).is_dir():
            plan = make_plan(model, ServeConfig(), args.gpu, vllm_version=args.vllm_version)
            measurements.append((model, plan, measured_points(args.folder / folder, bursts=True)))
    fitted_points = [[p for p in points if p.kind != "burst"] for _, _, points in measurements]
    plans = [plan for _, plan, _ in measurements]
    fit = fit_profile(list(zip(plans, fitted_points, strict=True)), start=PRIOR)
    print(f"{fit.points} points; RMS log error {fit.before:.3f} with the defaults, "
          f"{fit.rms_log_error:.3f} fitted")  # fmt: skip
    for name, spread in fit.spread.items():
        print(f"  {name:<22} {getattr(fit.profile, name):.4g}  (+-{spread:.0%})")
    print(f"\n{'model':<20} {'step':<14} {'measured':>10} {'default':>8} {'fitted':>8}")
    errors = []
    for model, plan, points in measurements:
        default, fitted = build_model(plan, PRIOR), build_model(plan, fit.profile)
        config = engine_config(plan)
        for p in points:
            d = predict(default, p, config) / p.seconds - 1
            f = predict(fitted, p, config) / p.seconds - 1
            if p.kind != "burst":
                errors.append(abs(f))
            unit = {"decode": "TPOT", "prefill": "TTFT", "burst": "TTFT, not fitted"}[p.kind]
            print(f"{model:<20} {p.source:<14} {p.seconds * 1000:>7.2f} ms {d:>+8.0%} {f:>+8.0%}"
                  f"  {unit}")  # fmt: skip
    within = sum(e <= 0.15 for e in errors) / len(errors)
    print(f"\nfitted: {within:.0%} of the fitted points within 15%")
    if args.save:
        replace(fit.profile, source=f"{args.source}, {fit.profile.source}").save(args.save)
        print(f"saved to {args.save}")


if __name__ == "__main__":
    main()
