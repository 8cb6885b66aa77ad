"""Fit the step-time model's physical terms to a planned measurement (`measure.py`).

Each measured step is a designed point whose cost the model states in closed form: b users at
once decoding over a known context (their median time per output token is the step at batch
b, or the API server's turn over b chunks when that is longer), and single prefills of known
prompts (their time to first token is the API server's latency, the prefill's chunks and the
first chunk's delivery). A bounded least-squares search (scipy's trust-region reflective
method with a soft L1 loss, so one disturbed point cannot pull the fit) matches the model's
log-times to the measured ones, over the points of one or several models on one GPU; the
spread of each fitted value comes from the Jacobian at the optimum.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import InvalidValueError
from ..loadtest.load import LoadProfile
from ..loadtest.records import RequestRecord
from ..loadtest.results import read_results
from ..memory.plan import MemoryPlan
from .engine import Simulator
from .scheduler import EngineConfig
from .simulate import engine_config
from .steptime import Profile, StepTimeModel, build_model

# name -> (lower, upper) bound; log-space fit, so every bound is positive
BOUNDS: dict[str, tuple[float, float]] = {
    "overhead_s": (1e-5, 0.1),
    "bandwidth_efficiency": (0.05, 1.0),
    "flops_efficiency": (0.01, 1.0),
    "attention_efficiency": (0.01, 1.0),
    "sampler_s_per_logit": (1e-15, 1e-8),
    "api_chunk_s": (1e-7, 1e-3),
    "request_latency_s": (1e-4, 0.5),
    "tokenize_s_per_token": (1e-10, 1e-4),
    "moe_layer_s": (1e-7, 1e-3),
    "api_request_s": (1e-7, 0.05),
}
FITTED = tuple(name for name in BOUNDS if name != "api_request_s")  # bursts alone tell it apart
CPU_BOUNDS = {"flops_efficiency": (0.01, 100.0), "bandwidth_efficiency": (0.05, 10.0)}
STREAM_LATENCY_S = 0.0005  # the scheduler's per-chunk network latency (EngineConfig)


@dataclass(frozen=True)
class StepPoint:
    """One measured, designed point: a decode batch, the burst of prefills that starts it, or
    a single prefill; and its seconds."""

    kind: str  # "decode", "burst" or "prefill"
    batch: int
    context_per_seq: float  # decode: the KV each sequence reads, on average over the run
    prompt_tokens: int
    seconds: float  # decode: median time per output token; burst, prefill: median TTFT
    source: str = ""
    output_tokens: int = 0


def points_of(records: list[RequestRecord], kind: str, source: str = "") -> list[StepPoint]:
    """The points a measured step's requests give: a decode batch (and, for two or more at
    once, its burst of prefills), or a single prefill; none where too few succeeded."""
    ok = [r for r in records if r.ok and not r.warmup and r.prompt_tokens and r.output_tokens]
    if not ok:
        return []
    prompt = int(statistics.median(r.prompt_tokens or 0 for r in ok))
    output = statistics.median(r.output_tokens or 0 for r in ok)
    ttfts = [t for r in ok if (t := r.ttft_s) is not None]
    if kind == "prefill":
        if not ttfts:
            return []
        return [StepPoint("prefill", 1, prompt, prompt, statistics.median(ttfts), source)]
    tpots = [t for r in ok if (t := r.tpot_s) is not None]
    points = []
    if tpots:
        points.append(StepPoint("decode", len(ok), prompt + output / 2, prompt,
                                statistics.median(tpots), source, int(output)))  # fmt: skip
    if len(ok) >= 2 and ttfts:
        points.append(StepPoint("burst", len(ok), prompt, prompt, statistics.median(ttfts),
                                source + " TTFT", int(output)))  # fmt: skip
    return points


def measured_points(folder: Path, bursts: bool = False) -> list[StepPoint]:
    """The points of a measurement's result files (NN-decode-bB, NN-long-bB, NN-prefill-P).

    A burst's TTFT (b requests sent at once) is left out unless asked for: on the H100 it
    varied with the model in ways no term explains (Qwen3-14B's 8 prompts of 128 tokens took
    98 ms, Qwen3-8B's 39 ms), and fitting to it made the other points worse.
    """
    points = []
    for path in sorted(folder.glob("[0-9][0-9]-*.jsonl")):
        name = path.stem.split("-", 1)[1]
        kind = "decode" if name.startswith(("decode-", "long-")) else "prefill"
        if not name.startswith(("decode-", "long-", "prefill-")):
            continue
        found = points_of(read_results([path]).records, kind, name)
        points += [p for p in found if bursts or p.kind != "burst"]
    return points


BURST_OUTPUT = 32  # a burst's answers, cut: its first tokens come long before these end


def predict(model: StepTimeModel, point: StepPoint, config: EngineConfig) -> float:
    """What the model says a point's measured number is."""
    p = model.profile
    if point.kind == "burst":
        lengths = [(point.prompt_tokens, max(2, min(point.output_tokens, BURST_OUTPUT)))]
        run = Simulator(config, model).run(
            LoadProfile("users", requests=point.batch), lengths * point.batch
        )
        return statistics.median(r.ttft_s or 0.0 for r in run.records)
    if point.kind == "decode":
        b = point.batch
        context = b * point.context_per_seq
        step = model.step_s(0, b, round(context), context)
        return max(step, b * p.api_chunk_s)
    prompt, done, seconds = point.prompt_tokens, 0, 0.0
    budget = config.max_num_batched_tokens
    while done < prompt:
        n = min(budget, prompt - done)
        pairs = n * (done + (n + 1) / 2)
        seconds += model.step_s(n, 0, done + n, pairs, 1 if done + n >= prompt else 0)
        done += n
    return p.request_latency(prompt) + seconds + p.api_chunk_s + STREAM_LATENCY_S


@dataclass(frozen=True)
class Fit:
    """A fitted profile, how well it matches, and how tightly each value is pinned down."""

    profile: Profile
    rms_log_error: float  # over the points, at the fit
    before: float  # the same with the starting profile
    spread: dict[str, float]  # each fitted value's relative standard error (1 = 100%)
    points: int
    errors: tuple[tuple[str, float, float], ...] = ()  # (step, measured s, relative error)

    def within(self, bound: float) -> float:
        """The share of the measured points the fitted profile predicts within `bound`."""
        if not self.errors:
            return 0.0
        return sum(abs(e) <= bound for *_, e in self.errors) / len(self.errors)

    def to_dict(self) -> dict[str, object]:
        p = self.profile
        return {
            "points": self.points,
            "rms_log_error_before": self.before,
            "rms_log_error": self.rms_log_error,
            "within_15pct": self.within(0.15),
            "values": {
                name: {"value": getattr(p, name), "relative_spread": spread}
                for name, spread in self.spread.items()
            },
            "steps": [
                {"step": step, "measured_s": measured, "error": error}
                for step, measured, error in self.errors
            ],
        }


def fit_profile(
    measurements: list[tuple[MemoryPlan, list[StepPoint]]],
    start: Profile | None = None,
    fitted: tuple[str, ...] = FITTED,
) -> Fit:
    """Fit one profile to the points of one or more models measured on one GPU."""
    from scipy.optimize import least_squares

    if not measurements or not any(points for _, points in measurements):
        raise InvalidValueError(
            "no measured steps to fit", "measure with `servecap calibrate --url` first"
        )
    first_plan = measurements[0][0]
    if not any(plan.model.moe is not None for plan, _ in measurements):
        fitted = tuple(name for name in fitted if name != "moe_layer_s")
    base = start or build_model(first_plan).profile
    if base.attention_efficiency is None and "attention_efficiency" in fitted:
        base = replace(base, attention_efficiency=base.bandwidth_efficiency)
    bounds = {**BOUNDS, **(CPU_BOUNDS if first_plan.gpu is None else {})}
    models = [(build_model(plan), engine_config(plan), pts) for plan, pts in measurements]

    def profile_of(x: np.ndarray) -> Profile:
        values = {name: float(math.exp(v)) for name, v in zip(fitted, x, strict=True)}
        return replace(base, **values, source=f"fitted on {sum(len(p) for *_, p in models)} steps")

    def residuals(x: np.ndarray) -> np.ndarray:
        profile = profile_of(x)
        out = []
        for model, config, points in models:
            with_profile = replace(model, profile=profile)
            out += [math.log(predict(with_profile, pt, config) / pt.seconds) for pt in points]
        return np.asarray(out)

    def start_value(name: str) -> float:
        lo, hi = bounds[name]
        value = getattr(base, name) or math.sqrt(lo * hi)
        return min(max(float(value), lo * 1.001), hi / 1.001)

    x0 = np.log([start_value(name) for name in fitted])
    lower = np.log([bounds[n][0] for n in fitted])
    upper = np.log([bounds[n][1] for n in fitted])
    before = _rms(residuals(x0))
    result = least_squares(
        residuals, x0, bounds=(lower, upper), loss="soft_l1", f_scale=0.05, x_scale=1.0
    )
    spread = _spread(result.jac, result.fun, fitted)
    # the residuals at the optimum are each point's log(predicted / measured), in order
    points = [pt for *_, pts in models for pt in pts]
    errors = tuple(
        (pt.source, pt.seconds, float(error))
        for pt, error in zip(points, np.expm1(result.fun), strict=True)
    )
    return Fit(profile_of(result.x), _rms(result.fun), before, spread, len(result.fun), errors)


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0


def _spread(jac: np.ndarray, fun: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Relative standard errors of the fitted values (their logs' standard errors)."""
    m, n = jac.shape
    dof = max(1, m - n)
    variance = float(fun @ fun) / dof
    cov = np.linalg.pinv(jac.T @ jac) * variance
    return {name: float(math.sqrt(max(cov[i, i], 0.0))) for i, name in enumerate(names)}
