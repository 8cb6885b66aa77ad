"""The client's checks, token counts and stream reading against a scripted session: no socket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fakesession import FakeSession, Reply

from servecap.errors import InputError
from servecap.loadtest.client import Endpoint, build_payload, stream_request
from servecap.loadtest.records import RequestRecord
from servecap.loadtest.server_info import check_server, token_counter

ENDPOINT = Endpoint("http://server:8000/v1", "m", "chat", api_key="k")
MODELS = {"data": [{"id": "m"}, {"id": "other"}]}


def _models(reply: Reply) -> dict[tuple[str, str], Any]:
    return {("GET", "/v1/models"): lambda body: reply}


def _check(routes: dict[tuple[str, str], Any]) -> Any:
    return asyncio.run(check_server(FakeSession(routes), ENDPOINT))  # type: ignore[arg-type]


def test_a_server_that_serves_the_model_passes_and_says_whether_it_tokenizes():
    routes = {**_models(Reply(body=MODELS)), ("POST", "/tokenize"): lambda b: Reply(body={})}
    info = _check(routes)
    assert info.models == ["m", "other"] and info.has_tokenize
    assert _check(_models(Reply(body=MODELS))).has_tokenize is False  # no /tokenize route


@pytest.mark.parametrize(
    "reply,fragment",
    [
        (Reply(401, {}), "refused the API key (HTTP 401)"),
        (Reply(500, {}), "/v1/models answered HTTP 500"),
        (Reply(body={"data": [{"id": "x"}]}), "does not serve model 'm'. use one of: x"),
        (Reply(body=[1, 2]), "does not serve model 'm'. use one of: (none listed)"),
        (Reply(body=b"<html>"), "/v1/models did not answer JSON"),
    ],
)
def test_what_a_server_answers_wrongly_is_one_input_error(reply, fragment):
    with pytest.raises(InputError) as failure:
        _check(_models(reply))
    assert fragment in str(failure.value)


def test_an_unreachable_server_is_named():
    with pytest.raises(InputError, match="cannot reach http://server:8000: connection refused"):
        _check({})


def test_the_token_counter_templates_chat_prompts_and_reuses_the_session():
    bodies: list[dict[str, Any]] = []

    def tokenize(body: dict[str, Any]) -> Reply:
        bodies.append(body)
        return Reply(body={"count": 7})

    session = FakeSession({("POST", "/tokenize"): tokenize})
    count = token_counter(session, ENDPOINT)  # type: ignore[arg-type]
    assert asyncio.run(count("hello")) == 7
    assert bodies == [
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hello"}],
            "add_generation_prompt": True,
        }
    ]


def _chunk(text: str) -> bytes:
    event = {"choices": [{"index": 0, "delta": {"content": text}}]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


USAGE = b'data: {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}\n\n'


def _stream(pieces: list[bytes]) -> RequestRecord:
    session = FakeSession({("POST", "/v1/chat/completions"): lambda b: Reply(pieces=pieces)})
    record = RequestRecord(0)
    payload = build_payload(ENDPOINT, "hi", 3)
    ticks = iter(range(100))
    asyncio.run(
        stream_request(session, ENDPOINT, payload, record, lambda: float(next(ticks)))  # type: ignore[arg-type]
    )
    return record


def test_a_stream_cut_anywhere_gives_the_same_record():
    body = _chunk("a") + _chunk("b") + _chunk("c") + USAGE + b"data: [DONE]\n\n"
    for cut in range(1, len(body)):
        record = _stream([body[:cut], body[cut:]])
        assert record.ok and record.output_tokens == 3 and record.prompt_tokens == 5, cut
        assert len(record.chunk_times_s) == 3 and record.token_source == "usage"


@pytest.mark.parametrize(
    "pieces,error",
    [
        ([_chunk("a"), USAGE], "disconnect"),  # no [DONE]
        ([_chunk("a"), b"data: {not json\n\n"], "malformed_stream"),
        ([b'data: {"error": {"message": "boom"}}\n\n'], "other"),
        ([b"data: [1, 2]\n\n"], "malformed_stream"),
    ],
    ids=["no-done", "not-json", "error-event", "not-an-object"],
)
def test_broken_streams_are_recorded_with_their_class(pieces, error):
    record = _stream(pieces)
    assert not record.ok and record.error_class == error and record.end_s is not None
