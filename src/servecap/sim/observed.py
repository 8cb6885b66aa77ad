"""The engine's steps as its clients saw them, from the token arrival times of a run.

Every request the engine decodes gets one token per step, and a step's tokens reach their
streams within a few milliseconds of each other. So arrivals closer than STEP_GAP_S apart are
one step, the number of tokens in it is the decode batch, and the gap to the step before is
its duration. Steps longer than LONG_STEP_S hold a prefill or a recompute. The same reading
applies to a simulated run's records, so measured and simulated steps compare like for like.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from ..loadtest.records import RequestRecord

STEP_GAP_S = 0.004
LONG_STEP_S = 0.035


def observed_steps(records: list[RequestRecord]) -> list[tuple[float, int, float]]:
    """(start, tokens, duration) of each step after the first, in time order."""
    times = sorted(t for r in records if r.ok for t in r.chunk_times_s)
    if not times:
        return []
    starts = [times[0]]
    counts = [1]
    for t in times[1:]:
        if t - starts[-1] > STEP_GAP_S:
            starts.append(t)
            counts.append(0)
        counts[-1] += 1
    return [(b, n, b - a) for (a, b), n in zip(itertools.pairwise(starts), counts[1:], strict=True)]


def decode_steps_by_batch(records: list[RequestRecord]) -> dict[int, list[float]]:
    """Durations of the decode steps (no prefill in them), by the tokens they produced."""
    by_batch: dict[int, list[float]] = defaultdict(list)
    for _, tokens, duration in observed_steps(records):
        if duration <= LONG_STEP_S:
            by_batch[tokens].append(duration)
    return dict(by_batch)
