"""The API server between the engine and its clients: when each streamed chunk arrives."""

from __future__ import annotations

import itertools

import numpy as np

from ..loadtest.records import RequestRecord


def deliver_through_api_server(records: list[RequestRecord], chunk_s: float) -> None:
    """Delay chunks by the API server, a single FIFO worker spending `chunk_s` per chunk.

    vLLM's engine hands outputs to one API-server process, which detokenises and streams
    them one by one without slowing the engine down; under many streams it falls behind
    and tokens reach clients late and bunched. Exact for that model: d_i = max(e_i,
    d_(i-1)) + chunk_s over all chunks in emission order.
    """
    if chunk_s <= 0 or not records:
        return
    counts = [len(r.chunk_times_s) for r in records]
    total = sum(counts)
    if not total:
        return
    chunks = itertools.chain.from_iterable(r.chunk_times_s for r in records)
    emitted = np.fromiter(chunks, float, total)
    order = np.argsort(emitted, kind="stable")
    # d_i = max over j <= i of (e_j - j * c) + (i + 1) * c
    steps = np.arange(1, total + 1) * chunk_s
    delivered = np.empty_like(emitted)
    delivered[order] = np.maximum.accumulate(emitted[order] - (steps - chunk_s)) + steps
    start = 0
    for record, count in zip(records, counts, strict=True):
        times = delivered[start : start + count].tolist()
        start += count
        record.chunk_times_s = times
        if times:
            record.first_token_s, record.end_s = times[0], times[-1]
