from __future__ import annotations

import pytest

from servecap.loadtest.records import RequestRecord
from servecap.sim.observed import observed_steps, steps_by_batch


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
    assert steps_by_batch(records) == {
        3: [pytest.approx(0.02)],
        2: [pytest.approx(0.12), pytest.approx(0.02)],
    }


def test_failed_requests_and_empty_runs_give_no_steps():
    failed = RequestRecord(0, chunk_times_s=[0.0, 0.02], status="error")
    assert observed_steps([failed]) == []
    assert steps_by_batch([]) == {}


def test_a_stream_whose_tokens_arrive_merged_still_counts_in_every_step():
    # four streams decode every 20 ms; stream 3's API output falls behind, so two of its
    # tokens arrive in one chunk and it has no arrival in the second and fourth steps
    steps = [0.00, 0.02, 0.04, 0.06, 0.08]
    records = [_record(i, [t + i * 0.0005 for t in steps]) for i in range(3)]
    records.append(_record(3, [0.0015, 0.0415, 0.0815]))
    assert [n for _, n, _ in observed_steps(records)] == [4, 4, 4, 4]


def test_a_stream_out_of_the_batch_for_a_while_is_not_counted_meanwhile():
    # stream 1 is preempted after its second token and streams again 0.3 s later
    steady = [round(0.02 * k, 3) for k in range(26)]
    records = [_record(0, steady), _record(1, [0.0, 0.02, 0.34, 0.36])]
    batches = {round(start, 2): n for start, n, _ in observed_steps(records)}
    assert batches[0.02] == 2 and batches[0.2] == 1 and batches[0.34] == 2
