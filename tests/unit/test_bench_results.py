"""Result files: merging several load generators, per-step views, unreadable files."""

from __future__ import annotations

import json
import time

import pytest

from helpers import run_cli
from servecap.loadtest.records import RequestRecord
from servecap.loadtest.results import ResultWriter, read_results
from servecap.loadtest.summary import ClientView, combine_clients, step_samples, summarize_run
from servecap.vllm.metrics import ServerSample


def _request(send: float, seconds: float = 1.0, phase: str = "") -> dict:
    record = RequestRecord(0, scheduled_s=send, send_s=send, output_tokens=10, phase=phase)
    record.first_token_s = send + 0.1
    record.chunk_times_s = [send + 0.1 + k * (seconds - 0.1) / 9 for k in range(10)]
    record.end_s = send + seconds
    return {"type": "request", **record.to_dict()}


def _sample(time_s: float, running: float) -> dict:
    return {
        "type": "server",
        "time_s": time_s,
        "running": running,
        "waiting": 0.0,
        "kv_cache_usage": 0.1,
        "preemptions": 0.0,
        "prefix_cache_queries": None,
        "prefix_cache_hits": None,
    }


def _write(path, run: dict, *lines: dict) -> None:
    rows = [{"type": "run", "mode": "users", **run}, *lines, {"type": "end", "status": "complete"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_merged_files_share_a_wall_clock_axis(tmp_path):
    # two hosts, 2 s apart, each sending for 1 s; their perf_counter clocks are unrelated
    _write(tmp_path / "a.jsonl", {"wall_start": 1000.0, "clock_start": 50.0}, _request(50.0))
    _write(tmp_path / "b.jsonl", {"wall_start": 1002.0, "clock_start": 9000.0}, _request(9000.0))
    run = read_results([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert summarize_run(run.records).duration_s == pytest.approx(3.0)
    assert [r.send_s for r in run.records] == pytest.approx([0.0, 2.0])


def test_older_files_without_a_clock_anchor_still_merge(tmp_path):
    _write(tmp_path / "a.jsonl", {"wall_start": 1000.0}, _request(50.0))
    _write(tmp_path / "b.jsonl", {"wall_start": 1002.0}, _request(9000.0))
    run = read_results([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert summarize_run(run.records).duration_s == pytest.approx(3.0)


def test_a_simulated_run_is_not_merged_into_a_measured_one(tmp_path):
    _write(tmp_path / "real.jsonl", {"wall_start": 1000.0}, _request(50.0))
    _write(tmp_path / "sim.jsonl", {"wall_start": 1000.0, "simulated": True}, _request(0.0))
    merged = run_cli("report", str(tmp_path / "real.jsonl"), str(tmp_path / "sim.jsonl"))
    assert merged.code == 2 and "--vs" in merged.stderr
    assert len(merged.stderr.strip().splitlines()) == 1
    beside = run_cli("report", str(tmp_path / "real.jsonl"), "--vs", str(tmp_path / "sim.jsonl"))
    assert beside.code == 0, beside.stderr
    assert "simulated" in beside.stdout


def test_a_single_file_is_read_unchanged(tmp_path):
    lines = [_request(50.0), _request(50.5), _sample(50.2, 2.0)]
    _write(tmp_path / "a.jsonl", {"wall_start": 1000.0, "clock_start": 49.9}, *lines)
    run = read_results([tmp_path / "a.jsonl"])
    assert [r.send_s for r in run.records] == [50.0, 50.5]
    assert run.records[0].chunk_times_s[-1] == pytest.approx(51.0)
    assert [s.time_s for s in run.samples] == [50.2]
    assert summarize_run(run.records).duration_s == pytest.approx(1.5)


def test_writer_pairs_wall_time_with_the_run_clock(tmp_path):
    before = time.time()
    ResultWriter(tmp_path / "r.jsonl", {"mode": "users"}, clock=lambda: 42.5).close("complete")
    run = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])
    assert run["clock_start"] == 42.5 and before <= run["wall_start"] <= time.time()


def test_a_non_utf8_result_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"type": "run", "note": "café"}\n'.encode("latin-1"))
    result = run_cli("report", str(path))
    assert result.code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"result file {path} is not UTF-8 text" in result.stderr
    assert "pass a .jsonl file written by servecap bench" in result.stderr


def test_report_keeps_client_health_per_step(tmp_path):
    lags = {"loop_lag_p50_ms": 0.1, "loop_lag_max_ms": 20.0}
    fast = {**lags, "loop_lag_p99_ms": 0.4, "dispatch_lag_p95_ms": 0.1, "client_bound": False}
    slow = {**lags, "loop_lag_p99_ms": 12.0, "dispatch_lag_p95_ms": 0.2, "client_bound": True}
    _write(
        tmp_path / "sweep.jsonl",
        {"wall_start": 1000.0, "clock_start": 0.0, "mode": "sweep"},
        _request(1.0, phase="users=1"),
        {"type": "client", "phase": "users=1", **fast},
        _request(3.0, phase="users=2"),
        {"type": "client", "phase": "users=2", **slow},
    )
    result = run_cli("report", str(tmp_path / "sweep.jsonl"), "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert [s["client"] for s in data["steps"]] == [fast, slow]
    assert data["client"] == {**slow, "worst_step": "users=2"}


def test_a_step_without_a_metrics_sample_shows_a_dash(tmp_path):
    _write(
        tmp_path / "sweep.jsonl",
        {"wall_start": 1000.0, "clock_start": 0.0, "mode": "sweep"},
        _sample(0.9, 0.0),  # read before the first step began: describes neither step
        _request(1.0, phase="users=1"),
        _sample(1.5, 1.0),
        _request(3.0, phase="users=2"),
    )
    result = run_cli("report", str(tmp_path / "sweep.jsonl"), "--json")
    assert result.code == 0, result.stderr
    first, second = result.json()["steps"]
    assert first["server"]["max_running"] == 1.0 and "server" not in second
    table = run_cli("report", str(tmp_path / "sweep.jsonl")).stdout
    users_2 = next(line for line in table.splitlines() if line.strip().startswith("users=2"))
    cells = [c.strip() for c in users_2.split("│")]
    assert cells[-3:] == ["-", "-", "-"]  # max running, max waiting, SLOs


def test_step_samples_are_those_taken_while_the_step_ran():
    records = [RequestRecord(0, send_s=1.0, end_s=2.0), RequestRecord(1, send_s=1.5, end_s=2.5)]
    warm = RequestRecord(2, send_s=0.0, end_s=0.5, warmup=True)
    samples = [ServerSample(t, 1.0, 0.0, None, None, None, None) for t in (0.2, 1.2, 2.4, 2.6)]
    assert [s.time_s for s in step_samples([warm, *records], samples)] == [1.2, 2.4]
    assert step_samples([warm], samples) == []


def test_combined_client_view_is_the_worst_step_not_a_sum():
    ok = ClientView(0.5, 3.0, 4.0, 1.0, client_bound=False)
    bound = ClientView(0.5, 1.0, 2.0, 30.0, client_bound=True)
    assert combine_clients({}) is None
    assert combine_clients({"": [ok]}) == ok
    combined = combine_clients({"rate=1": [ok], "rate=8": [bound]})
    assert combined is not None
    assert combined.to_dict() == {**bound.to_dict(), "worst_step": "rate=8"}
