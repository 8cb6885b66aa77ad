"""Simulate one replica at any number of users (cached), and search users and replicas.

A replica is one vLLM engine on tensor x pipeline GPUs. Users split evenly over replicas,
so a fleet at U users is replicas at U // r and U // r + 1 users; its records are theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..loadtest.load import LoadProfile
from ..loadtest.records import RequestRecord, metric_values
from ..loadtest.slo import SLO, SLOResult, evaluate_slos
from ..loadtest.stats import percentile
from ..memory.plan import MemoryPlan
from ..sim.engine import Simulator
from ..sim.simulate import engine_config
from ..sim.steptime import StepTimeModel, build_model

MAX_USERS_PER_REPLICA = 1 << 14  # the capacity search stops here
KV_FULL = 0.95  # peak KV usage above which more KV memory could admit more users


@dataclass(frozen=True)
class Run:
    """One replica's simulated run at `users` users."""

    users: int
    records: list[RequestRecord]
    slos: list[SLOResult]
    kv_peak: float
    preemptions: int

    @property
    def met(self) -> bool:
        return all(r.met for r in self.slos)

    @property
    def kv_limited(self) -> bool:
        return self.kv_peak >= KV_FULL or self.preemptions > 0


def miss_ratio(results: list[SLOResult]) -> float:
    """How far the worst SLO is from its threshold (1 = on it, 2 = twice too slow)."""
    worst = 0.0
    for r in results:
        if r.value is None:
            return math.inf
        if r.slo.higher_is_better:
            ratio = r.slo.threshold / r.value if r.value > 0 else math.inf
        else:
            ratio = r.value / r.slo.threshold if r.slo.threshold > 0 else math.inf
        worst = max(worst, ratio)
    return worst


def step_model(plan: MemoryPlan) -> StepTimeModel:
    """The simulator's step-time model, with pipeline stages run one after another.

    `build_model` prices one rank: with pipeline parallelism that is one stage's weights and
    KV. A token passes every stage in turn, so a step here reads all stages; micro-batches do
    not overlap, which is right for latency and pessimistic for throughput under heavy load.
    """
    model = build_model(plan)
    pp = plan.config.pipeline_parallel_size
    if pp == 1:
        return model
    return replace(
        model,
        dense_bytes=model.dense_bytes * pp,
        expert_bytes=model.expert_bytes * pp,
        kv_bytes_per_token=model.kv_bytes_per_token * pp,
    )


class Replica:
    """One planned engine; simulates N users at once, each run once."""

    def __init__(self, plan: MemoryPlan, prompt: int, output: int, slos: list[SLO]) -> None:
        self.plan = plan
        self.lengths = (prompt, output)
        self.slos = slos
        self._config = engine_config(plan)
        self._model = step_model(plan)
        self._runs: dict[int, Run] = {}

    def run(self, users: int) -> Run:
        if users not in self._runs:
            sim = Simulator(self._config, self._model)
            result = sim.run(LoadProfile("users", requests=users), [self.lengths] * users)
            kv = [s.kv_cache_usage for s in result.samples if s.kv_cache_usage is not None]
            self._runs[users] = Run(
                users,
                result.records,
                evaluate_slos(result.records, self.slos),
                max(kv, default=0.0),
                result.preemptions,
            )
        return self._runs[users]

    @property
    def runs_done(self) -> int:
        return len(self._runs)

    def meets(self, users: int) -> bool:
        return users <= 0 or self.run(users).met

    def kv_limited(self) -> bool:
        """Whether a run that missed the SLOs had a full KV cache (more KV might help)."""
        return any(r.kv_limited for r in self._runs.values() if not r.met)

    def ratio(self, users: int) -> float:
        return 0.0 if users <= 0 else miss_ratio(self.run(users).slos)

    def capacity(self, lo: int = 0, hi: int | None = None) -> int:
        """The most users that meet every SLO; `lo` is known to meet (or 0), `hi` to miss.

        The SLO margin changes smoothly with users, so guesses interpolate it (falling back
        to halving when one side of the bracket stalls); the answer still meets at N and
        misses at N + 1 by construction.
        """
        while hi is None:
            r = self.ratio(lo)
            probe = max(lo + 1, int(lo * 1.25), int(lo / r) if r > 0 else 2 * lo)
            if probe > MAX_USERS_PER_REPLICA:
                return lo
            if self.meets(probe):
                lo = probe
            else:
                hi = probe
        stalled = ""
        while hi - lo > 1:
            r_lo, r_hi = self.ratio(lo), self.ratio(hi)
            mid = (lo + hi) // 2
            if stalled != "twice" and math.isfinite(r_hi) and r_hi > r_lo:
                guess = lo + (1.0 - r_lo) * (hi - lo) / (r_hi - r_lo)
                mid = min(hi - 1, max(lo + 1, int(guess)))
            side = "lo" if self.meets(mid) else "hi"
            if side == "lo":
                lo = mid
            else:
                hi = mid
            stalled = "twice" if stalled == side else side
        return lo

    def min_replicas(self, users: int, most: int) -> int | None:
        """The fewest replicas (at most `most`) whose even share of `users` meets the SLOs.

        The most replicas (the lightest load, the cheapest run) are tried first, so heavy
        loads are simulated only when they may still meet.
        """
        if not self.meets(-(-users // most)):
            return None
        lo, hi = 0, most  # lo misses (0: none), hi meets
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.meets(-(-users // mid)):
                hi = mid
            else:
                lo = mid
        return hi

    # -- a fleet of identical replicas --------------------------------------------------

    def fleet_records(self, users: int, replicas: int) -> list[RequestRecord]:
        share, extra = divmod(users, replicas)
        records = self.run(share + 1).records * extra if extra else []
        if share:
            records += self.run(share).records * (replicas - extra)
        return records

    def fleet_meets(self, users: int, replicas: int) -> bool:
        records = self.fleet_records(users, replicas)
        return all(r.met for r in evaluate_slos(records, self.slos))

    def fleet_capacity(self, per_replica: int, replicas: int) -> int:
        """The most users the fleet serves: between r x and r x (capacity + 1) - 1."""
        lo, hi = per_replica * replicas, (per_replica + 1) * replicas
        if per_replica == 0:
            return 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.fleet_meets(mid, replicas):
                lo = mid
            else:
                hi = mid
        return lo

    def fleet_metrics(self, users: int, replicas: int) -> dict[str, Any]:
        """TTFT, tokens/s per user and throughput of the fleet at `users` users."""
        records = self.fleet_records(users, replicas)
        ttft = metric_values(records, "ttft_s")
        tps = metric_values(records, "tokens_per_s")
        ends = [r.end_s for r in records if r.end_s is not None]
        duration = max(ends) - min(r.send_s for r in records) if ends else 0.0
        tokens = sum(r.output_tokens or 0 for r in records if r.ok)
        slos = evaluate_slos(records, self.slos)
        return {
            "users": users,
            "ttft_p50_s": percentile(ttft, 50) or 0.0,
            "ttft_p95_s": percentile(ttft, 95) or 0.0,
            "tokens_per_s_p50": percentile(tps, 50) or 0.0,
            "tokens_per_s_p5": percentile(tps, 5) or 0.0,
            "throughput_tokens_per_s": tokens / duration if duration else 0.0,
            "meets_slos": all(r.met for r in slos),
            "slo_results": slos,
        }
