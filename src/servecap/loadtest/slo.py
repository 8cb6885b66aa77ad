"""Service-level objectives such as `ttft_p95=2s` or `tokens_per_s_p5=20`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidValueError

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

    def request_ok(self, value: float | None) -> bool:
        """Whether one request's own value meets the threshold (for goodput)."""
        return self.met_by(value)

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
