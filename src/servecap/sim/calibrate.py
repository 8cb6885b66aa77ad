"""Fit the step-time model to measured runs, so the simulator matches one's own hardware.

The measured requests are replayed through the simulator at their measured send times, with
their measured prompt and output lengths. A derivative-free search (Nelder-Mead on log
parameters) then minimises, replay against measurement: the log error of each request's TTFT
and TPOT, of the mean engine step at each batch size the clients saw (servecap.sim.observed;
the replay sends at the same times, so its prefills fall in the same places), and of the run's
length. Per-request and per-batch errors tell apart what a few medians cannot:
a prefill's cost per token from the latency before it, and a decode step's fixed overhead from
its cost per sequence. Fitted: the per-step overhead, the bandwidth and compute efficiencies,
the API server's cost per chunk and the latency before a request reaches the scheduler.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InvalidValueError
from ..loadtest.load import LoadProfile
from ..loadtest.records import RequestRecord
from ..loadtest.summary import RunSummary, summarize_run
from ..memory.plan import MemoryPlan
from .engine import SimResult, Simulator
from .observed import steps_by_batch
from .simulate import engine_config
from .steptime import Profile, build_model

TARGETS = (("ttft_s", "p50"), ("tpot_s", "p50"), ("e2e_s", "p50"))
RESTARTS = 3
MIN_STEPS = 10  # steps at one batch size, for its mean to count


@dataclass(frozen=True)
class Calibration:
    """A fitted profile and how much better it replays the measured run than the start."""

    profile: Profile
    error: float  # RMS relative error over the targets after fitting
    before: float  # the same error with the starting profile
    requests: int

    def to_dict(self) -> dict[str, Any]:
        p = self.profile
        return {
            "requests": self.requests,
            "error_before": self.before,
            "error_after": self.error,
            "overhead_s": p.overhead_s,
            "bandwidth_efficiency": p.bandwidth_efficiency,
            "flops_efficiency": p.flops_efficiency,
            "per_token_s": p.per_token_s,
            "api_chunk_s": p.api_chunk_s,
            "request_latency_s": p.request_latency_s,
        }


def _measured(records: list[RequestRecord]) -> list[RequestRecord]:
    ok = [r for r in records if r.ok and not r.warmup and r.prompt_tokens and r.output_tokens]
    if len(ok) < 2:
        raise InvalidValueError(
            "the result files hold fewer than 2 successful requests with token counts",
            "calibrate on a bench run of a few requests against the real server",
        )
    return ok


def _stats(summary: RunSummary) -> list[float]:
    values = []
    for key, stat in TARGETS:
        value = summary.metric(key).percentile(stat)
        values.append(float(value) if value else float("nan"))
    tp = summary.output_throughput_tok_s
    values.append(float(tp) if tp is not None else float("nan"))
    return values


def replay_run(
    result: MemoryPlan,
    records: list[RequestRecord],
    profile: Profile | None,
    sample_interval_s: float = 0.5,
) -> SimResult:
    """Simulate the measured requests at their send times, with their measured lengths; the
    records are one for each, in order (`profile` None: the deployment's default)."""
    start = min(r.send_s for r in records)
    lengths = [(int(r.prompt_tokens or 1), int(r.output_tokens or 1)) for r in records]
    model = build_model(result, profile)
    sim = Simulator(engine_config(result), model, sample_interval_s=sample_interval_s)
    return sim.run(
        LoadProfile("users", requests=len(records)),
        lengths,
        arrivals_s=[r.send_s - start for r in records],
    )


def replay_records(
    result: MemoryPlan, records: list[RequestRecord], profile: Profile
) -> list[RequestRecord]:
    """Simulate the measured requests at their send times; one record for each, in order."""
    return replay_run(result, records, profile).records


def replay(result: MemoryPlan, records: list[RequestRecord], profile: Profile) -> RunSummary:
    """Simulate the measured requests at their send times; the bench-style summary."""
    return summarize_run(replay_records(result, records, profile), None, "replay")


def _step_term(measured: dict[int, list[float]], simulated: list[RequestRecord]) -> float | None:
    """Mean squared log error of the mean step at each batch size the run saw often."""
    replayed = steps_by_batch(simulated)
    logs, weights = [], []
    for batch, steps in measured.items():
        other = replayed.get(batch, [])
        if len(steps) >= MIN_STEPS and len(other) >= MIN_STEPS // 4:
            logs.append(math.log(statistics.fmean(other) / statistics.fmean(steps)))
            weights.append(len(steps))
    if not logs:
        return None
    return sum(w * x * x for w, x in zip(weights, logs, strict=True)) / sum(weights)


def _paired_error(
    measured: list[RequestRecord],
    simulated: list[RequestRecord],
    measured_steps: dict[int, list[float]],
) -> float:
    """RMS log error of each request's TTFT and TPOT against its own replay, of the mean step
    at each batch size, and of the run's length (its throughput)."""
    terms = []
    step = _step_term(measured_steps, simulated)
    if step is not None:
        terms.append(step)
    for attr in ("ttft_s", "tpot_s"):
        logs = [
            math.log(s / m)
            for a, b in zip(measured, simulated, strict=True)
            if (m := getattr(a, attr)) and (s := getattr(b, attr)) and m > 0 and s > 0
        ]
        if logs:
            terms.append(sum(x * x for x in logs) / len(logs))

    terms.append(math.log(_span(simulated) / _span(measured)) ** 2)
    return math.sqrt(sum(terms) / len(terms))


def _span(records: list[RequestRecord]) -> float:
    return max(r.end_s or r.send_s for r in records) - min(r.send_s for r in records)


def _error(measured: list[float], simulated: list[float]) -> float:
    terms = [
        (s - m) / m
        for m, s in zip(measured, simulated, strict=True)
        if m and not math.isnan(m) and not math.isnan(s)
    ]
    return math.sqrt(sum(t * t for t in terms) / len(terms)) if terms else float("inf")


def calibrate(
    result: MemoryPlan,
    records: list[RequestRecord],
    start: Profile | None = None,
    iterations: int = 300,
) -> Calibration:
    """Fit the step overhead, efficiencies, API-server cost and request latency."""
    measured_records = _measured(records)
    measured = _stats(summarize_run(measured_records, None, "measured"))
    base = start or build_model(result).profile

    # A GPU cannot beat its datasheet; a CPU's peak is only servecap's guess, so the fitted
    # efficiency scales that guess freely (a core with AMX multiplies bf16 far faster).
    cap = 1.0 if result.gpu is not None else math.inf
    # Only parameters the measurements can tell apart: a per-token cost would duplicate the
    # compute term. The bandwidth efficiency sets how a step grows with the KV it reads, on a
    # CPU too (there it cut benchmarks/sim_accuracy.py's largest error by 1-3 points).
    fitted = [
        "overhead_s",
        "bandwidth_efficiency",
        "flops_efficiency",
        "api_chunk_s",
        "request_latency_s",
    ]
    capped = {"bandwidth_efficiency", "flops_efficiency"}

    def profile_of(x: np.ndarray) -> Profile:
        values = {
            name: min(float(math.exp(v)), cap) if name in capped else float(math.exp(v))
            for name, v in zip(fitted, x, strict=True)
        }
        return replace(base, **values, source=f"calibrated on {len(measured_records)} requests")

    steps = steps_by_batch(measured_records)

    def objective(x: np.ndarray) -> float:
        replayed = replay_records(result, measured_records, profile_of(x))
        return _paired_error(measured_records, replayed, steps)

    def summary_error(x: np.ndarray) -> float:
        return _error(measured, _stats(replay(result, measured_records, profile_of(x))))

    x0 = np.log([max(float(getattr(base, name)), 1e-4) for name in fitted])
    before = summary_error(x0)
    best, value = _nelder_mead(objective, x0, iterations)
    # the objective is piecewise (a request joins one step or the next), so a simplex can
    # shrink onto a ridge; starting afresh from its best point lets it move on
    for _ in range(RESTARTS):
        again, again_value = _nelder_mead(objective, best, iterations)
        if again_value > value - 1e-3:
            break
        best, value = again, again_value
    return Calibration(profile_of(best), summary_error(best), before, len(measured_records))


def _nelder_mead(
    func: Callable[[np.ndarray], float], x0: np.ndarray, iterations: int, step: float = 0.7
) -> tuple[np.ndarray, float]:
    """Minimise func from x0 with the Nelder-Mead simplex (standard coefficients)."""
    n = len(x0)
    simplex = [x0] + [x0 + step * np.eye(n)[i] for i in range(n)]
    values = [func(x) for x in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        fr = func(reflected)
        if fr < values[0]:
            expanded = centroid + 2 * (centroid - simplex[-1])
            fe = func(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            fc = func(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                best = simplex[0]
                simplex = [best] + [best + 0.5 * (x - best) for x in simplex[1:]]
                values = [values[0]] + [func(x) for x in simplex[1:]]
        if max(values) - min(values) < 1e-4:
            break
    i = int(np.argmin(values))
    return simplex[i], float(values[i])
