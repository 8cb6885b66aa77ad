"""Order deployments and say what the best one does, or why none will do."""

from __future__ import annotations

import math

from .result import AdviseOption
from .search import Run

_COUNTS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight")


def rank_key(option: AdviseOption, priced: bool) -> tuple[float, ...]:
    """Meeting the SLOs first; then fewer GPUs, lower price (when priced), less memory per
    GPU (a stand-in for price), more headroom, and the plainer vLLM settings."""
    if not option.meets_slos:
        return (1, -option.max_users, option.miss_ratio, option.gpu_count)
    price = option.cost_per_hour if option.cost_per_hour is not None else math.inf
    return (
        0,
        option.gpu_count,
        price if priced else 0.0,
        option.gpu.memory_bytes,
        -option.max_users,
        option.plan.config.kv_cache_dtype != "auto",
        option.plan.utilization,
        option.tensor_parallel_size,
    )


def short_name(option: AdviseOption) -> str:
    return option.gpu.name.replace("NVIDIA ", "").replace("GeForce ", "").replace("AMD ", "")


def describe(option: AdviseOption, start: bool = True) -> str:
    """'One RTX 4090', 'Eight H100 SXMs (tensor parallel 8)', '12 L4s (4 replicas, ...)'."""
    n = option.gpu_count
    count = _COUNTS[n] if n < len(_COUNTS) else str(n)
    count = count if start else count.lower()
    layout = []
    if option.tensor_parallel_size > 1:
        layout.append(f"tensor parallel {option.tensor_parallel_size}")
    if option.pipeline_parallel_size > 1:
        layout.append(f"pipeline parallel {option.pipeline_parallel_size}")
    if option.replicas > 1:
        layout.append(f"{option.replicas} replicas")
    text = f"{count} {short_name(option)}{'s' if n > 1 else ''}"
    return text + (f" ({', '.join(layout)})" if layout else "")


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:,.0f} s"


def limit_text(run: Run) -> str:
    """Which SLO the first failing load misses, and how full the KV cache was."""
    missed = [r for r in run.slos if not r.met]
    parts = []
    for r in missed:
        value = "no value" if r.value is None else f"{r.value:.3g}"
        parts.append(f"{r.slo} is missed ({value})")
    cause = f"KV cache peaked at {run.kv_peak:.0%}"
    if run.preemptions:
        cause += f", {run.preemptions} preemption{'s' if run.preemptions > 1 else ''}"
    who = f"{run.users} user{'s' if run.users > 1 else ''} per replica"
    return f"with {who}, {' and '.join(parts)}; {cause}"


def verdict(option: AdviseOption, users: int) -> str:
    """The answer in one sentence, for an option that meets the SLOs."""
    m = option.metrics
    plural = option.gpu_count > 1
    return (
        f"{describe(option)} serve{'' if plural else 's'} {users} such users at p95 first-token "
        f"{seconds(m['ttft_p95_s'])} and p5 {m['tokens_per_s_p5']:.0f} tokens/s per user; "
        f"{'they top' if plural else 'it tops'} out at {option.max_users}."
    )


def nothing_meets(option: AdviseOption, users: int, slos: list[str], max_gpus: int) -> str:
    """One sentence when no deployment meets the SLOs: the closest, and what limited it."""
    wanted = ", ".join(slos)
    if option.max_users == 0:
        return (
            f"Nothing meets {wanted}, not even for one user: the closest is "
            f"{describe(option, start=False)}: {option.limit}."
        )
    return (
        f"Nothing meets {wanted} for {users} users on up to {max_gpus} GPUs: the closest is "
        f"{describe(option, start=False)}, which tops out at {option.max_users} users "
        f"({option.limit})."
    )
