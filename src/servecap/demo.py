"""`servecap demo`: the seed's four questions answered end to end, with or without a GPU.

With the twin engine (the default) nothing needs a GPU: the plan answers the memory questions,
`bench` times one request against a `twin` of each deployment, and the simulator runs the
simultaneous users. With the vLLM engine, real vLLM is started for each deployment, its log is
explained beside the plan, and `bench` measures both the single request and the users.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import make_plan
from .demo_answers import (
    Answer,
    DemoRun,
    Speed,
    gpu_name,
    logged_sentence,
    memory_answer,
    minimum_answer,
    speed_answer,
    users_answer,
)
from .errors import InvalidValueError
from .loadtest.bench import BenchConfig, BenchProgress, run_bench
from .loadtest.client import Endpoint
from .loadtest.eventloop import run_loop
from .loadtest.load import LoadProfile
from .loadtest.summary import RunSummary
from .loadtest.workload import Lengths, WorkloadSpec
from .memory.plan import MemoryPlan
from .outputs import RESULTS_DIR
from .vllm.serve_config import ServeConfig

ENGINES = ("twin", "vllm")
# The seed ran a vLLM of Qwen3's launch (spring 2025): its default utilization was 0.9, and its
# log showed 17,440 KV tokens at 0.5 / 10,000, where servecap plans 0.8.5 at 17,312.
SEED_VLLM_VERSION = "0.8.5"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs: the seed's deployment unless told otherwise."""

    output_dir: Path = RESULTS_DIR / "demo"
    model: str = "Qwen/Qwen3-4B"
    gpu: str | None = "rtx-4090"
    vllm_version: str | None = None
    engine: str = "twin"
    device: str = "cuda"
    # the seed's two settings: a half-card deployment, and one reserving more for the KV cache
    low_utilization: float = 0.5
    high_utilization: float = 0.8
    max_model_len: int = 10_000
    long_context: int = 40_960  # Qwen3-4B's default, which does not fit at 0.5 on 24 GB
    # CPU backend: the two KV-cache sizes (VLLM_CPU_KVCACHE_SPACE, whole GiB) instead
    low_kv_space_gib: int = 1
    high_kv_space_gib: int = 2
    num_gpu_blocks_override: int | None = None
    dtype: str = "auto"  # --dtype; float32 serves faster on CPUs without bf16 units
    single_output_tokens: int = 128
    repeat: int = 3
    users: tuple[int, ...] = (20, 500)
    user_output_tokens: Lengths = field(default_factory=lambda: Lengths("normal", 1500, 300))
    speedup: float = 1.0  # twin only: how much faster than real time one request runs
    vllm_python: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InvalidValueError(f"unknown --engine {self.engine!r}", "use twin or vllm")
        if not self.users or min(self.users) <= 0:
            raise InvalidValueError("--users needs positive numbers", "e.g. --users 20,500")
        if self.repeat <= 0 or self.single_output_tokens <= 1:
            raise InvalidValueError(
                "--repeat must be positive and --single-output-tokens above 1",
                "e.g. --repeat 3 --single-output-tokens 128",
            )


@dataclass
class DemoResult:
    """The four answers, the plans and result files behind them."""

    config: DemoConfig
    answers: list[Answer]
    plans: list[tuple[str, MemoryPlan]]
    runs: list[DemoRun]
    path: Path

    def to_dict(self) -> dict[str, Any]:
        base = self.path.parent
        return {
            "kind": "demo",
            "engine": self.config.engine,
            "model": self.plans[0][1].model.name,
            "gpu": gpu_name(self.plans[0][1]),
            "vllm_version": str(self.plans[0][1].version),
            "answers": [{"question": a.question, "answer": a.answer} for a in self.answers],
            "plans": [{"label": label, "plan": p.to_dict()} for label, p in self.plans],
            "runs": [run.to_dict(base) for run in self.runs],
        }


class _Deployments:
    """Plans (and, for the vLLM engine, servers) for the demo's settings."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        cpu = config.device == "cpu"
        self.low_label = (
            f"VLLM_CPU_KVCACHE_SPACE={config.low_kv_space_gib}"
            if cpu
            else f"--gpu-memory-utilization {config.low_utilization}"
        )
        self.high_label = (
            f"VLLM_CPU_KVCACHE_SPACE={config.high_kv_space_gib}"
            if cpu
            else f"--gpu-memory-utilization {config.high_utilization}"
        )
        self.version = config.vllm_version or SEED_VLLM_VERSION
        self.install = None
        if config.engine == "vllm":
            from .vllm.launcher import find_vllm, install_hint

            self.install = find_vllm(config.vllm_python)
            if self.install is None:
                raise InvalidValueError(
                    "no vLLM found for --engine vllm", install_hint(config.device)
                )
            self.version = config.vllm_version or self.install.version

    def settings(
        self, high: bool, max_model_len: int | None = None, default_utilization: bool = False
    ) -> ServeConfig:
        c = self.config
        cpu = c.device == "cpu"
        return ServeConfig(
            device=c.device,
            max_model_len=max_model_len,
            kv_cache_space_gib=(c.high_kv_space_gib if high else c.low_kv_space_gib)
            if cpu
            else None,
            gpu_memory_utilization=None
            if cpu or default_utilization
            else (c.high_utilization if high else c.low_utilization),
            num_gpu_blocks_override=c.num_gpu_blocks_override,
            dtype=c.dtype,
        )

    def plan(self, settings: ServeConfig) -> MemoryPlan:
        gpu = None if self.config.device == "cpu" else self.config.gpu
        return make_plan(self.config.model, settings, gpu, vllm_version=self.version)

    @contextmanager
    def server(
        self, p: MemoryPlan, settings: ServeConfig, log_path: Path
    ) -> Iterator[tuple[str, str, str | None]]:
        """A running server for plan `p`: (url, model name, vLLM's start-up log or None)."""
        c = self.config
        if self.install is None:
            from .sim.twin import Twin
            from .sim.twin_server import TwinServer

            twin = Twin(p, speedup=c.speedup, seed=c.seed)
            with TwinServer(twin) as twin_server:
                yield twin_server.url, twin.model_id, None
            return
        from .serve import plan_launch
        from .vllm.launcher import VllmServer

        launch = plan_launch(c.model, c.gpu, settings, self.version, log_path=log_path).launch
        with VllmServer(launch, self.install) as server:
            server.wait_ready()
            yield server.url, c.model, server.log_text()


def _bench(
    url: str,
    model: str,
    profile: LoadProfile,
    workload: WorkloadSpec,
    output: Path,
    seed: int,
    warmup: int = 0,
) -> RunSummary:
    config = BenchConfig(
        endpoint=Endpoint(url, model, "chat"),
        profile=profile,
        workload=workload,
        warmup=warmup,
        output=output,
        sample_interval_s=0.1,
        seed=seed,
    )
    return run_loop(run_bench(config, BenchProgress())).summary


def _preemptions(url: str) -> float | None:
    """vLLM's preemption counter, read once."""
    from .vllm.metrics import fetch_metrics

    return fetch_metrics(url + "/metrics", timeout=30).preemptions


def run_demo(config: DemoConfig, progress: Progress | None = None) -> DemoResult:
    """Answer the seed's four questions for `config`, writing every result under its folder."""
    say = progress or (lambda message: None)
    out = config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    d = _Deployments(config)
    default = d.plan(d.settings(high=False, default_utilization=True))
    context = min(config.max_model_len, default.max_model_len)  # a tiny model's is short
    low = d.plan(d.settings(high=False, max_model_len=context))
    high = d.plan(d.settings(high=True, max_model_len=context))
    for p in (low, high):
        if not p.fits:
            raise InvalidValueError(
                f"the demo's deployment does not fit: {p.error}",
                "pick a larger --gpu, or a smaller model",
            )
    long_context = min(config.long_context, default.max_model_len)
    long = d.plan(d.settings(high=False, max_model_len=long_context))
    plans = [
        ("vLLM's defaults", default),
        (f"{d.low_label}, {context:,} tokens", low),
        (f"{d.high_label}, {context:,} tokens", high),
        (f"{d.low_label}, {long_context:,} tokens", long),
    ]
    answers = [memory_answer(default, low), minimum_answer(long, low)]
    single_runs: list[DemoRun] = []
    user_runs: list[DemoRun] = []
    speeds = []
    for name, label, p in (("low", d.low_label, low), ("high", d.high_label, high)):
        say(f"one request at {label}, {config.repeat} times ({config.engine})")
        settings = d.settings(high=p is high, max_model_len=context)
        with d.server(p, settings, out / f"vllm-{name}.log") as (url, model, log):
            path = out / f"single-{name}.jsonl"
            summary = _bench(
                url,
                model,
                LoadProfile("single", requests=config.repeat),
                _single_workload(config),
                path,
                config.seed,
                warmup=1,
            )
            single_runs.append(DemoRun(f"one request, {label}", path, summary))
            speeds.append(Speed(label, p, summary, log))
            if p is low and config.engine == "vllm":
                user_runs += [_vllm_users(config, url, model, label, n, say) for n in config.users]
    answers.append(speed_answer(speeds, config.engine, config.single_output_tokens, config.repeat))
    logged = logged_sentence(speeds)
    if logged:
        answers[0].answer += " " + logged
    expected = None
    if config.engine == "twin":
        from .sim.expected_error import expected_error

        user_runs += [_simulated_users(config, low, d.low_label, n, say) for n in config.users]
        expected = expected_error(low).sentence()
    answers.append(users_answer(low, user_runs, config.user_output_tokens, expected))
    result = DemoResult(config, answers, plans, single_runs + user_runs, out / "demo.json")
    result.path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _single_workload(config: DemoConfig) -> WorkloadSpec:
    output = Lengths("fixed", config.single_output_tokens)
    return WorkloadSpec(source="seed", output_tokens=output, seed=config.seed)


def _users_workload(config: DemoConfig) -> WorkloadSpec:
    return WorkloadSpec(source="seed", output_tokens=config.user_output_tokens, seed=config.seed)


def _vllm_users(
    config: DemoConfig, url: str, model: str, label: str, users: int, say: Progress
) -> DemoRun:
    """`users` at once against real vLLM, with the preemptions its counter saw."""
    say(f"{users} users at once at {label} (vLLM)")
    path = config.output_dir / f"users-{users}.jsonl"
    before = _preemptions(url)
    profile = LoadProfile("users", requests=users)
    summary = _bench(url, model, profile, _users_workload(config), path, 0)
    # read on an idle server: a busy CPU server may answer /metrics too late for the run's
    # own samples to catch every preemption
    after = _preemptions(url)
    preempted = after - before if before is not None and after is not None else None
    return DemoRun(f"{users} users, {label}", path, summary, preempted)


def _simulated_users(
    config: DemoConfig, plan: MemoryPlan, label: str, users: int, say: Progress
) -> DemoRun:
    from .sim.simulate import simulate

    say(f"{users} users at once at {label} (simulated)")
    path = config.output_dir / f"users-{users}.jsonl"
    run = simulate(
        plan,
        LoadProfile("users", requests=users),
        _users_workload(config),
        output=path,
        seed=config.seed,
    )
    return DemoRun(f"{users} users, {label} (simulated)", path, run.summary)
