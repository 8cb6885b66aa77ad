"""Per-request records of a load test: what happened to each request, as data."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np


@dataclass
class RequestRecord:
    """One request: times are seconds on the run's clock (time.perf_counter based)."""

    request_id: int
    scheduled_s: float = 0.0  # when the workload wanted it sent
    send_s: float = 0.0  # when it was actually sent
    first_token_s: float | None = None
    end_s: float | None = None
    chunk_times_s: list[float] = field(default_factory=list)  # token-bearing chunks only
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    requested_output_tokens: int | None = None
    token_source: str = "usage"  # usage, tokenizer or chunks
    status: str = "ok"  # ok, error or cancelled
    # connection_refused, timeout, http_status, malformed_stream, disconnect, cancelled, other
    error_class: str | None = None
    error_detail: str | None = None
    http_status: int | None = None
    finish_reason: str | None = None
    output_chars: int = 0
    warmup: bool = False
    phase: str = ""  # sweep step, e.g. "users=16"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_token_s is None else self.first_token_s - self.send_s

    @property
    def e2e_s(self) -> float | None:
        last = self.chunk_times_s[-1] if self.chunk_times_s else None
        return None if last is None else last - self.send_s

    @property
    def tpot_s(self) -> float | None:
        """(last token - first token) / (output tokens - 1): vLLM's TPOT."""
        if self.first_token_s is None or not self.chunk_times_s or not self.output_tokens:
            return None
        if self.output_tokens < 2:
            return None
        return (self.chunk_times_s[-1] - self.first_token_s) / (self.output_tokens - 1)

    @property
    def itl_s(self) -> list[float]:
        """Gaps between consecutive token-bearing chunks (vLLM's ITL)."""
        t = self.chunk_times_s
        return [b - a for a, b in itertools.pairwise(t)]

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens / E2E, what the seed's script prints per request."""
        e2e = self.e2e_s
        if not self.output_tokens or not e2e or e2e <= 0:
            return None
        return self.output_tokens / e2e

    @property
    def ended_early(self) -> bool:
        """Fewer tokens than were forced with min_tokens = max_tokens."""
        return (
            self.ok
            and self.requested_output_tokens is not None
            and self.output_tokens is not None
            and self.output_tokens < self.requested_output_tokens
        )

    def to_dict(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: its deep copy costs a closed loop's turnaround
        data = {name: getattr(self, name) for name in _FIELDS}
        data["chunk_times_s"] = list(self.chunk_times_s)
        data["ttft_s"] = self.ttft_s
        data["e2e_s"] = self.e2e_s
        data["tpot_s"] = self.tpot_s
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


_FIELDS = tuple(f.name for f in fields(RequestRecord))


METRIC_KEYS = ("ttft_s", "tpot_s", "itl_s", "e2e_s", "tokens_per_s")
_PER_REQUEST = frozenset({"ttft_s", "tpot_s", "e2e_s", "tokens_per_s"})


def metric_values(records: list[RequestRecord], key: str) -> list[float]:
    """The values of one metric over successful requests (ITL pools every gap)."""
    ok = [r for r in records if r.ok]
    if key == "itl_s":
        return [gap for r in ok for gap in r.itl_s]
    if key not in _PER_REQUEST:
        raise ValueError(f"unknown metric {key!r}")
    return [v for r in ok if (v := getattr(r, key)) is not None]


def itl_values(records: list[RequestRecord]) -> np.ndarray:
    """Every chunk gap of the successful requests, pooled (ITL), without a Python loop per
    gap: a simulated run of 10,000 requests holds millions of them."""
    arrays = [np.diff(np.asarray(r.chunk_times_s, dtype=float)) for r in records if r.ok]
    return np.concatenate(arrays) if arrays else np.empty(0)
