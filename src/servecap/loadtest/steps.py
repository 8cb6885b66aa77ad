"""A run as steps: each load level's summary, the pooled summary, when a sweep saturates, and
the largest load that meets every SLO. `bench`, `simulate` and `report` return the same type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vllm.metrics import ServerSample
from .load import phase_load, phase_mode, phase_unit
from .records import RequestRecord
from .results import RunData
from .slo import SLO
from .summary import ClientView, RunSummary, combine_clients, step_samples, summarize_run


@dataclass(frozen=True)
class Step:
    """One load level of a run (the whole run when it is not a sweep)."""

    phase: str  # 'users=16', 'rate=4'; '' outside sweeps
    load: float  # users, streams or requests/s
    unit: str
    summary: RunSummary
    records: list[RequestRecord] = field(default_factory=list, repr=False, compare=False)
    samples: list[ServerSample] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "load": self.load, **self.summary.to_dict()}


def summarize_step(
    phase: str,
    load: float,
    unit: str,
    records: list[RequestRecord],
    samples: list[ServerSample],
    mode: str,
    slos: list[SLO],
    client: ClientView | None = None,
    simulated: bool = False,
    engine_steps: int | None = None,
) -> Step:
    """One step's summary, with only the /metrics samples taken while it ran."""
    during = step_samples(records, samples)
    summary = summarize_run(records, during, mode, slos, client, simulated, engine_steps)
    return Step(phase, load, unit, summary, records, during)


@dataclass(frozen=True)
class RunResult:
    """What a run gives back: the pooled summary over every step, and each step's."""

    summary: RunSummary
    steps: list[Step]
    path: Path | None = None  # the result file
    capacity: str | None = None  # the largest load meeting every SLO, in a sentence
    stopped_early: str | None = None  # why a sweep stopped before its last step
    records: list[RequestRecord] = field(default_factory=list, repr=False, compare=False)
    samples: list[ServerSample] = field(default_factory=list, repr=False, compare=False)

    @property
    def sweep(self) -> bool:
        return any(s.phase for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` object: the pooled summary on top, each sweep step under `steps`."""
        data = self.summary.to_dict()
        if self.sweep:
            data["steps"] = [s.to_dict() for s in self.steps]
        data["capacity"] = self.capacity
        data["stopped_early"] = self.stopped_early
        data["result_file"] = str(self.path) if self.path else None
        return data


def saturation(previous: Step | None, current: Step) -> str | None:
    """Why a sweep should stop: throughput stopped growing while the server queued."""
    if previous is None:
        return None
    prev_tp = previous.summary.output_throughput_tok_s or 0
    tp = current.summary.output_throughput_tok_s or 0
    server = current.summary.server
    queued = server is not None and server.max_waiting > 0
    if prev_tp and tp < prev_tp * 1.05 and queued:
        return (
            f"saturated at {current.phase}: output throughput {tp:.1f} tok/s did not grow "
            f"beyond {prev_tp:.1f} while requests waited in vLLM's queue"
        )
    if current.summary.failed > current.summary.requests / 2:
        return f"stopped at {current.phase}: most requests failed"
    return None


def capacity_sentence(steps: list[Step], slos: list[SLO]) -> str | None:
    """The largest load meeting every SLO, in one plain sentence."""
    if not slos:
        return None
    unit = steps[0].unit if steps else "users"
    names = "; ".join(str(s) for s in slos)
    passing = [s for s in steps if s.summary.slos_met]
    if not passing:
        worst = ""
        if steps and steps[0].summary.missed:
            missed = steps[0].summary.missed[0]
            worst = f" (at {steps[0].phase or unit}: {missed.slo} was {_fmt(missed.value)})"
        return f"No tested load meets every SLO ({names}){worst}."
    best = max(passing, key=lambda s: s.load)
    text = f"With {names}, the server handles up to {best.load:g} {unit} at once."
    above = [s for s in steps if s.load > best.load]
    if above:
        nxt = min(above, key=lambda s: s.load)
        if nxt.summary.missed:
            missed = nxt.summary.missed[0]
            text = text[:-1] + (
                f"; at {nxt.load:g} {unit}, {missed.slo.metric} {missed.slo.stat} was "
                f"{_fmt(missed.value)}."
            )
    return text


def _fmt(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3g}"


def summarize_results(
    run: RunData, slos: list[SLO] | None = None, path: Path | None = None
) -> RunResult:
    """A result file's (or several merged files') summaries: pooled, and per sweep step.

    Without `slos`, the SLOs the run was made with.
    """
    if slos is None:
        slos = run.slos
    mode = str(run.meta.get("mode", ""))
    simulated = bool(run.meta.get("simulated"))
    engine_steps = sum(run.engine_steps.values()) if run.engine_steps else None
    summary = summarize_run(
        run.records, run.samples, mode, slos, combine_clients(run.clients), simulated, engine_steps
    )
    steps = []
    for phase in sorted({r.phase for r in run.records if r.phase}, key=phase_load):
        records = [r for r in run.records if r.phase == phase]
        client = combine_clients({phase: run.clients.get(phase, [])})
        steps.append(
            summarize_step(
                phase,
                phase_load(phase),
                phase_unit(phase, mode),
                records,
                run.samples,
                phase_mode(phase, mode),
                slos,
                client,
                simulated,
                run.engine_steps.get(phase),
            )
        )
    capacity = capacity_sentence(steps, slos) if steps else None
    return RunResult(summary, steps, path, capacity, None, run.records, run.samples)
