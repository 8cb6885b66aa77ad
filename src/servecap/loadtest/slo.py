"""Service-level objectives such as `ttft_p95=2s` or `tokens_per_s_p5=20`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidValueError
from .records import RequestRecord, metric_values
from .stats import Summary, percentile

# metric -> True when higher is better
METRICS = {"ttft": False, "tpot": False, "itl": False, "e2e": False, "tokens_per_s": True}
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "": 1.0, "tok/s": 1.0}
_PATTERN = re.compile(
    r"^(?P<metric>ttft|tpot|itl|e2e|tokens_per_s)_(?P<stat>p\d{1,2}(?:\.\d+)?|mean|max|min)"
    r"\s*=\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|us|s|tok/s)?$"
)


@dataclass(frozen=True)
class SLO:
    """One objective: a statistic of a metric against a threshold."""

    metric: str
    stat: str  # p95, mean, ...
    threshold: float  # seconds for latencies, tokens/s for throughput

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric]

    @property
    def quantile(self) -> float | None:
        return float(self.stat[1:]) if self.stat.startswith("p") else None

    def met_by(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.threshold if self.higher_is_better else value <= self.threshold

    @property
    def key(self) -> str:
        """The record metric it judges: 'ttft_s', 'tokens_per_s', ..."""
        return self.metric if self.metric == "tokens_per_s" else f"{self.metric}_s"

    @property
    def spec(self) -> str:
        """The SLO as it is written on the command line, e.g. 'ttft_p95=2s' (parse_slo reads it)."""
        unit = "" if self.higher_is_better else "s"
        value = f"{self.threshold:g}"
        if float(value) != self.threshold:
            value = repr(self.threshold)
        return f"{self.metric}_{self.stat}={value}{unit}"

    def __str__(self) -> str:
        if self.higher_is_better:
            return f"{self.metric} {self.stat} >= {self.threshold:g}"
        return f"{self.metric} {self.stat} <= {self.threshold:g} s"


def parse_slo(text: str) -> SLO:
    """Parse 'ttft_p95=2s', 'tpot_p50=50ms', 'tokens_per_s_p5=20'."""
    match = _PATTERN.match(text.strip())
    if not match:
        raise InvalidValueError(
            f"malformed SLO {text!r}",
            "write METRIC_STAT=VALUE, e.g. ttft_p95=2s, tpot_p50=50ms or tokens_per_s_p5=20 "
            "(metrics: ttft, tpot, itl, e2e, tokens_per_s)",
        )
    metric, stat = match["metric"], match["stat"]
    unit = match["unit"] or ""
    if metric == "tokens_per_s" and unit not in ("", "tok/s"):
        raise InvalidValueError(
            f"SLO {text!r}: tokens_per_s takes no time unit", "write e.g. tokens_per_s_p5=20"
        )
    if metric != "tokens_per_s" and unit == "tok/s":
        raise InvalidValueError(f"SLO {text!r}: {metric} is a time", "write e.g. ttft_p95=2s")
    if stat.startswith("p") and not 0 < float(stat[1:]) < 100:
        raise InvalidValueError(f"SLO {text!r}: percentile out of range", "use p1 to p99")
    return SLO(metric, stat, float(match["value"]) * _UNITS[unit])


@dataclass(frozen=True)
class SLOResult:
    """One SLO judged over a run: the statistic's value (None: not measured) and the verdict."""

    slo: SLO
    value: float | None
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return {"slo": str(self.slo), "value": self.value, "met": self.met}


_FAILED = 1e18  # the latency a failed request counts with


def request_meets(record: RequestRecord, slos: list[SLO]) -> bool:
    """Whether one request meets every SLO's threshold itself (the goodput criterion)."""
    if not record.ok:
        return False
    for slo in slos:
        if slo.key == "itl_s":
            value = max(record.itl_s) if record.itl_s else None
        else:
            value = getattr(record, slo.key)
        if not slo.met_by(value):
            return False
    return True


def evaluate_slos(records: list[RequestRecord], slos: list[SLO]) -> list[SLOResult]:
    """Each SLO's statistic over the run. Failed requests count as missing the SLO."""
    results = []
    failed = sum(1 for r in records if not r.ok and not r.warmup)
    for slo in slos:
        values = metric_values(records, slo.key)
        # a failed request is the worst case: endless latency, zero tokens/s
        values += [0.0 if slo.higher_is_better else _FAILED] * failed
        if slo.quantile is not None:
            value = percentile(values, slo.quantile)
        else:
            value = Summary.of(values).percentile(slo.stat)
        met = slo.met_by(value)
        results.append(SLOResult(slo, None if value is not None and value > 1e9 else value, met))
    return results
