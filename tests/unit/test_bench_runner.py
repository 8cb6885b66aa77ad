"""The runner: arrival schedules, the client's own health per run, and when a sweep stops."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time

import pytest

from fakeserver import FakeServer, Script
from servecap.loadtest.client import Endpoint, open_session
from servecap.loadtest.load import LoadProfile, arrival_times
from servecap.loadtest.records import RequestRecord
from servecap.loadtest.runner import ClientHealth, Runner, client_bound
from servecap.loadtest.steps import Step, saturation
from servecap.loadtest.summary import ServerView, summarize_run
from servecap.loadtest.workload import PreparedRequest


def _gaps_cv(burstiness: float) -> tuple[float, float]:
    times = arrival_times(rate=10, count=4000, burstiness=burstiness, seed=3)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    mean = statistics.fmean(gaps)
    return mean, statistics.pstdev(gaps) / mean


def test_burstiness_changes_the_spread_not_the_rate():
    # gamma inter-arrival gaps with shape k have a coefficient of variation of 1/sqrt(k)
    for burstiness, cv in ((0.25, 2.0), (1.0, 1.0), (4.0, 0.5)):
        mean, measured = _gaps_cv(burstiness)
        assert mean == pytest.approx(0.1, rel=0.08), burstiness
        assert measured == pytest.approx(cv, rel=0.12), burstiness
    assert arrival_times(10, 50, 0.5, seed=1) == arrival_times(10, 50, 0.5, seed=1)


def test_client_bound_rule():
    assert not client_bound(None, None)
    assert not client_bound(0.005, 0.010)  # at the limits: still keeping up
    assert client_bound(0.0051, 0.0)  # the loop woke late: stream timings include it
    assert client_bound(0.0, 0.0101)  # requests left late: less load than asked
    # users "at once" were all sent before the first answer ended (0.5 s): still at once
    assert not client_bound(0.0, 0.3, dispatch_limit_s=0.5)
    assert client_bound(0.0, 0.6, dispatch_limit_s=0.5)
    assert ClientHealth(loop_lags=[0.02] * 10).view().client_bound is True
    assert ClientHealth(loop_lags=[0.0005] * 10, dispatch_lags=[0.001]).view().to_dict() == {
        "loop_lag_p50_ms": 0.5,
        "loop_lag_p99_ms": 0.5,
        "loop_lag_max_ms": 0.5,
        "dispatch_lag_p95_ms": 1.0,
        "client_bound": False,
    }


def _requests(count: int) -> list[PreparedRequest]:
    return [PreparedRequest("hello", 5, True) for _ in range(count)]


def _runs(
    url: str, on_record, *runs: tuple[LoadProfile, int, int]
) -> tuple[Runner, list[ClientHealth]]:
    """Run (profile, requests, warm-up requests) one after another with one runner."""

    async def main() -> tuple[Runner, list[ClientHealth]]:
        async with open_session() as session:
            runner = Runner(session, Endpoint(url, "fake-model"), on_record)
            healths = []
            for profile, count, warmup in runs:
                warm = _requests(warmup) if warmup else None
                healths.append(await runner.run(profile, _requests(count), warm))
            return runner, healths

    return asyncio.run(main())


def test_a_blocked_client_is_marked_client_bound():
    def slow_bookkeeping(record: RequestRecord) -> None:
        time.sleep(0.03)  # blocks the event loop, as a client at its CPU limit does

    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:
        _, (health,) = _runs(
            server.url, slow_bookkeeping, (LoadProfile("rate", requests=20, rate=100), 20, 0)
        )
    view = health.view()
    assert view.client_bound is True
    assert (view.loop_lag_max_ms or 0) >= 20


def test_each_run_has_its_own_client_health():
    records: list[RequestRecord] = []
    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:
        runner, (first, second) = _runs(
            server.url,
            records.append,
            (LoadProfile("users", requests=3), 3, 2),
            (LoadProfile("users", requests=5), 5, 0),
        )
    assert len(records) == 10
    assert len(first.dispatch_lags) == 3  # warm-up left out
    assert len(second.dispatch_lags) == 5  # not 8: the first step's lags stay with it
    assert runner.health is second


def _step(phase: str, tok_s: float, waiting: float | None, failed: int = 0) -> Step:
    server = None if waiting is None else ServerView(5, 4, 4, waiting, None, 0, None, None)
    summary = dataclasses.replace(
        summarize_run([]),
        output_throughput_tok_s=tok_s,
        failed=failed,
        requests=4,
        server=server,
    )
    return Step(phase, float(phase.split("=")[1]), "users", summary)


def test_sweep_stops_when_throughput_stalls_while_requests_queue():
    one = _step("users=1", 100.0, 0.0)
    assert saturation(None, one) is None
    assert saturation(one, _step("users=2", 180.0, 1.0)) is None  # still growing
    assert saturation(one, _step("users=2", 102.0, None)) is None  # no queue seen
    stalled = saturation(one, _step("users=2", 102.0, 3.0))
    assert stalled is not None and stalled.startswith("saturated at users=2")
    assert saturation(one, _step("users=2", 300.0, 0.0, failed=3)) == (
        "stopped at users=2: most requests failed"
    )


def test_users_at_once_are_judged_against_the_first_answer():
    # 30 users whose answers take ~0.2 s: sending all of them takes the client a few ms,
    # which is "at once" for the seed's barrier, not a client bottleneck
    script = Script(ttft_s=0.05, gap_s=0.01, tokens=15)
    with FakeServer(script) as server:
        records: list = []
        _, (health,) = _runs(server.url, records.append, (LoadProfile("users", requests=30), 30, 0))
    first_end = min(r.end_s for r in records)
    assert health.dispatch_limit_s == pytest.approx(first_end - min(r.scheduled_s for r in records))
    assert health.dispatch_limit_s > 0.1
    # the burst's dispatch lag is within that limit (the loop lag is this machine's business)
    dispatch_p95 = health.view().dispatch_lag_p95_ms
    assert dispatch_p95 is not None
    assert not client_bound(0.0, dispatch_p95 / 1000, health.dispatch_limit_s)
