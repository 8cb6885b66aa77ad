"""Example inputs for the HTML report: simulated runs, a comparison, a plan, advice, a demo.

Model names and record fields carry script and markup, which the report must show as text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from servecap import ServeConfig, make_plan
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.simulate import simulate

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
EVIL = f"{SCRIPT}{IMG}"


def small_plan(**settings: Any) -> Any:
    return make_plan(
        model="Qwen/Qwen3-4B",
        gpu="rtx-4090",
        vllm_version="0.24.0",
        config=ServeConfig.from_values(
            {"gpu_memory_utilization": 0.5, "max_model_len": 10_000, **settings}
        ),
    )


def plan_dict(**settings: Any) -> dict[str, Any]:
    data: dict[str, Any] = small_plan(**settings).to_dict()
    data["model"] = f"Qwen/Qwen3-4B {EVIL}"
    return data


def _poison(path: Path, extra_failed: bool = True, measured: bool = False) -> None:
    """Put markup into the run's model name and records, as a hostile server could."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for obj in lines:
        if obj.get("type") == "run":
            obj["model"] = f"Qwen/Qwen3-4B {EVIL}"
            obj["vllm_version"] = f"0.24.0{IMG}"
            obj["wall_start"] = 1_790_000_000.0
            if measured:  # as `bench` writes it
                obj.update(tool="servecap bench", simulated=False, url="http://127.0.0.1:8000")
    requests = [o for o in lines if o.get("type") == "request"]
    if extra_failed and requests:
        bad = dict(requests[-1])
        bad.update(
            request_id=len(requests),
            status="error",
            error_class=EVIL,
            error_detail=f"HTTP 500: {EVIL}",
            first_token_s=None,
            chunk_times_s=[],
            output_tokens=None,
        )
        lines.insert(lines.index(requests[-1]) + 1, {"type": "request", **bad})
    path.write_text("".join(json.dumps(o) + "\n" for o in lines))


def sweep_run(path: Path) -> Path:
    """A simulated users sweep (1, 4, 16, 32 users) in bench's file format."""
    simulate(
        small_plan(),
        LoadProfile("users", requests=48),
        WorkloadSpec(prompt_tokens=Lengths("fixed", 400), output_tokens=Lengths("fixed", 300)),
        sweep_users=[1, 4, 16, 32],
        output=path,
    )
    _poison(path)
    return path


def users_run(path: Path, users: int = 16, seed: int = 0) -> Path:
    """One simulated load level with some queueing."""
    simulate(
        small_plan(num_gpu_blocks_override=400, max_model_len=4096),
        LoadProfile("users", requests=users),
        WorkloadSpec(
            prompt_tokens=Lengths.parse("uniform:200:800", "p"),
            output_tokens=Lengths.parse("uniform:100:400", "o"),
            seed=seed,
        ),
        output=path,
        seed=seed,
    )
    return path


def advise_result(path: Path) -> Path:
    plans = [plan_dict(), plan_dict(gpu_memory_utilization=0.9)]
    curve = [
        {
            "users": u,
            "ttft_p50_s": 0.05 * u,
            "ttft_p95_s": 0.09 * u,
            "tokens_per_s_p5": 90 / (1 + u / 8),
            "throughput_tokens_per_s": 90 * u / (1 + u / 8),
            "meets_slos": 0.09 * u <= 2,
        }
        for u in (1, 2, 4, 8, 16, 32)
    ]
    options = [
        {
            "gpu": gpu,
            "gpu_name": f"NVIDIA {gpu} {EVIL}",
            "gpu_count": 1,
            "tensor_parallel_size": 1,
            "pipeline_parallel_size": 1,
            "replicas": 1,
            "gpu_memory_utilization": plan["gpu_memory_utilization"],
            "max_model_len": 10_000,
            "kv_cache_dtype": "auto",
            "meets_slos": ok,
            "max_users": users,
            "ttft_p50_s": 0.4,
            "ttft_p95_s": 1.2,
            "tokens_per_s_p50": 60.0,
            "tokens_per_s_p5": 41.0,
            "throughput_tokens_per_s": 900.0,
            "cost_per_hour": cost,
            "commands": [
                "vllm serve Qwen/Qwen3-4B --gpu-memory-utilization "
                f"{plan['gpu_memory_utilization']}"
            ],
            "plan": plan,
        }
        for gpu, plan, ok, users, cost in (
            ("rtx-4090", plans[1], True, 22, 0.69),
            ("rtx-4090-half", plans[0], False, 8, None),
        )
    ]
    data = {
        "kind": "advise",
        "model": f"Qwen/Qwen3-4B {EVIL}",
        "users": 20,
        "prompt_tokens": 500,
        "output_tokens": 300,
        "slos": ["ttft_p95=2s", "tokens_per_s_p5=20", EVIL],
        "verdict": f"One RTX 4090 at utilization 0.9 serves 20 users within the SLOs. {EVIL}",
        "options": options,
        "curve": curve,
    }
    path.write_text(json.dumps(data, indent=1))
    return path


def demo_result(folder: Path) -> Path:
    users_run(folder / "runs" / "users.jsonl", users=8)
    _poison(folder / "runs" / "users.jsonl")
    sweep_run(folder / "runs" / "sweep.jsonl")
    data = {
        "kind": "demo",
        "engine": "twin",
        "model": f"Qwen/Qwen3-4B {EVIL}",
        "gpu": "rtx-4090",
        "answers": [
            {"question": "Where does my GPU memory go?", "answer": f"7.5 GiB weights, {EVIL}"},
            {"question": "What is the smallest setup?", "answer": "One RTX 4090 at 0.44."},
            {"question": "How fast is one request?", "answer": "About 80 tokens/s."},
            {"question": "How many users at once?", "answer": "About 16 within a 2 s TTFT p95."},
        ],
        "plans": [{"label": f"as asked {EVIL}", "plan": plan_dict()}],
        "runs": [
            {"label": "8 users", "result_file": "runs/users.jsonl"},
            {"label": f"sweep {EVIL}", "result_file": "runs/sweep.jsonl"},
        ],
    }
    path = folder / "demo.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def all_inputs(folder: Path) -> dict[str, tuple[list[Path], Path | None]]:
    """name -> (report inputs, --vs file) for every kind of page."""
    folder.mkdir(parents=True, exist_ok=True)
    sweep = sweep_run(folder / "sweep.jsonl")
    measured = users_run(folder / "measured.jsonl", users=16, seed=1)
    _poison(measured, measured=True)
    simulated = users_run(folder / "simulated.jsonl", users=16, seed=2)
    plan = folder / "plan.json"
    plan.write_text(json.dumps(plan_dict()))
    unfit = folder / "plan-unfit.json"
    unfit.write_text(json.dumps(plan_dict(max_model_len=200_000)))
    return {
        "sweep": ([sweep], None),
        "vs": ([measured], simulated),
        "plan": ([plan], None),
        "plan-unfit": ([unfit], None),
        "advise": ([advise_result(folder / "advise.json")], None),
        "demo": ([demo_result(folder / "demo")], None),
    }
