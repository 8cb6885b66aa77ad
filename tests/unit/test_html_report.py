"""The HTML report without a browser: escaping, every chart on edge cases, dispatch, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import run_cli
from servecap.errors import InvalidValueError
from servecap.loadtest.records import RequestRecord
from servecap.loadtest.results import ResultWriter
from servecap.loadtest.slo import parse_slo
from servecap.report.html import render_html
from servecap.report.html.charts import (
    BLUE,
    gantt_chart,
    gauges_chart,
    latency_cdf,
    memory_chart,
    sweep_chart,
    timeline_chart,
)
from servecap.report.html.layout import json_script
from servecap.report.html.svg import Safe, esc, fmt, fmt_s, h, nice_ticks
from servecap.vllm.metrics import ServerSample

EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
PLAN = {
    "model": f"m {EVIL}",
    "gpu": "rtx-4090",
    "vllm_version": "0.24.0",
    "gpu_total_gib": 23.64,
    "gpu_memory_utilization": 0.5,
    "weights_gib": 7.5,
    "activation_peak_gib": 0.24,
    "non_torch_gib": 0.1,
    "cudagraph_gib": 1.0,
    "cudagraph_in_budget": False,
    "kv_cache_gib": 3.98,
    "kv_cache_tokens": 28976,
    "max_model_len": 10000,
    "max_concurrency": 2.9,
    "fits": True,
    "error": None,
    "vllm_args": ["vllm", "serve", "m", "--max-model-len", "10000"],
}


def ok(i: int, send: float = 0.0, tokens: int = 20, phase: str = "") -> RequestRecord:
    first = send + 0.2
    chunks = [first + 0.01 * k for k in range(tokens)]
    return RequestRecord(i, send, send, first, chunks[-1], chunks, 100, tokens, tokens, phase=phase)


def failed(i: int, send: float = 0.0) -> RequestRecord:
    return RequestRecord(
        i, send, send, None, send + 0.1, status="error", error_class="http_status",
        error_detail=f"HTTP 500 {EVIL}", http_status=500,
    )  # fmt: skip


def sample(t: float, running: float, waiting: float = 0.0) -> ServerSample:
    return ServerSample(t, running, waiting, 0.3, 0.0, None, None)


def write_run(
    path: Path,
    records: list[RequestRecord],
    samples: list[ServerSample] = (),  # type: ignore[assignment]
    status: str | None = "complete",
    **meta: object,
) -> Path:
    writer = ResultWriter(path, {"tool": "servecap bench", "model": f"m {EVIL}", **meta})
    for record in records:
        writer.request(record)
    for s in samples:
        writer.server(s)
    if status:
        writer.close(status)
    else:
        writer._file.close()  # a run cut short: no end line
    return path


def assert_inert(page: str) -> None:
    """No markup from the data survives as markup: only our own scripts, no <img> at all."""
    assert "<script>window" not in page and "<img" not in page
    assert len(re.findall(r"<script\b", page)) == 2  # the JSON data and the tooltip script
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


def test_h_escapes_text_and_attributes_but_not_safe_markup():
    node = h("p", {"title": '"><b>', "data-x": 1.5, "hidden": True, "gone": None}, "<i>", h("b"))
    assert node == '<p title="&quot;&gt;&lt;b&gt;" data-x="1.5" hidden>&lt;i&gt;<b></b></p>'
    assert isinstance(node, Safe) and esc(node) is node


def test_json_script_cannot_be_closed_by_data():
    tag = json_script("d", {"a": "</script><script>x()</script>&\u2028"})
    inner = tag.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert json.loads(inner) == {"a": "</script><script>x()</script>&\u2028"}


@pytest.mark.parametrize(
    "lo,hi", [(0, 0), (0, 1e-9), (-3, 7), (0, 123_456), (5, 5), (float("nan"), 1.0)]
)
def test_nice_ticks_cover_the_range(lo, hi):
    ticks = nice_ticks(lo, hi)
    assert ticks == sorted(ticks) and len(ticks) >= 2
    if lo == lo and hi > lo:  # not NaN
        assert ticks[0] <= lo and ticks[-1] >= hi


def test_number_formats():
    assert fmt(None) == "–" and fmt(1234.5, "tok/s") == "1,234 tok/s" and fmt(0.5) == "0.5"
    assert fmt_s(0.0123) == "12.3 ms" and fmt_s(2.5) == "2.5 s" and fmt_s(None) == "–"


def marks(markup: str) -> int:
    return markup.count('class="mark')


def test_every_chart_says_so_when_it_has_nothing_to_draw():
    for figure in (
        memory_chart("m", []),
        latency_cdf("c", "TTFT", [("run", [], BLUE, False)]),
        sweep_chart("s", "sweep", [("x", [], BLUE, False)], "users", "tok/s"),
        timeline_chart("t", [("run", [], 0.0, False)], "running", "Running", "requests"),
        gauges_chart("g", [], 0.0),
        gantt_chart("gantt", []),
    ):
        assert 'class="card figure empty"' in figure and marks(figure) == 0


def test_charts_of_a_single_request():
    record = ok(0)
    assert marks(latency_cdf("c", "TTFT", [("run", [record.ttft_s or 0], BLUE, False)])) >= 2
    assert marks(gantt_chart("g", [record])) == 2  # first token, decode
    assert marks(sweep_chart("s", "t", [("x", [(1, 5.0)], BLUE, False)], "u", "v")) == 2
    assert marks(gauges_chart("g", [sample(0, 1)], 0.0)) == 3  # running, waiting, KV


def test_gantt_of_failed_requests_only_shows_why_they_failed():
    chart = gantt_chart("g", [failed(0), failed(1, 0.5)])
    assert chart.count("#dc2626") >= 2 and "http_status" in chart
    assert EVIL not in chart and "&lt;script&gt;" in chart


def test_gantt_keeps_to_a_readable_number_of_rows():
    chart = gantt_chart("g", [ok(i, send=i * 0.1) for i in range(1000)])
    assert marks(chart) <= 2 * 120 and "Showing 120 of 1000" in chart


def test_memory_chart_puts_cuda_graphs_outside_the_budget_and_survives_missing_keys():
    chart = memory_chart("m", [("gpu", PLAN)])
    kinds = re.findall(r'data-tip="([a-zA-Z /-]+)(?: \(outside the budget\))?:', chart)
    assert kinds == [
        "weights", "activation peak", "non-torch", "KV cache", "CUDA graphs", "free / unreserved"
    ]  # fmt: skip
    assert "vLLM budget 0.5" in chart
    assert marks(memory_chart("m", [("x", {"gpu_total_gib": None})])) == 0


def test_failed_only_run(tmp_path):
    page = render_html(write_run(tmp_path / "r.jsonl", [failed(0), failed(1, 0.2)]))
    assert_inert(page)
    assert "0 of 2 requests succeeded" in page and "Failed requests (2)" in page


def test_empty_and_partial_runs(tmp_path):
    empty = render_html(write_run(tmp_path / "empty.jsonl", [], status=None))
    assert_inert(empty)
    assert "did not finish (interrupted)" in empty
    partial = write_run(tmp_path / "p.jsonl", [ok(0), ok(1, 0.5)], [sample(0, 2)], status=None)
    with partial.open("a") as f:
        f.write('{"type": "request", "request_id": 2, "se')  # the line a crash cut short
    page = render_html(partial)
    assert_inert(page)
    assert "covers the 2 requests that did" in page


def test_sweep_with_slos_draws_the_slo_lines(tmp_path):
    records = [ok(i, i * 0.01, phase=f"users={n}") for n in (1, 4) for i in range(n)]
    path = write_run(tmp_path / "s.jsonl", records, mode="sweep", slos=["ttft_p95=2s", EVIL])
    page = render_html(path, slos=[parse_slo("ttft_p95=0.1s")])
    assert_inert(page)
    assert 'data-chart="sweep-ttft"' in page and "SLO ttft p95 &lt;= 0.1 s" in page
    assert "No tested load meets every SLO" in page


def test_vs_overlays_both_runs(tmp_path):
    a = write_run(tmp_path / "a.jsonl", [ok(0), ok(1, 0.1)], [sample(0, 2), sample(1, 1)])
    b = write_run(tmp_path / "b.jsonl", [ok(0)], [sample(0, 1)], simulated=True)
    page = render_html([a], vs=b)
    assert_inert(page)
    for chart in ("vs-cdf-ttft_s", "vs-running", "vs-waiting"):
        assert f'data-chart="{chart}"' in page
    assert "This run beside simulated" in page


def test_plan_advise_and_demo_files(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({**PLAN, "fits": False, "error": f"too long {EVIL}"}))
    page = render_html(plan)
    assert_inert(page)
    assert "Does not fit" in page and "too long &lt;script&gt;" in page
    advise = tmp_path / "advise.json"
    option = {"gpu": "h100", "gpu_count": 2, "meets_slos": True, "max_users": 40, "plan": PLAN}
    curve = [
        {"users": u, "ttft_p95_s": u / 10, "throughput_tokens_per_s": 50.0 * u} for u in (1, 8)
    ]
    advise.write_text(json.dumps({
        "kind": "advise", "model": EVIL, "slos": ["ttft_p95=2s"], "verdict": EVIL,
        "options": [option], "curve": curve,
    }))  # fmt: skip
    page = render_html(advise)
    assert_inert(page)
    assert 'data-chart="advise-ttft"' in page and 'data-chart="advise-memory"' in page
    run = write_run(tmp_path / "runs" / "r.jsonl", [ok(0)])
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({
        "kind": "demo", "model": EVIL, "answers": [{"question": EVIL, "answer": "a"}],
        "plans": [{"label": EVIL, "plan": PLAN}],
        "runs": [{"label": "ok", "result_file": "runs/r.jsonl"},
                 {"label": "gone", "result_file": "runs/missing.jsonl"}],
    }))  # fmt: skip
    page = render_html(demo)
    assert_inert(page)
    assert 'data-chart="demo-run-0-gantt"' in page and "cannot read result file" in page
    assert run.name == "r.jsonl"


def test_unknown_json_and_vs_with_a_plan_are_refused(tmp_path):
    other = tmp_path / "x.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(InvalidValueError, match="neither a result file"):
        render_html(other)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    with pytest.raises(InvalidValueError, match="--vs"):
        render_html(plan, vs=plan)


def test_cli_writes_the_html_and_prints_its_path(tmp_path):
    run = write_run(tmp_path / "r.jsonl", [ok(0), ok(1, 0.3)], [sample(0, 2)])
    out = tmp_path / "report.html"
    result = run_cli("report", str(run), "--html", str(out), "--slo", "ttft_p95=2s")
    assert result.code == 0, result.stderr
    assert str(out) in result.stdout.replace("\n", "")
    assert_inert(out.read_text())
