"""How close `servecap plan` comes to vLLM's own start-up numbers.

Runs the plan over logged vLLM start-ups and prints, per case, the predicted and logged
KV-cache tokens and the error, then the median error and the share within 1% and 5%.

Two checks:
  full      everything predicted from config.json, GPU, flags and version (the real test)
  geometry  vLLM's logged KV budget given, tokens predicted (blocks, groups, token formula)

Usage: python benchmarks/plan_accuracy.py [CASES.json] [--facts FACTS.json] [--anchors A.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from servecap import ServeConfig, get_gpu, parse_config, parse_version, plan
from servecap.models.resolve import catalogue_entry
from servecap.units import GiB

TESTS = Path(__file__).resolve().parent.parent / "tests"
FIXTURES = TESTS / "fixtures"
sys.path.insert(0, str(TESTS))
from startup_cases import check_case, load_cases  # noqa: E402


def summarise(label: str, errors: list[float]) -> None:
    if not errors:
        print(f"{label}: no cases")
        return
    absolute = [abs(e) for e in errors]
    within1 = sum(a <= 0.01 for a in absolute) / len(absolute)
    within5 = sum(a <= 0.05 for a in absolute) / len(absolute)
    print(
        f"{label}: {len(errors)} cases, median |error| {statistics.median(absolute):.2%}, "
        f"within 1%: {within1:.0%}, within 5%: {within5:.0%}"
    )


def anchor_plan(row: dict[str, Any], model_configs: dict[str, Any]) -> int:
    entry = catalogue_entry(row["config"])
    raw = entry[1]["config"] if entry else model_configs[row["config"]]
    spec = parse_config(raw, row["config"])
    config = ServeConfig(
        tensor_parallel_size=row["tensor_parallel_size"],
        pipeline_parallel_size=row["pipeline_parallel_size"],
        kv_cache_dtype=row["kv_cache_dtype"],
        dtype=row["dtype"],
        max_model_len=row["max_model_len"],
        kv_cache_memory_bytes=int(row["available_kv_gib"] * GiB),
    )
    result = plan(spec, get_gpu("h100-sxm"), config, parse_version(row["vllm_version"] or "0.19.0"))
    return result.kv_cache_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", default=str(FIXTURES / "vllm_startup_cases.json"))
    parser.add_argument("--facts", default=str(FIXTURES / "startup_case_facts.json"))
    parser.add_argument("--anchors", default=str(FIXTURES / "kv_anchors.json"))
    args = parser.parse_args()

    print(f"{'case':48} {'check':9} {'predicted':>11} {'logged':>11} {'error':>8}  note")
    full_known: list[float] = []
    full_assumed: list[float] = []
    geometry: list[float] = []
    for case in load_cases(args.cases, args.facts if Path(args.facts).exists() else None):
        for kv_from_log in (False, True):
            if kv_from_log and case.get("available_kv_gib") is None:
                continue
            result = check_case(case, kv_from_log=kv_from_log, assume_version="0.11.0")
            check = "geometry" if kv_from_log else "full"
            error = result.token_error
            note = "" if result.known else "assumed: " + ", ".join(result.missing)
            if result.plan is None or error is None:
                reason = result.error or note or "no logged token count"
                print(f"{case['id'][:48]:48} {check:9} {'-':>11} {'-':>11} {'-':>8}  {reason}")
                continue
            print(
                f"{case['id'][:48]:48} {check:9} {result.predicted_tokens:>11,} "
                f"{result.logged_tokens:>11,} {error:>+8.2%}  {note}"
            )
            if kv_from_log:
                geometry.append(error)
            elif result.known:
                full_known.append(error)
            else:
                full_assumed.append(error)

    if Path(args.anchors).exists():
        model_configs = json.loads((FIXTURES / "model_configs.json").read_text())
        rows = json.loads(Path(args.anchors).read_text())["anchors"]
        for row in rows:
            if row["skip"]:
                continue
            predicted = anchor_plan(row, model_configs)
            error = (predicted - row["kv_cache_tokens"]) / row["kv_cache_tokens"]
            geometry.append(error)
            print(
                f"{row['case'][:48]:48} {'geometry':9} {predicted:>11,} "
                f"{row['kv_cache_tokens']:>11,} {error:>+8.2%}"
            )
    print()
    summarise("full prediction, all inputs stated", full_known)
    summarise("full prediction, some inputs assumed", full_assumed)
    summarise("geometry from the logged KV budget", geometry)


if __name__ == "__main__":
    main()
