"""One statistics type for every metric: count, mean, min, p50, p90, p95, p99, max."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class Summary:
    """Distribution of one metric over requests (or over chunk gaps, for ITL)."""

    count: int
    mean: float | None
    min: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, values: Iterable[float | None] | np.ndarray) -> Summary:
        if isinstance(values, np.ndarray):
            data = values.astype(float, copy=False)
        else:
            data = np.asarray([v for v in values if v is not None], dtype=float)
        if data.size == 0:
            return cls(0, None, None, None, None, None, None, None)
        p50, p90, p95, p99 = (float(x) for x in np.percentile(data, PERCENTILES))
        return cls(
            int(data.size),
            float(data.mean()),
            float(data.min()),
            p50,
            p90,
            p95,
            p99,
            float(data.max()),
        )

    def percentile(self, name: str) -> float | None:
        """'p95', 'mean', 'max', ... by name."""
        value = getattr(self, name, None)
        return value if isinstance(value, float) else None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """Any percentile, e.g. the p5 of tokens/s that an SLO asks for."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    return float(np.percentile(data, q)) if data.size else None
