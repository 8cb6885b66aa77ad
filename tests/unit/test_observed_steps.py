from __future__ import annotations

import pytest

from servecap.loadtest.records import RequestRecord
from servecap.sim.observed import decode_steps_by_batch, observed_steps


def _record(i: int, times: list[float]) -> RequestRecord:
    return RequestRecord(i, chunk_times_s=times, first_token_s=times[0], end_s=times[-1])


def test_tokens_within_a_few_ms_are_one_step_and_the_gap_before_is_its_duration():
    # three streams decode together every 20 ms, their tokens up to 2 ms apart; a prefill
    # of 120 ms sits between the second and third step, and one stream ends early
    records = [
        _record(0, [0.000, 0.020, 0.140, 0.160]),
        _record(1, [0.001, 0.021, 0.141, 0.161]),
        _record(2, [0.002, 0.022]),
    ]
    steps = observed_steps(records)
    assert [(n, round(d, 3)) for _, n, d in steps] == [(3, 0.02), (2, 0.12), (2, 0.02)]
    assert decode_steps_by_batch(records) == {3: [pytest.approx(0.02)], 2: [pytest.approx(0.02)]}


def test_failed_requests_and_empty_runs_give_no_steps():
    failed = RequestRecord(0, chunk_times_s=[0.0, 0.02], status="error")
    assert observed_steps([failed]) == []
    assert decode_steps_by_batch([]) == {}
