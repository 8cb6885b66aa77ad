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
from .errors import InvalidValueError
from .loadtest.bench import BenchConfig, BenchProgress, run_bench
from .loadtest.client import Endpoint
from .loadtest.eventloop import run_loop
from .loadtest.runner import LoadProfile
from .loadtest.workload import Lengths, WorkloadSpec
from .memory.inverse import smallest_setup
from .memory.plan import MemoryPlan
from .units import GiB

ENGINES = ("twin", "vllm")
# The seed ran a vLLM of Qwen3's launch (spring 2025): its default utilization was 0.9, and its
# log showed 17,440 KV tokens at 0.5 / 10,000, where servecap plans 0.8.5 at 17,312.
SEED_VLLM_VERSION = "0.8.5"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs: the seed's deployment unless told otherwise."""

    output_dir: Path
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
class Answer:
    question: str
    answer: str


@dataclass
class DemoResult:
    """The four answers, the plans and result files behind them."""

    config: DemoConfig
    answers: list[Answer]
    plans: list[tuple[str, MemoryPlan]]
    runs: list[tuple[str, Path, dict[str, Any]]]  # label, result file, its summary
    path: Path

    def to_dict(self) -> dict[str, Any]:
        base = self.path.parent
        return {
            "kind": "demo",
            "engine": self.config.engine,
            "model": self.plans[0][1].model.name,
            "gpu": _gpu_name(self.plans[0][1]),
            "vllm_version": str(self.plans[0][1].version),
            "answers": [{"question": a.question, "answer": a.answer} for a in self.answers],
            "plans": [{"label": label, "plan": p.to_dict()} for label, p in self.plans],
            "runs": [
                {"label": label, "result_file": str(path.relative_to(base)), "summary": summary}
                for label, path, summary in self.runs
            ],
        }


def _gpu_name(p: MemoryPlan) -> str:
    return p.gpu.name if p.gpu else "CPU"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _gib(value: int | float) -> str:
    return f"{value / GiB:.2f}"


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

    def settings(self, high: bool, max_model_len: int | None = None) -> dict[str, Any]:
        c = self.config
        values: dict[str, Any] = {"device": c.device}
        if max_model_len is not None:
            values["max_model_len"] = max_model_len
        if c.device == "cpu":
            values["kv_cache_space_gib"] = c.high_kv_space_gib if high else c.low_kv_space_gib
        else:
            values["gpu_memory_utilization"] = c.high_utilization if high else c.low_utilization
        if c.num_gpu_blocks_override is not None:
            values["num_gpu_blocks_override"] = c.num_gpu_blocks_override
        return values

    def plan(self, settings: dict[str, Any]) -> MemoryPlan:
        gpu = None if self.config.device == "cpu" else self.config.gpu
        return make_plan(
            model=self.config.model, gpu=gpu, vllm_version=self.version, settings=settings
        )

    @contextmanager
    def server(
        self, p: MemoryPlan, settings: dict[str, Any], log_path: Path
    ) -> Iterator[tuple[str, str, str | None]]:
        """A running server for plan `p`: (url, model name, vLLM's start-up log or None)."""
        c = self.config
        if self.install is None:
            from .sim.twin import Twin, TwinServer

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
) -> dict[str, Any]:
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
    default = d.plan(d.settings(high=False) | {"gpu_memory_utilization": None})
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
    answers = [_memory_answer(default, low), _minimum_answer(long, low)]
    single_runs: list[tuple[str, Path, dict[str, Any]]] = []
    user_runs: list[tuple[str, Path, dict[str, Any]]] = []
    single = WorkloadSpec(
        source="seed",
        output_tokens=Lengths("fixed", config.single_output_tokens),
        seed=config.seed,
    )
    users_workload = WorkloadSpec(
        source="seed", output_tokens=config.user_output_tokens, seed=config.seed
    )
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
                single,
                path,
                config.seed,
                warmup=1,
            )
            single_runs.append((f"one request, {label}", path, summary))
            speeds.append((label, p, summary, log))
            if p is low and config.engine == "vllm":
                for n in config.users:
                    say(f"{n} users at once at {label} (vLLM)")
                    path = out / f"users-{n}.jsonl"
                    before = _preemptions(url)
                    summary = _bench(
                        url, model, LoadProfile("users", requests=n), users_workload, path, 0
                    )
                    # read on an idle server: a busy CPU server may answer /metrics too late
                    # for the run's own samples to catch every preemption
                    after = _preemptions(url)
                    if before is not None and after is not None:
                        summary["preemptions_total"] = after - before
                    user_runs.append((f"{n} users, {label}", path, summary))
    answers.append(_speed_answer(speeds, config))
    logged = _logged_sentence(speeds)
    if logged:
        answers[0].answer += " " + logged
    if config.engine == "twin":
        from .sim.simulate import simulate

        for n in config.users:
            say(f"{n} users at once at {d.low_label} (simulated)")
            path = out / f"users-{n}.jsonl"
            step = simulate(
                low,
                LoadProfile("users", requests=n),
                users_workload,
                output=path,
                seed=config.seed,
            )[0]
            user_runs.append((f"{n} users, {d.low_label} (simulated)", path, step.summary))
    answers.append(_users_answer(low, user_runs, config))
    result = DemoResult(config, answers, plans, single_runs + user_runs, out / "demo.json")
    result.path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _memory_answer(default: MemoryPlan, low: MemoryPlan) -> Answer:
    s = default.stage
    held = default.requested_bytes
    text = (
        f"vLLM {default.version} takes {_gib(held)} of the {_gpu_name(default)}'s "
        f"{_gib(default.total_bytes)} GiB "
        f"because --gpu-memory-utilization defaults to {default.utilization}: it is a budget, "
        f"not a need. Of it, the weights take {_gib(s.weights_bytes)} GiB, the activation peak "
        f"{_gib(s.activation_bytes)}, non-torch memory {_gib(s.non_torch_bytes)} and CUDA "
        f"graphs {_gib(s.cudagraph_bytes)}; everything left, {_gib(s.available_bytes)} GiB, "
        f"is pre-allocated as KV cache: {default.kv_cache_tokens:,} tokens, "
        f"{default.max_concurrency:.1f} requests of the default {default.max_model_len:,}-token "
        f"context."
    )
    if default.device == "cpu":
        text = (
            f"On the CPU backend vLLM's KV cache is VLLM_CPU_KVCACHE_SPACE, not a share of "
            f"memory: {_gib(s.available_bytes)} GiB hold {default.kv_cache_tokens:,} tokens, "
            f"{default.max_concurrency:.1f} requests of {default.max_model_len:,} tokens; the "
            f"weights take {_gib(s.weights_bytes)} GiB."
        )
    if low.fits and default.device != "cpu":
        text += (
            f" At --gpu-memory-utilization {low.utilization} and --max-model-len "
            f"{low.max_model_len:,} it holds {_gib(low.requested_bytes)} GiB, and its "
            f"{_gib(low.available_bytes)} GiB of KV cache still hold {low.kv_cache_tokens:,} "
            f"tokens."
        )
    return Answer("Why does vLLM take 90% of the GPU?", text)


def _minimum_answer(long: MemoryPlan, low: MemoryPlan) -> Answer:
    need = long.stage.layout.needed_bytes(long.max_model_len, over_groups=False)
    if long.fits:
        text = (
            f"A {long.max_model_len:,}-token context fits: it needs {_gib(need)} GiB of KV "
            f"cache and {_gib(long.available_bytes)} GiB are available."
        )
    elif need > long.available_bytes:
        text = (
            f"At {long.max_model_len:,} tokens one request needs {_gib(need)} GiB of KV cache, "
            f"more than the {_gib(long.available_bytes)} GiB available, and vLLM refuses to "
            f'start: "{long.error}"'
        )
    else:
        text = f'At {long.max_model_len:,} tokens vLLM refuses to start: "{long.error}"'
    setup = smallest_setup(long)
    parts = []
    if setup.min_gpu_memory_utilization is not None and long.gpu is not None:
        parts.append(
            f"the smallest --gpu-memory-utilization for {long.max_model_len:,} tokens on this "
            f"GPU is {setup.min_gpu_memory_utilization:.2f}"
        )
    if setup.min_gpu_memory_gib is not None and long.gpu is not None:
        card = f" ({setup.smallest_catalogue_gpu})" if setup.smallest_catalogue_gpu else ""
        parts.append(
            f"at {long.utilization:g} it needs a GPU of {setup.min_gpu_memory_gib:.1f} GiB{card}"
        )
    parts.append(
        f"the longest context that fits as set is {setup.max_model_len_that_fits:,} tokens"
    )
    if low.fits:
        parts.append(
            f"{low.max_model_len:,} tokens fit, with room for {low.max_concurrency:.1f} such "
            f"requests in the KV cache"
        )
    text += " The ways out: " + "; ".join(parts) + "."
    return Answer("What is the minimum configuration?", text)


def _speed_answer(
    speeds: list[tuple[str, MemoryPlan, dict[str, Any], str | None]], config: DemoConfig
) -> Answer:
    parts = []
    rates = []
    for label, p, summary, _log in speeds:
        rate = summary["tokens_per_s"]["p50"]
        ttft = summary["ttft_s"]["p50"]
        rates.append(rate or 0.0)
        parts.append(
            f"{label}: {rate or 0:.1f} tokens/s, TTFT {_duration(ttft)} "
            f"({p.kv_cache_tokens:,} KV tokens)"
        )
    source = (
        "measured with `bench` against a simulated twin of each deployment"
        if config.engine == "twin"
        else "measured with `bench` against real vLLM"
    )
    same = min(rates) > 0 and max(rates) / min(rates) < 1.1
    verdict = (
        "So no: reserving more memory buys KV cache, which is concurrency, not single-stream "
        "speed. One stream's speed is set by reading the weights once per token."
        if same
        else "The two differ by more than 10%, so here reserved memory did change the speed."
    )
    text = (
        f"One request ({config.single_output_tokens} output tokens, median of "
        f"{config.repeat}, {source}): " + "; ".join(parts) + ". " + verdict
    )
    p = speeds[0][1]
    if p.gpu is not None:
        weights = p.stage.weights_bytes
        roofline = p.gpu.memory_bandwidth_gbps * 1e9 / weights
        text += (
            f" Reading {_gib(weights)} GiB of weights at the {p.gpu.name}'s "
            f"{p.gpu.memory_bandwidth_gbps:,.0f} GB/s caps one stream at {roofline:.0f} "
            f"tokens/s."
        )
    return Answer("Does reserving more memory make one request faster?", text)


def _logged_sentence(speeds: list[tuple[str, MemoryPlan, dict[str, Any], str | None]]) -> str:
    from .vllm.logparse import parse_log

    parts = []
    for label, p, _summary, log in speeds:
        if log is None:
            continue
        tokens = parse_log(log).kv_cache_tokens
        shown = f"{tokens:,}" if tokens is not None else "no"
        agreement = (
            "exactly as planned"
            if tokens == p.kv_cache_tokens
            else f"where servecap planned {p.kv_cache_tokens:,}"
        )
        parts.append(f"at {label} it logged {shown} KV tokens, {agreement}")
    return ("Real vLLM's start-up logs: " + "; ".join(parts) + ".") if parts else ""


def _users_answer(
    low: MemoryPlan, runs: list[tuple[str, Path, dict[str, Any]]], config: DemoConfig
) -> Answer:
    held = config.user_output_tokens.mean + _SEED_USER_PROMPT_TOKENS
    sentences = []
    for label, _path, summary in runs:
        server = summary.get("server") or {}
        n = summary["requests"]
        preempted = summary.get("preemptions_total", server.get("preemptions", 0))
        batch = (
            f"a median of {server['median_running']:g} ran at once (peak "
            f"{int(server['max_running'])}), up to {int(server['max_waiting'])} waited"
            if server.get("samples", 0) >= 5
            else "too few /metrics samples to see the batch"
        )
        sentences.append(
            f"{label}: {batch}, {int(preempted)} preemptions; "
            f"{summary['succeeded']} of {n} finished in {summary['duration_s']:.0f} s, "
            f"p95 TTFT {_duration(summary['ttft_s']['p95'])}, "
            f"{(summary['output_throughput_tok_s'] or 0):,.0f} output tokens/s in all"
        )
    text = (
        f"The KV cache holds {low.kv_cache_tokens:,} tokens and each request holds up to about "
        f"{held:,.0f} (prompt plus answer), so about {low.kv_cache_tokens / held:.0f} fit at "
        f"once; the rest wait, which is queueing, not failure. " + ". ".join(sentences) + "."
    )
    return Answer("How many users at once?", text)


# the seed's user prompt in Qwen3's chat template is about 20 tokens
_SEED_USER_PROMPT_TOKENS = 20
