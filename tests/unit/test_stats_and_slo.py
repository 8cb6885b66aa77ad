"""Statistics, SLO parsing and goodput."""

from __future__ import annotations

import pytest

from servecap.errors import InvalidValueError
from servecap.loadtest.records import RequestRecord
from servecap.loadtest.slo import evaluate_slos, parse_slo, request_meets
from servecap.loadtest.stats import Summary
from servecap.loadtest.summary import summarize_run


def test_summary_of_known_values():
    s = Summary.of(range(1, 101))
    assert s.count == 100 and s.mean == 50.5 and s.min == 1 and s.max == 100
    assert s.p50 == pytest.approx(50.5) and s.p99 == pytest.approx(99.01)
    assert Summary.of([]).count == 0 and Summary.of([None]).mean is None


@pytest.mark.parametrize(
    "text,metric,stat,threshold",
    [
        ("ttft_p95=2s", "ttft", "p95", 2.0),
        ("tpot_p50=50ms", "tpot", "p50", 0.05),
        ("tokens_per_s_p5=20", "tokens_per_s", "p5", 20.0),
        ("e2e_mean=30", "e2e", "mean", 30.0),
    ],
)
def test_slo_parsing(text, metric, stat, threshold):
    slo = parse_slo(text)
    assert (slo.metric, slo.stat) == (metric, stat)
    assert slo.threshold == pytest.approx(threshold)


@pytest.mark.parametrize(
    "text",
    ["ttft=2s", "ttft_p95", "speed_p95=2", "ttft_p95=fast", "tokens_per_s_p5=20ms", "ttft_p100=1s"],
)
def test_malformed_slos(text):
    with pytest.raises(InvalidValueError, match="SLO"):
        parse_slo(text)


def _record(i: int, ttft: float, tokens: int = 10, gap: float = 0.01, ok: bool = True):
    r = RequestRecord(i, send_s=0.0, first_token_s=ttft, output_tokens=tokens)
    r.chunk_times_s = [ttft + k * gap for k in range(tokens)]
    r.end_s = r.chunk_times_s[-1]
    if not ok:
        r.status, r.error_class = "error", "http_status"
    return r


def test_failed_requests_stay_in_every_count_and_miss_slos():
    records = [_record(i, 0.1) for i in range(8)] + [
        _record(8, 0.1, ok=False),
        _record(9, 0.1, ok=False),
    ]
    summary = summarize_run(records, slos=[parse_slo("ttft_p90=1s")])
    assert summary.requests == 10 and summary.failed == 2
    assert summary.errors == {"http_status": 2} and summary.success_rate == 0.8
    # two of ten failed: the 90th percentile lands on a failure
    assert summary.slos[0].met is False
    assert evaluate_slos(records[:8], [parse_slo("ttft_p90=1s")])[0].met


def test_goodput_counts_requests_meeting_every_slo():
    slos = [parse_slo("ttft_p95=0.5s"), parse_slo("tokens_per_s_p5=50")]
    fast, slow = _record(0, 0.1), _record(1, 0.9)
    assert request_meets(fast, slos) and not request_meets(slow, slos)
