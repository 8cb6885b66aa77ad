"""With scarce KV blocks, real vLLM runs a few requests and queues or preempts the rest."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import urllib.request

import aiohttp

from servecap.loadtest.client import Endpoint, build_payload, stream_request
from servecap.loadtest.records import RequestRecord
from servecap.vllm.metrics import ServerSample, parse_metrics
from vllm_servers import SCARCE_WIDE

USERS = 16
PROMPT_WORDS = 450  # distinct prompts of ~455 tokens: 4 of the 64 blocks each
OUTPUT_TOKENS = 600
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "servers",
    "answer",
    "many",
    "users",
    "memory",
    "cache",
]


def _metrics(url: str) -> ServerSample:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        return parse_metrics(response.read().decode(), time.perf_counter())


async def _users(url: str, model: str) -> list[RequestRecord]:
    endpoint = Endpoint(url, model, "completions")
    rng = random.Random(0)
    payloads = [
        build_payload(
            endpoint,
            f"request {i}: " + " ".join(rng.choice(WORDS) for _ in range(PROMPT_WORDS)),
            OUTPUT_TOKENS,
        )
        for i in range(USERS)
    ]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        return list(
            await asyncio.gather(
                *(
                    stream_request(
                        session, endpoint, payloads[i], RequestRecord(i), time.perf_counter
                    )
                    for i in range(USERS)
                )
            )
        )


def test_scarce_blocks_make_requests_wait_and_get_preempted(vllm_server):
    # the wide model (~11 ms a step): the run lasts long enough to be read while requests wait,
    # even on a loaded machine that starves this process for seconds (see test_bench.py)
    server = vllm_server(SCARCE_WIDE)
    samples: list[ServerSample] = []
    done = threading.Event()

    def sample() -> None:  # a thread, so a busy client loop cannot delay the readings
        while not done.is_set():
            samples.append(_metrics(server.url))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        records = asyncio.run(_users(server.url, server.model))
    finally:
        done.set()
        sampler.join()
    assert all(r.ok and r.output_tokens == OUTPUT_TOKENS for r in records)
    assert max(s.waiting or 0 for s in samples) > 0  # some requests waited for blocks
    assert 0 < max(s.running or 0 for s in samples) < USERS  # never all of them at once
    final = _metrics(server.url)
    assert final.preemptions is not None and final.preemptions > 0
    assert final.num_gpu_blocks == 64
