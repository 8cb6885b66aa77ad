"""The HTML report in a real browser: every chart drawn, no console errors, no script injected.

The example inputs carry `<script>` and `<img onerror>` in model names, error messages and
labels; if any of it reached the page as markup, `window.__pwned` would be set.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from browser.cdp import Chromium, open_page
from browser.examples import SCRIPT, all_inputs, users_run

from servecap.report.html import render_html

REPO = Path(__file__).resolve().parents[2]
CHARTS_JS = """JSON.stringify([...document.querySelectorAll('svg.chart')].map(s => {
  const marks = [...s.querySelectorAll('.mark')];
  const box = s.getBoundingClientRect();
  return {id: s.dataset.chart, marks: marks.length, width: box.width, height: box.height,
          drawn: marks.filter(m => {
            const b = m.getBBox(); return b.width > 0 || b.height > 0;
          }).length};
}))"""
EXPRESSIONS = {
    "pwned": "typeof window.__pwned",
    "charts": CHARTS_JS,
    "empty": "document.querySelectorAll('figure.empty').length",
    "title": "document.querySelector('h1').textContent",
    "injected": "document.querySelectorAll("
    "'main script, main img, header script, header img').length",
    "height": "Math.ceil(document.documentElement.scrollHeight)",
}
# Charts each page must draw (ids of their <svg>)
EXPECTED = {
    "sweep": {
        "sweep-throughput",
        "sweep-ttft",
        "sweep-tps",
        "cdf-ttft_s",
        "cdf-tpot_s",
        "cdf-e2e_s",
        "gauges",
        "gauges-kv",
        "gantt",
    },
    "vs": {
        "cdf-ttft_s",
        "gauges",
        "gantt",
        "vs-cdf-ttft_s",
        "vs-cdf-tpot_s",
        "vs-cdf-e2e_s",
        "vs-running",
        "vs-waiting",
        "vs-kv",
    },
    "plan": {"plan"},
    "plan-unfit": {"plan"},
    "advise": {"advise-throughput", "advise-ttft", "advise-tps", "advise-memory"},
    "demo": {
        "demo-plan-0",
        "demo-run-0-gantt",
        "demo-run-0-gauges",
        "demo-run-1-sweep-ttft",
        "demo-run-1-cdf-e2e_s",
    },
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html-report")
    out = {}
    for name, (inputs, vs) in all_inputs(folder / "inputs").items():
        out[name] = folder / f"{name}.html"
        out[name].write_text(render_html(inputs, vs), encoding="utf-8")
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_renders_in_chromium(chromium: Chromium, pages: dict[str, Path], name: str) -> None:
    import json

    page = pages[name]
    shot = page.with_suffix(".png")
    report = asyncio.run(open_page(chromium.port, page, EXPRESSIONS, screenshot=shot))

    assert report.values["pwned"] == "undefined", "markup from the data ran as script"
    assert report.values["injected"] == 0
    assert SCRIPT in report.values["title"]  # shown as text, not dropped
    assert report.errors == []
    assert all(u.startswith(("file:", "data:", "about:")) for u in report.requests), report.requests
    charts = {c["id"]: c for c in json.loads(report.values["charts"])}
    assert EXPECTED[name] <= charts.keys()
    for chart in charts.values():
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["drawn"] > 0 and chart["drawn"] == chart["marks"], chart
    assert report.values["empty"] == 0
    assert shot.stat().st_size > 20_000


def test_readme_screenshot(chromium: Chromium, tmp_path: Path) -> None:
    """A clean measured-beside-simulated report; SERVECAP_UPDATE_SCREENSHOT=1 puts its top in
    docs/report-screenshot.png (off by default, so test runs leave the tree as it was)."""
    measured = users_run(tmp_path / "measured.jsonl", users=16, seed=1)
    simulated = users_run(tmp_path / "simulated.jsonl", users=16, seed=2)
    page = tmp_path / "report.html"
    page.write_text(render_html([measured], simulated), encoding="utf-8")
    shot = tmp_path / "report.png"
    report = asyncio.run(open_page(chromium.port, page, EXPRESSIONS, shot, max_height=2600))
    assert report.errors == [] and report.values["empty"] == 0
    if os.environ.get("SERVECAP_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "report-screenshot.png")
