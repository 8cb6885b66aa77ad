"""The engine's steps as its clients saw them, from the token arrival times of a run.

Every request the engine decodes gets one token per step, and a step's tokens reach their
streams within a few milliseconds of each other. So arrivals closer than STEP_GAP_S apart are
one step, and the gap to the step before is its duration. Steps longer than LONG_STEP_S hold a
prefill or a recompute.

A step's batch is the number of requests streaming across it, not the number of tokens that
arrived in it: an API server that falls behind merges a request's tokens into one chunk
(vllm/v1/engine/output_processor.py, RequestOutputCollector), so a busy step can look half
empty. A request streams from one chunk to the next unless they are over ACTIVE_GAP_S apart
(it was preempted, or waited). The same reading applies to a simulated run's records, so
measured and simulated steps compare like for like.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict

from ..loadtest.records import RequestRecord

STEP_GAP_S = 0.004
LONG_STEP_S = 0.035
ACTIVE_GAP_S = 0.15


def observed_steps(records: list[RequestRecord]) -> list[tuple[float, int, float]]:
    """(start, batch, duration) of each step after the first, in time order."""
    streams = [r.chunk_times_s for r in records if r.ok and r.chunk_times_s]
    times = sorted(itertools.chain.from_iterable(streams))
    if not times:
        return []
    starts = [times[0]]
    for t in times[1:]:
        if t - starts[-1] > STEP_GAP_S:
            starts.append(t)
    span_starts, span_ends = [], []
    for chunks in streams:
        span_starts.append(chunks[0])
        for a, b in itertools.pairwise(chunks):
            if b - a > ACTIVE_GAP_S:
                span_ends.append(a)
                span_starts.append(b)
        span_ends.append(chunks[-1])
    span_starts.sort()
    span_ends.sort()
    steps = []
    for a, b in itertools.pairwise(starts):
        # streams begun by this step's last arrival, less those ended before its first
        batch = bisect.bisect_right(span_starts, b + STEP_GAP_S) - bisect.bisect_left(span_ends, b)
        steps.append((b, batch, b - a))
    return steps


def steps_by_batch(records: list[RequestRecord]) -> dict[int, list[float]]:
    """Durations of the steps, by the requests in them."""
    by_batch: dict[int, list[float]] = defaultdict(list)
    for _, batch, duration in observed_steps(records):
        by_batch[batch].append(duration)
    return dict(by_batch)
