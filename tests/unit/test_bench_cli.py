"""`servecap bench` and `servecap report` against scripted local servers."""

from __future__ import annotations

import json

import pytest

from fakeserver import FakeServer, Script
from helpers import run_cli

METRICS = """# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="fake-model"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="fake-model"} 2.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="fake-model"} 0.5
# TYPE vllm:num_preemptions counter
vllm:num_preemptions_total{engine="0",model_name="fake-model"} 0.0
"""


def bench(server: FakeServer, *args: str, tmp_path) -> dict:
    out = tmp_path / "run.jsonl"
    result = run_cli(
        "bench", "--url", server.url, "--model", "fake-model", "--output", str(out), "--json", *args
    )
    assert result.code == 0, result.stderr
    return result.json()


def test_single_request_repeated_gives_a_spread(tmp_path):
    with FakeServer(Script(ttft_s=0.1, gap_s=0.01)) as server:
        data = bench(
            server, "--requests", "1", "--repeat", "3", "--output-tokens", "30", tmp_path=tmp_path
        )
    assert data["mode"] == "single" and data["requests"] == 3 and data["succeeded"] == 3
    assert data["ttft_s"]["count"] == 3
    assert data["ttft_s"]["p50"] == pytest.approx(0.1, abs=0.01)
    assert data["tpot_s"]["mean"] == pytest.approx(0.01, abs=0.002)
    assert data["output_tokens_total"] == 90
    assert set(data) >= {
        "mode",
        "requests",
        "succeeded",
        "failed",
        "errors",
        "duration_s",
        "output_tokens_total",
        "output_throughput_tok_s",
        "request_throughput_rps",
        "ttft_s",
        "tpot_s",
        "itl_s",
        "e2e_s",
        "tokens_per_s",
    }
    for key in ("ttft_s", "tpot_s", "itl_s", "e2e_s", "tokens_per_s"):
        assert {"mean", "p50", "p90", "p95", "p99", "max"} <= set(data[key])


def test_users_at_once_start_together_and_errors_are_counted(tmp_path):
    with FakeServer(Script(ttft_s=0.05, gap_s=0.002, fail_every=4, metrics=METRICS)) as server:
        data = bench(server, "--users", "8", "--output-tokens", "10", tmp_path=tmp_path)
    assert data["requests"] == 8 and data["failed"] == 2
    assert data["errors"] == {"http_status": 2}
    assert data["server"]["max_running"] == 3 and data["server"]["max_waiting"] == 2
    assert data["server"]["max_kv_usage"] == 0.5
    lines = [json.loads(x) for x in (tmp_path / "run.jsonl").read_text().splitlines()]
    sends = [x["send_s"] for x in lines if x["type"] == "request"]
    assert max(sends) - min(sends) < 0.05  # all users fired together


def test_rate_mode_keeps_an_absolute_schedule(tmp_path):
    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:
        data = bench(
            server, "--rate", "50", "--requests", "40", "--output-tokens", "5", tmp_path=tmp_path
        )
    assert data["succeeded"] == 40
    assert data["client"]["dispatch_lag_p95_ms"] < 10
    assert 0.4 < data["duration_s"] < 2.5


def test_concurrency_for_a_duration(tmp_path):
    with FakeServer(Script(ttft_s=0.02, gap_s=0.002)) as server:
        data = bench(
            server,
            "--concurrency",
            "4",
            "--duration",
            "1",
            "--output-tokens",
            "10",
            tmp_path=tmp_path,
        )
    assert data["mode"] == "concurrency" and data["requests"] >= 8
    assert data["duration_s"] < 1.5


def test_sweep_with_slos_names_the_largest_load_that_meets_them(tmp_path):
    # every user adds 10 ms of TTFT on this server? No: fixed timing, so all steps pass
    with FakeServer(Script(ttft_s=0.05, gap_s=0.002)) as server:
        data = bench(
            server,
            "--sweep-users",
            "1,2,4",
            "--output-tokens",
            "10",
            "--slo",
            "ttft_p95=1s",
            "--slo",
            "tokens_per_s_p5=5",
            tmp_path=tmp_path,
        )
    assert [s["phase"] for s in data["steps"]] == ["users=1", "users=2", "users=4"]
    assert data["capacity"].startswith(
        "With ttft p95 <= 1 s; tokens_per_s p5 >= 5, the server handles up to 4 users at once"
    )


def test_warmup_is_left_out(tmp_path):
    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:
        data = bench(
            server, "--requests", "2", "--warmup", "2", "--output-tokens", "5", tmp_path=tmp_path
        )
        assert server.requests == 4
    assert data["requests"] == 2


def test_warmup_and_sweep_steps_never_repeat_a_prompt(tmp_path):
    """A repeated prompt would be served from vLLM's prefix cache: a later step's TTFT would
    measure cached prefills."""
    with FakeServer(Script(ttft_s=0.005, gap_s=0.001)) as server:
        bench(
            server,
            "--sweep-users",
            "1,2,4",
            "--warmup",
            "2",
            "--output-tokens",
            "3",
            tmp_path=tmp_path,
        )
        prompts = [body["messages"][-1]["content"] for body in server.bodies]
    assert len(prompts) == 2 + 1 + 2 + 4
    assert len(set(prompts)) == len(prompts)


def test_dataset_prompts_continue_across_sweep_steps(tmp_path):
    dataset = tmp_path / "prompts.jsonl"
    dataset.write_text("".join(json.dumps({"prompt": f"p{i}"}) + "\n" for i in range(10)))
    with FakeServer(Script(ttft_s=0.005, gap_s=0.001)) as server:
        bench(
            server,
            "--sweep-users",
            "1,2,3",
            "--dataset",
            str(dataset),
            "--output-tokens",
            "3",
            tmp_path=tmp_path,
        )
        prompts = sorted(body["messages"][-1]["content"] for body in server.bodies)
    assert prompts == sorted(f"p{i}" for i in range(6))


def test_start_at_holds_the_first_request_until_then(tmp_path):
    import time

    with FakeServer(Script(ttft_s=0.005, gap_s=0.001)) as server:
        start_at = time.time() + 1.5
        bench(
            server,
            "--users",
            "2",
            "--output-tokens",
            "3",
            "--start-at",
            str(start_at),
            tmp_path=tmp_path,
        )
    lines = [json.loads(x) for x in (tmp_path / "run.jsonl").read_text().splitlines()]
    anchor = next(x for x in lines if x["type"] == "run")
    sends = [
        anchor["wall_start"] + x["send_s"] - anchor["clock_start"]
        for x in lines
        if x["type"] == "request"
    ]
    assert all(start_at - 0.01 <= send < start_at + 0.2 for send in sends), (start_at, sends)


def test_start_at_in_the_past_is_refused(tmp_path):
    result = run_cli(
        "bench", "--url", "http://127.0.0.1:9", "--model", "m", "--users", "1",
        "--start-at", "1000",
    )  # fmt: skip
    assert result.code == 2 and "in the past" in result.stderr and "Traceback" not in result.stderr


def test_report_rebuilds_and_merges(tmp_path):
    with FakeServer(Script(ttft_s=0.02, gap_s=0.002)) as server:
        for name in ("a", "b"):
            run_cli(
                "bench",
                "--url",
                server.url,
                "--model",
                "fake-model",
                "--users",
                "3",
                "--output-tokens",
                "5",
                "--output",
                str(tmp_path / f"{name}.jsonl"),
            )
    merged = run_cli("report", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--json")
    assert merged.code == 0, merged.stderr
    assert merged.json()["requests"] == 6 and merged.json()["succeeded"] == 6


def test_report_reads_a_partial_file(tmp_path):
    with FakeServer(Script(ttft_s=0.02, gap_s=0.002)) as server:
        run_cli(
            "bench",
            "--url",
            server.url,
            "--model",
            "fake-model",
            "--users",
            "4",
            "--output-tokens",
            "5",
            "--output",
            str(tmp_path / "run.jsonl"),
        )
    lines = (tmp_path / "run.jsonl").read_text().splitlines()
    requests = [x for x in lines if '"type":"request"' in x]
    # a crash after two requests, mid-line: no end line, a torn last line
    (tmp_path / "cut.jsonl").write_text("\n".join([lines[0], *requests[:2], requests[2][:30]]))
    result = run_cli("report", str(tmp_path / "cut.jsonl"), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["requests"] == 2 and result.json()["status"] == "interrupted"


def test_metric_names_and_definitions_are_printed(tmp_path):
    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:
        result = run_cli(
            "bench",
            "--url",
            server.url,
            "--model",
            "fake-model",
            "--requests",
            "1",
            "--output-tokens",
            "5",
            "--metric-names",
            "guidellm",
            "--output",
            str(tmp_path / "r.jsonl"),
        )
    assert result.code == 0, result.stderr
    assert "inter_token_latency" in result.stdout  # GuideLLM's name for TPOT
    assert "TPOT: (last token - first token) / (output tokens - 1)" in result.stdout


def test_api_key_is_sent_but_never_written(tmp_path):
    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:
        result = run_cli(
            "bench",
            "--url",
            server.url,
            "--model",
            "fake-model",
            "--requests",
            "1",
            "--output-tokens",
            "3",
            "--api-key",
            "sk-very-secret",
            "--output",
            str(tmp_path / "r.jsonl"),
        )
    assert result.code == 0
    assert "sk-very-secret" not in result.stdout + result.stderr
    assert "sk-very-secret" not in (tmp_path / "r.jsonl").read_text()


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--slo", "ttft=2"], "malformed SLO 'ttft=2'"),
        (["--users", "-3"], "--users must be positive"),
        (["--requests", "0"], "--requests must be positive"),
        (["--dataset", "/nonexistent/prompts.jsonl"], "cannot read dataset"),
        (["--prompt-tokens", "lots"], "cannot read --prompt-tokens 'lots'"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, fragment):
    with FakeServer(Script()) as server:
        result = run_cli(
            "bench",
            "--url",
            server.url,
            "--model",
            "fake-model",
            *args,
            "--output",
            str(tmp_path / "r.jsonl"),
        )
    assert result.code == 2, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr


def test_wrong_model_lists_the_served_ones(tmp_path):
    with FakeServer(Script(models=("alpha", "beta"))) as server:
        result = run_cli(
            "bench", "--url", server.url, "--model", "gamma", "--output", str(tmp_path / "r.jsonl")
        )
    assert result.code == 2 and "use one of: alpha, beta" in result.stderr


def test_unreachable_url(tmp_path):
    from servecap.vllm.launcher import free_port

    result = run_cli(
        "bench",
        "--url",
        f"http://127.0.0.1:{free_port()}",
        "--model",
        "m",
        "--output",
        str(tmp_path / "r.jsonl"),
    )
    assert result.code == 2 and "connection refused" in result.stderr


def test_extra_body_reaches_the_server(tmp_path):
    extra = {"chat_template_kwargs": {"enable_thinking": False}, "temperature": 0.6}
    with FakeServer(Script(ttft_s=0.01, gap_s=0.001)) as server:
        bench(
            server,
            "--requests",
            "2",
            "--output-tokens",
            "3",
            "--extra-body",
            json.dumps(extra),
            tmp_path=tmp_path,
        )
        bodies = server.bodies
    assert len(bodies) == 2
    for body in bodies:
        assert body["chat_template_kwargs"] == {"enable_thinking": False}
        assert body["temperature"] == 0.6 and body["max_tokens"] == 3


def test_sweep_stops_early_once_the_server_saturates(tmp_path):
    # one request at a time, the rest queue: more users add no throughput
    script = Script(ttft_s=0.1, gap_s=0.01, max_running=1, metrics=METRICS)
    with FakeServer(script) as server:
        data = bench(server, "--sweep-users", "1,2,4,8", "--output-tokens", "10", tmp_path=tmp_path)
        assert server.requests == 3  # users=4 and users=8 never ran
    assert [s["phase"] for s in data["steps"]] == ["users=1", "users=2"]
    assert data["stopped_early"].startswith("saturated at users=2")
    # each step has its own client view; the run's is the worst step's
    assert all(set(s["client"]) >= {"loop_lag_p99_ms", "client_bound"} for s in data["steps"])
    assert data["client"]["worst_step"] in ("users=1", "users=2")


def test_a_non_utf8_dataset_is_a_one_line_error(tmp_path):
    dataset = tmp_path / "prompts.jsonl"
    dataset.write_bytes('{"prompt": "¿qué tal?"}\n'.encode("latin-1"))
    with FakeServer(Script()) as server:
        result = run_cli(
            "bench",
            "--url",
            server.url,
            "--model",
            "fake-model",
            "--dataset",
            str(dataset),
            "--output",
            str(tmp_path / "r.jsonl"),
        )
    assert result.code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"dataset {dataset} is not UTF-8 text" in result.stderr
    assert "save it as UTF-8" in result.stderr


def test_tokens_without_usage_are_counted_by_the_tokenizer_and_reported(tmp_path):
    script = Script(ttft_s=0.01, gap_s=0.001, usage=False, words_per_chunk=2)
    with FakeServer(script) as server:
        data = bench(server, "--users", "3", "--output-tokens", "5", tmp_path=tmp_path)
    assert data["usage_missing"] == 3 and data["token_sources"] == {"tokenizer": 3}
    assert data["output_tokens_total"] == 30  # 5 chunks of 2 tokens each, 3 requests
    result_file = (tmp_path / "run.jsonl").read_text()
    assert '"token_source":"tokenizer"' in result_file and " t0" not in result_file
    shown = run_cli("report", str(tmp_path / "run.jsonl"))
    assert "no usage for 3 requests; 3 counted with the server's tokenizer" in shown.stdout


def test_tokens_without_usage_or_tokenize_are_chunks_and_reported(tmp_path):
    script = Script(ttft_s=0.01, gap_s=0.001, usage=False, words_per_chunk=2, tokenize=False)
    with FakeServer(script) as server:
        data = bench(server, "--users", "2", "--output-tokens", "5", tmp_path=tmp_path)
    assert data["token_sources"] == {"chunks": 2} and data["output_tokens_total"] == 10
    shown = run_cli("report", str(tmp_path / "run.jsonl"))
    assert "2 counted as stream chunks" in shown.stdout
