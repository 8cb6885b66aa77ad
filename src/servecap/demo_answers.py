"""The demo's four answers, in words, from the plans and runs behind them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .memory.inverse import smallest_setup
from .memory.plan import MemoryPlan
from .units import GiB

if TYPE_CHECKING:
    from .loadtest.summary import RunSummary
    from .loadtest.workload import Lengths

# the seed's user prompt in Qwen3's chat template is about 20 tokens
SEED_USER_PROMPT_TOKENS = 20


@dataclass
class Answer:
    question: str
    answer: str


@dataclass
class DemoRun:
    """One bench or simulate run of the demo, and the result file it left."""

    label: str
    path: Path
    summary: RunSummary
    preemptions: float | None = None  # vLLM's counter, read before and after (real vLLM)

    def to_dict(self, base: Path) -> dict[str, Any]:
        summary = self.summary.to_dict()
        if self.preemptions is not None:
            summary["preemptions_total"] = self.preemptions
        return {
            "label": self.label,
            "result_file": str(self.path.relative_to(base)),
            "summary": summary,
        }


@dataclass
class Speed:
    """One request's speed at one deployment, and vLLM's start-up log there (real vLLM)."""

    label: str
    plan: MemoryPlan
    summary: RunSummary
    log: str | None


def gpu_name(p: MemoryPlan) -> str:
    return p.gpu.name if p.gpu else "CPU"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _gib(value: int | float) -> str:
    return f"{value / GiB:.2f}"


def memory_answer(default: MemoryPlan, low: MemoryPlan) -> Answer:
    s = default.stage
    held = default.requested_bytes
    text = (
        f"vLLM {default.version} takes {_gib(held)} of the {gpu_name(default)}'s "
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


def minimum_answer(long: MemoryPlan, low: MemoryPlan) -> Answer:
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


def speed_answer(speeds: list[Speed], engine: str, output_tokens: int, repeat: int) -> Answer:
    parts = []
    rates = []
    for speed in speeds:
        rate = speed.summary.tokens_per_s.p50
        rates.append(rate or 0.0)
        parts.append(
            f"{speed.label}: {rate or 0:.1f} tokens/s, TTFT {_duration(speed.summary.ttft_s.p50)} "
            f"({speed.plan.kv_cache_tokens:,} KV tokens)"
        )
    source = (
        "measured with `bench` against a simulated twin of each deployment"
        if engine == "twin"
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
        f"One request ({output_tokens} output tokens, median of "
        f"{repeat}, {source}): " + "; ".join(parts) + ". " + verdict
    )
    p = speeds[0].plan
    if p.gpu is not None:
        weights = p.stage.weights_bytes
        roofline = p.gpu.memory_bandwidth_gbps * 1e9 / weights
        text += (
            f" Reading {_gib(weights)} GiB of weights at the {p.gpu.name}'s "
            f"{p.gpu.memory_bandwidth_gbps:,.0f} GB/s caps one stream at {roofline:.0f} "
            f"tokens/s."
        )
    return Answer("Does reserving more memory make one request faster?", text)


def logged_sentence(speeds: list[Speed]) -> str:
    from .vllm.logparse import parse_log

    parts = []
    for speed in speeds:
        if speed.log is None:
            continue
        label, p = speed.label, speed.plan
        tokens = parse_log(speed.log).kv_cache_tokens
        shown = f"{tokens:,}" if tokens is not None else "no"
        agreement = (
            "exactly as planned"
            if tokens == p.kv_cache_tokens
            else f"where servecap planned {p.kv_cache_tokens:,}"
        )
        parts.append(f"at {label} it logged {shown} KV tokens, {agreement}")
    return ("Real vLLM's start-up logs: " + "; ".join(parts) + ".") if parts else ""


def users_answer(
    low: MemoryPlan, runs: list[DemoRun], output_tokens: Lengths, expected: str | None = None
) -> Answer:
    """The fourth answer; `expected` states the simulator's expected error where it ran."""
    held = output_tokens.mean + SEED_USER_PROMPT_TOKENS
    sentences = []
    for run in runs:
        s = run.summary
        server = s.server
        preempted = run.preemptions
        if preempted is None:
            preempted = server.preemptions if server else 0
        batch = (
            f"a median of {server.median_running:g} ran at once (peak "
            f"{int(server.max_running)}), up to {int(server.max_waiting)} waited"
            if server is not None and server.samples >= 5
            else "too few /metrics samples to see the batch"
        )
        sentences.append(
            f"{run.label}: {batch}, {int(preempted)} preemptions; "
            f"{s.succeeded} of {s.requests} finished in {s.duration_s:.0f} s, "
            f"p95 TTFT {_duration(s.ttft_s.p95)}, "
            f"{(s.output_throughput_tok_s or 0):,.0f} output tokens/s in all"
        )
    text = (
        f"The KV cache holds {low.kv_cache_tokens:,} tokens and each request holds up to about "
        f"{held:,.0f} (prompt plus answer), so about {low.kv_cache_tokens / held:.0f} fit at "
        f"once; the rest wait, which is queueing, not failure. " + ". ".join(sentences) + "."
    )
    if expected:
        text += f" Simulated, so: {expected}."
    return Answer("How many users at once?", text)
