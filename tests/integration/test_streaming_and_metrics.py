"""Real vLLM streams chat and completions with usage, and exposes /metrics we can parse."""

from __future__ import annotations

import asyncio
import time
import urllib.request

import aiohttp

from servecap.loadtest.client import Endpoint, build_payload, stream_request
from servecap.loadtest.records import RequestRecord
from servecap.vllm.metrics import parse_metrics
from vllm_servers import DTYPE_ARGS, QWEN3


async def _one(url: str, model: str, kind: str, tokens: int) -> RequestRecord:
    endpoint = Endpoint(url, model, kind)
    async with aiohttp.ClientSession() as session:
        payload = build_payload(endpoint, "hello, how are the servers today?", tokens)
        return await stream_request(session, endpoint, payload, RequestRecord(0), time.perf_counter)


def test_chat_streams_tokens_and_usage(vllm_server):
    server = vllm_server(QWEN3)
    record = asyncio.run(_one(server.url + "/v1", server.model, "chat", 24))
    assert record.ok, record.error_detail
    assert record.output_tokens == 24 and record.token_source == "usage"
    assert record.prompt_tokens and record.prompt_tokens > 5
    assert record.ttft_s is not None and 0 < record.ttft_s < record.e2e_s
    assert len(record.chunk_times_s) >= 12  # token-bearing chunks; role-only chunk excluded
    assert record.finish_reason == "length" and not record.ended_early


def test_completions_stream_tokens_and_usage(vllm_server):
    server = vllm_server(QWEN3)
    record = asyncio.run(_one(server.url, server.model, "completions", 16))
    assert record.ok, record.error_detail
    assert record.output_tokens == 16
    assert record.tpot_s is not None and record.tpot_s > 0


def test_metrics_gauges_parse(vllm_server):
    server = vllm_server(QWEN3)
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        sample = parse_metrics(response.read().decode())
    assert sample.running == 0 and sample.waiting == 0
    assert sample.kv_cache_usage is not None and 0 <= sample.kv_cache_usage <= 1
    assert sample.preemptions is not None
    blocks = 16_384 if not DTYPE_ARGS else 8_192  # 1 GiB of bf16 (or float32) KV blocks
    assert sample.num_gpu_blocks == blocks and sample.block_size == 128
