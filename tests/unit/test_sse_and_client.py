"""The SSE decoder and the streaming client, against scripted servers."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp
import pytest

from fakeserver import FakeServer, Script
from servecap.loadtest.client import Endpoint, build_payload, stream_request
from servecap.loadtest.records import RequestRecord
from servecap.loadtest.sse import SSEDecoder


def test_sse_events_split_anywhere():
    stream = b'data: {"a": 1}\r\n\r\n: comment\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n'
    for cut in range(1, len(stream)):
        decoder = SSEDecoder()
        events = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert events == ['{"a": 1}', "line1\nline2", "[DONE]"], cut


def test_sse_whole_events_decode_as_byte_by_byte():
    # chunks of whole single-line events take a fast path; anything else must not, and every
    # way of cutting a stream must give what feeding it one byte at a time gives
    pieces = [
        b'data: {"a": 1}\n\n',
        b"data:no-space\n\n",
        b"data:\n\n",
        b": comment\n\n",
        b"data: x\ndata: y\n\n",
        b"\n",
        b"event: e\ndata: z\n\n",
        b"data: crlf\r\n\r\n",
        b"data: \xc3\xa9t\xc3\xa9\n\n",
        b"data\n\n",
        b"id: 7\n\n",
    ]
    rng = random.Random(5)
    for _ in range(300):
        stream = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        expected = []
        one = SSEDecoder()
        for i in range(len(stream)):
            expected += one.feed(stream[i : i + 1])
        cuts = sorted(rng.sample(range(1, len(stream)), min(3, len(stream) - 1)))
        decoder = SSEDecoder()
        got = []
        for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            got += decoder.feed(stream[a:b])
        assert got == expected, stream
        assert SSEDecoder().feed(stream) == expected, stream


def test_sse_flush_returns_an_unterminated_last_event():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x") == []
    assert decoder.flush() == ["x"]


def _run(
    script: Script,
    kind: str = "chat",
    tokens: int = 20,
    timeout: float = 30,
    url: str | None = None,
    tokenize_output: bool = False,
) -> RequestRecord:
    async def go(base: str) -> RequestRecord:
        endpoint = Endpoint(base + "/v1", "fake-model", kind)
        async with aiohttp.ClientSession() as session:
            payload = build_payload(endpoint, "hello", tokens)
            return await stream_request(
                session,
                endpoint,
                payload,
                RequestRecord(0),
                time.perf_counter,
                timeout,
                tokenize_output,
            )

    if url is not None:
        return asyncio.run(go(url))
    with FakeServer(script) as server:
        return asyncio.run(go(server.url))


def test_timings_match_the_script_within_milliseconds():
    record = _run(Script(ttft_s=0.2, gap_s=0.02), tokens=20)
    assert record.ok and record.output_tokens == 20
    assert record.ttft_s == pytest.approx(0.2, abs=0.01)
    assert record.tpot_s == pytest.approx(0.02, abs=0.003)
    assert len(record.chunk_times_s) == 20  # the role-only chunk is not a token
    assert record.e2e_s == pytest.approx(0.2 + 19 * 0.02, abs=0.015)
    assert sum(record.itl_s) / len(record.itl_s) == pytest.approx(0.02, abs=0.003)


def test_completions_endpoint_and_forced_length_payload():
    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:

        async def go() -> RequestRecord:
            endpoint = Endpoint(server.url, "fake-model", "completions")
            async with aiohttp.ClientSession() as session:
                return await stream_request(
                    session,
                    endpoint,
                    build_payload(endpoint, "hi", 5),
                    RequestRecord(0),
                    time.perf_counter,
                )

        record = asyncio.run(go())
        body = server.bodies[-1]
    assert record.ok and record.output_tokens == 5
    assert body["ignore_eos"] is True and body["min_tokens"] == body["max_tokens"] == 5
    assert body["stream_options"] == {"include_usage": True} and body["prompt"] == "hi"


def test_missing_usage_falls_back_to_chunks():
    record = _run(Script(ttft_s=0.01, gap_s=0.001, usage=False), tokens=8)
    assert record.ok and record.output_tokens == 8 and record.token_source == "chunks"


def test_missing_usage_is_counted_with_the_servers_tokenizer():
    script = Script(ttft_s=0.01, gap_s=0.001, usage=False, words_per_chunk=3)
    with FakeServer(script) as server:
        record = _run(script, tokens=8, url=server.url, tokenize_output=True)
        asked = server.tokenized
    # 8 chunks of 3 tokens each: the tokenizer sees 24, a chunk count would say 8
    assert record.ok and record.output_tokens == 24 and record.token_source == "tokenizer"
    text = "".join(f" t{i}" * 3 for i in range(8))
    assert asked == [{"model": "fake-model", "prompt": text, "add_special_tokens": False}]
    assert "t0" not in str(record.to_dict())  # the text itself is never recorded


def test_usage_wins_over_the_tokenizer():
    script = Script(ttft_s=0.01, gap_s=0.001, words_per_chunk=3)
    with FakeServer(script) as server:
        record = _run(script, tokens=8, url=server.url, tokenize_output=True)
        assert server.tokenized == []
    assert record.output_tokens == 8 and record.token_source == "usage"


def test_without_tokenize_usage_less_answers_count_chunks():
    record = _run(
        Script(ttft_s=0.01, gap_s=0.001, usage=False, words_per_chunk=3, tokenize=False),
        tokens=8,
        tokenize_output=True,
    )
    assert record.ok and record.output_tokens == 8 and record.token_source == "chunks"


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_are_tokens_and_start_the_ttft(field):
    script = Script(ttft_s=0.15, gap_s=0.01, reasoning_tokens=6, reasoning_field=field, usage=False)
    record = _run(script, tokens=10)
    # the first token is reasoning: TTFT ends there, not at the first content token (0.21 s)
    assert record.ttft_s == pytest.approx(0.15, abs=0.01)
    assert len(record.chunk_times_s) == 10 and record.output_tokens == 10
    assert record.tpot_s == pytest.approx(0.01, abs=0.003)


def test_http_500_is_recorded_with_its_body():
    record = _run(Script(status=500))
    assert record.status == "error" and record.error_class == "http_status"
    assert record.http_status == 500 and "scripted failure" in record.error_detail


def test_disconnect_mid_stream():
    record = _run(Script(ttft_s=0.01, gap_s=0.005, disconnect_after=5), tokens=20)
    assert record.error_class == "disconnect"
    assert len(record.chunk_times_s) == 5


def test_malformed_stream():
    record = _run(Script(ttft_s=0.01, gap_s=0.001, malformed_after=3), tokens=10)
    assert record.error_class == "malformed_stream"


def test_timeout_during_a_stall():
    record = _run(
        Script(ttft_s=0.01, gap_s=0.001, stall_after=3, stall_s=5), tokens=10, timeout=0.5
    )
    assert record.error_class == "timeout"


def test_connection_refused():
    from servecap.vllm.launcher import free_port

    record = _run(Script(), url=f"http://127.0.0.1:{free_port()}")
    assert record.error_class == "connection_refused"


def test_ended_early_is_flagged():
    record = _run(Script(ttft_s=0.01, gap_s=0.001, tokens=4), tokens=10)
    assert record.ok and record.ended_early
