"""Fitting the step-time terms to designed points (servecap.sim.fit)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from servecap import ServeConfig, make_plan
from servecap.sim.fit import StepPoint, fit_profile, predict
from servecap.sim.simulate import engine_config
from servecap.sim.steptime import PRIOR, Profile, build_model

TRUTH = Profile(
    overhead_s=0.0012,
    bandwidth_efficiency=0.8,
    flops_efficiency=0.6,
    api_chunk_s=2e-6,
    request_latency_s=0.006,
    attention_efficiency=0.5,
    sampler_s_per_logit=3e-11,
    tokenize_s_per_token=1e-6,
)


def _points(plan, profile: Profile) -> list[StepPoint]:
    model = build_model(plan, profile)
    budget = engine_config(plan)
    shapes = [StepPoint("decode", b, 256.0, 128, 1.0) for b in (1, 4, 16, 64, 256)]
    shapes += [StepPoint("decode", b, 4160.0, 4096, 1.0) for b in (1, 8, 32)]
    shapes += [StepPoint("prefill", 1, p, p, 1.0) for p in (128, 512, 2048, 8192)]
    return [replace(s, seconds=predict(model, s, budget)) for s in shapes]


@pytest.mark.parametrize("model_id", ["Qwen/Qwen3-1.7B", "Qwen/Qwen3-8B"])
def test_the_fit_reproduces_points_made_by_a_known_profile(model_id):
    plan = make_plan(model_id, ServeConfig(), gpu="h100-sxm", vllm_version="0.24.0")
    points = _points(plan, TRUTH)
    fit = fit_profile([(plan, points)], start=PRIOR)
    assert fit.before > 0.1 > 0.01 > fit.rms_log_error  # the defaults miss, the fit does not
    fitted = build_model(plan, fit.profile)
    budget = engine_config(plan)
    for point in points:
        assert predict(fitted, point, budget) == pytest.approx(point.seconds, rel=0.03), point
    # what the decode ladder pins down is recovered, and its spread says so
    assert fit.profile.bandwidth_efficiency == pytest.approx(0.8, rel=0.1)
    assert fit.spread["bandwidth_efficiency"] < 0.2


def test_two_models_share_one_profile():
    small = make_plan("Qwen/Qwen3-1.7B", ServeConfig(), gpu="h100-sxm", vllm_version="0.24.0")
    large = make_plan("Qwen/Qwen3-14B", ServeConfig(), gpu="h100-sxm", vllm_version="0.24.0")
    fit = fit_profile([(small, _points(small, TRUTH)), (large, _points(large, TRUTH))])
    assert fit.points == 24 and fit.rms_log_error < 0.01


def test_a_measurement_without_points_is_an_input_error():
    from servecap.errors import InvalidValueError

    plan = make_plan("Qwen/Qwen3-1.7B", ServeConfig(), gpu="h100-sxm")
    with pytest.raises(InvalidValueError, match="no measured steps"):
        fit_profile([(plan, [])])
