"""Turn a run of benchmarks/gpu/run.sh into RESULTS.md: predicted against measured.

    python benchmarks/gpu/results.py benchmarks/gpu/h200 > benchmarks/gpu/RESULTS.md

1. memory: `servecap plan` (made before vLLM started) against vLLM's own log lines, read by
   `servecap explain`, for each start-up, and vLLM's refusal text against the plan's;
2. one request at utilization 0.5 and 0.9, against the GPU's bandwidth roofline;
3. the users sweep: throughput, TTFT and TPOT percentiles, and vLLM's /metrics view;
4. `servecap simulate` of the same workloads with the default step-time profile, then with a
   profile that `servecap calibrate` fitted to the sweep's 16-user step alone.

Prediction needs no GPU: it runs here, on the files the GPU run brought back. RESULTS.md's
closing "What this run found" is written by hand below the generated tables.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from servecap import ServeConfig, make_plan
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.results import read_results
from servecap.loadtest.summary import step_samples, summarize_run
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.calibrate import calibrate
from servecap.sim.simulate import simulate
from servecap.units import GiB

CALIBRATION_STEP = "users=16"
MEMORY_ROWS = (
    ("weights_gib", "weights (GiB)"),
    ("activation_peak_gib", "activation peak (GiB)"),
    ("non_torch_gib", "non-torch (GiB)"),
    ("cudagraph_gib", "CUDA graphs (GiB)"),
    ("kv_cache_gib", "available KV cache (GiB)"),
    ("kv_cache_tokens", "KV cache tokens"),
    ("max_concurrency", "maximum concurrency (x)"),
    ("num_blocks", "KV blocks"),
)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _diff(predicted: Any, measured: Any) -> str:
    if not isinstance(predicted, int | float) or not isinstance(measured, int | float):
        return "-"
    if measured == 0:
        return "exact" if predicted == 0 else "-"
    error = (predicted - measured) / measured
    return "exact" if predicted == measured else f"{error:+.2%}"


def memory_section(folder: Path) -> list[str]:
    lines = ["## 1. Memory: `servecap plan` before the start against vLLM's log", ""]
    for run, title in (
        ("mem-0.5", "`--gpu-memory-utilization 0.5 --max-model-len 10000`"),
        ("mem-0.9", "`--gpu-memory-utilization 0.9` (default length)"),
    ):
        plan, log = _load(folder / f"{run}.plan.json"), _load(folder / f"{run}.explain.json")
        if plan is None or log is None:
            lines += [f"{title}: not run", ""]
            continue
        lines += [
            f"### {title}",
            "",
            "| | servecap plan | vLLM logged | difference |",
            "|---|---:|---:|---:|",
        ]
        for key, label in MEMORY_ROWS:
            lines.append(
                f"| {label} | {_fmt(plan.get(key))} | {_fmt(log.get(key))} | "
                f"{_diff(plan.get(key), log.get(key))} |"
            )
        lines.append("")
    plan, log = _load(folder / "refusal.plan.json"), _load(folder / "refusal.explain.json")
    utilization = (folder / "refusal.utilization").read_text().strip() if plan else "?"
    lines += [f"### Refusal: `--gpu-memory-utilization {utilization} --max-model-len 40960`", ""]
    if plan is None or log is None:
        lines += ["not run", ""]
    else:
        lines += [
            f"- servecap plan: fits = {plan.get('fits')}, estimated maximum model length "
            f"{_fmt(plan.get('estimated_max_model_len'))}",
            f"- vLLM: fits = {log.get('fits')}, estimated maximum model length "
            f"{_fmt(log.get('estimated_max_model_len'))}",
            "",
            "servecap's text:",
            "",
            f"> {plan.get('error')}",
            "",
            "vLLM's text:",
            "",
            f"> {log.get('error')}",
            "",
        ]
    return lines


def _step(records: list[Any], samples: list[Any]) -> dict[str, Any]:
    """One step's summary, with the /metrics samples taken while it ran."""
    return summarize_run(records, step_samples(records, samples), "users").to_dict()


def _stats_row(label: str, summary: dict[str, Any]) -> str:
    def ms(key: str, stat: str) -> str:
        value = (summary.get(key) or {}).get(stat)
        return "-" if value is None else f"{value * 1000:,.1f}"

    per = (summary.get("tokens_per_s") or {}).get("p50")
    per_text = "-" if per is None else f"{per:,.1f}"
    throughput = _fmt(summary.get("output_throughput_tok_s"))
    return (
        f"| {label} | {ms('ttft_s', 'p50')} | {ms('tpot_s', 'p50')} | {per_text} | {throughput} |"
    )


def speed_section(folder: Path, weights_gib: float | None, bandwidth_gbps: float) -> list[str]:
    lines = [
        "## 2. One request: does reserving memory change speed?",
        "",
        "| utilization | TTFT p50 (ms) | TPOT p50 (ms) | tokens/s p50 | output tok/s |",
        "|---|---:|---:|---:|---:|",
    ]
    runs = (("single-0.5", "0.5"), ("single-0.5b", "0.5"), ("single-0.9", "0.9"))
    for run, label in runs:
        path = folder / f"{run}.jsonl"
        if path.is_file():
            data = read_results([path])
            lines.append(_stats_row(label, summarize_run(data.records, data.samples).to_dict()))
    if weights_gib:
        roof = bandwidth_gbps * 1e9 / (weights_gib * GiB)
        lines += [
            "",
            f"Bandwidth roofline for one stream: {bandwidth_gbps:,.0f} GB/s / "
            f"{weights_gib:.2f} GiB of weights read per token = {roof:,.0f} tokens/s "
            "(KV reads at these lengths add under 1%).",
        ]
    return [*lines, ""]


def sweep_section(folder: Path) -> list[str]:
    if not (folder / "sweep-0.9.jsonl").is_file():
        return ["## 3. Many users", "", "not run", ""]
    lines = [
        "## 3. Many users at utilization 0.9 (prompts of 100 tokens, 1,000 output tokens)",
        "",
        "| users | output tok/s | TTFT p50 (ms) | TTFT p95 (ms) | TPOT p50 (ms) | TPOT p95 (ms) "
        "| max running | max waiting | max KV usage | preemptions |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase, summary in _phases(folder):
        server = summary.get("server") or {}

        def ms(key: str, stat: str, s: dict[str, Any] = summary) -> str:
            value = (s.get(key) or {}).get(stat)
            return "-" if value is None else f"{value * 1000:,.1f}"

        kv = server.get("max_kv_usage")
        lines.append(
            f"| {phase.split('=')[1]} | {_fmt(summary.get('output_throughput_tok_s'))} | "
            f"{ms('ttft_s', 'p50')} | {ms('ttft_s', 'p95')} | {ms('tpot_s', 'p50')} | "
            f"{ms('tpot_s', 'p95')} | {_fmt(server.get('max_running'))} | "
            f"{_fmt(server.get('max_waiting'))} | {'-' if kv is None else f'{kv:.0%}'} | "
            f"{_fmt(server.get('preemptions'))} |"
        )
    return [*lines, ""]


def _phases(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """The sweep's steps, then the step that several processes ran together (run.sh's parts,
    merged as `servecap report` merges them)."""
    data = read_results([folder / "sweep-0.9.jsonl"])
    phases = sorted({r.phase for r in data.records if r.phase}, key=lambda p: int(p.split("=")[1]))
    out = []
    for phase in phases:
        records = [r for r in data.records if r.phase == phase]
        out.append((phase, _step(records, data.samples)))
    parts = sorted(folder.glob("sweep-0.9-part*.jsonl"))
    if parts:
        merged = read_results(parts)
        records = [r for r in merged.records if not r.warmup]
        out.append((f"users={len(records)}", _step(records, merged.samples)))
    return out


def prediction_section(folder: Path, model: str) -> list[str]:
    sweep = folder / "sweep-0.9.jsonl"
    single = folder / "single-0.9.jsonl"
    if not sweep.is_file() or not single.is_file():
        return ["## 4. Prediction", "", "not run", ""]
    plan = make_plan(
        model=model,
        gpu="h200",
        vllm_version="0.24.0",
        config=ServeConfig(gpu_memory_utilization=0.9),
    )
    # calibrated on one step of the sweep; the other steps are predictions
    sweep_run = read_results([sweep])
    calibration = calibrate(plan, [r for r in sweep_run.records if r.phase == CALIBRATION_STEP])
    workload = WorkloadSpec(
        prompt_tokens=Lengths("fixed", 100), output_tokens=Lengths("fixed", 1000)
    )
    lines = [
        "## 4. Prediction: `servecap simulate`, before and after `servecap calibrate`",
        "",
        f"Calibrated on the sweep's {CALIBRATION_STEP} step ({calibration.requests} requests): "
        f"fit error {calibration.before:.1%} with the defaults, {calibration.error:.1%} fitted.",
        "",
        "| users | metric | measured | simulated, defaults | simulated, calibrated |",
        "|---:|---|---:|---:|---:|",
    ]
    for phase, measured in _phases(folder):
        users = int(phase.split("=")[1])
        profile = LoadProfile("users", requests=users)
        default = simulate(plan, profile, workload).summary.to_dict()
        fitted_run = simulate(plan, profile, workload, step_profile=calibration.profile)
        fitted = fitted_run.summary.to_dict()
        for label, key, stat, scale in (
            ("output tok/s", "output_throughput_tok_s", None, 1.0),
            ("TTFT p50 (ms)", "ttft_s", "p50", 1000.0),
            ("TPOT p50 (ms)", "tpot_s", "p50", 1000.0),
            ("E2E p95 (s)", "e2e_s", "p95", 1.0),
        ):

            def value(
                summary: dict[str, Any], k: str = key, s: str | None = stat, x: float = scale
            ) -> Any:
                v = summary.get(k) if s is None else (summary.get(k) or {}).get(s)
                return None if v is None else v * x

            m, d, f = value(measured), value(default), value(fitted)
            lines.append(
                f"| {users} | {label} | {_fmt(m)} | {_fmt(d)} ({_diff(d, m)}) | "
                f"{_fmt(f)} ({_diff(f, m)}) |"
            )
    return [*lines, ""]


def main() -> None:
    folder = Path(sys.argv[1])
    model = sys.argv[2] if len(sys.argv) > 2 else "Qwen/Qwen3-4B"
    plan = _load(folder / "mem-0.9.plan.json") or {}
    weights = plan.get("weights_gib")
    from servecap.hardware import get_gpu

    bandwidth = get_gpu("h200").memory_bandwidth_gbps
    lines = [
        "# servecap on an H200 with real vLLM 0.24.0",
        "",
        "Produced by `benchmarks/gpu/run.sh` on the H200 machine and "
        "`benchmarks/gpu/results.py` here; the raw files are beside this one.",
        "",
        *memory_section(folder),
        *speed_section(folder, weights, bandwidth),
        *sweep_section(folder),
        *prediction_section(folder, model),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
