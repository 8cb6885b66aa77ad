"""The simulator: scheduler rules, determinism, KV accounting, physics of the defaults."""

from __future__ import annotations

import random
import statistics

import pytest

from helpers import scarce_cpu_plan
from servecap import ServeConfig, make_plan
from servecap.loadtest.load import LoadProfile
from servecap.loadtest.workload import Lengths, WorkloadSpec
from servecap.sim.blocks import BlockPool
from servecap.sim.engine import Simulator
from servecap.sim.scheduler import EngineConfig
from servecap.sim.simulate import simulate
from servecap.sim.steptime import Profile, build_model

SEED_DEPLOYMENT = dict(
    model="Qwen/Qwen3-4B",
    gpu="rtx-4090",
    vllm_version="0.8.5",
    config=ServeConfig(gpu_memory_utilization=0.5, max_model_len=10_000),
)


def seed_plan():
    return make_plan(**SEED_DEPLOYMENT)


def test_one_stream_of_qwen3_4b_on_a_4090_is_about_80_tokens_per_second():
    run = simulate(
        seed_plan(),
        LoadProfile("single", requests=1),
        WorkloadSpec(source="seed", output_tokens=Lengths("fixed", 1500)),
    )
    per_request = run.summary.tokens_per_s.p50
    assert per_request is not None
    assert 72 < per_request < 88


def test_simulation_is_deterministic():
    spec = WorkloadSpec(
        prompt_tokens=Lengths.parse("uniform:50:400", "p"),
        output_tokens=Lengths.parse("exp:200", "o"),
        seed=3,
    )
    a = simulate(seed_plan(), LoadProfile("rate", requests=60, rate=5), spec, seed=1)
    b = simulate(seed_plan(), LoadProfile("rate", requests=60, rate=5), spec, seed=1)
    assert a.summary == b.summary and a.steps[0].summary == b.steps[0].summary


def _tiny_engine(
    blocks: int, block_size: int = 16, seqs: int = 256, tokens: int = 2048
) -> Simulator:
    plan = make_plan(
        model="Qwen/Qwen3-0.6B",
        gpu="h100-sxm",
        vllm_version="0.24.0",
        config=ServeConfig(max_model_len=4096),
    )
    config = EngineConfig(
        num_blocks=blocks,
        block_size=block_size,
        max_num_seqs=seqs,
        max_num_batched_tokens=tokens,
        max_model_len=4096,
    )
    return Simulator(config, build_model(plan, Profile(overhead_s=0.001)))


def test_blocks_never_leak_and_every_request_finishes():
    rng = random.Random(7)
    lengths = [(rng.randint(10, 500), rng.randint(1, 400)) for _ in range(300)]
    sim = _tiny_engine(blocks=200)
    result = sim.run(LoadProfile("concurrency", requests=300, concurrency=40), lengths)
    assert [r.output_tokens for r in result.records] == [o for _, o in lengths]
    assert result.preemptions > 0  # 200 blocks cannot hold 40 such requests
    assert all(s.running is not None for s in result.samples)
    assert result.samples[-1].running == 0 and result.samples[-1].waiting == 0
    assert all(s.kv_cache_usage is not None and 0 <= s.kv_cache_usage <= 1 for s in result.samples)


def test_block_pool_evicts_the_oldest_cache_first():
    pool = BlockPool(usable=10, prefix_caching=True)
    pool.take(10)
    pool.free, pool.cached = 0, {}
    pool.cached.update({1: 3, 2: 4})
    pool.cached_total = 7
    pool.take(5)
    assert dict(pool.cached) == {2: 2} and pool.cached_total == 2


def test_preemption_takes_the_most_recently_admitted_request():
    # four requests arrive together; blocks for only about three of them at full length
    sim = _tiny_engine(blocks=1 + 3 * 8, block_size=16, seqs=8)
    lengths = [(16, 112)] * 4  # each grows to 128 tokens = 8 blocks
    result = sim.run(LoadProfile("users", requests=4), lengths)
    ends = {r.request_id: r.end_s for r in result.records}
    assert result.preemptions >= 1
    # FCFS: the first three finish first, the last-admitted one is the victim and ends last
    assert max(ends, key=ends.get) == 3


def test_scarce_blocks_reproduce_the_cpu_vllm_time_course(tmp_path):
    # The integration tests measured real vLLM (CPU, 64 blocks of 128 tokens, 24 users of 455
    # prompt + 600 output tokens): running 15 -> 12 -> 9 with 9-15 waiting, 15 preemptions.
    from servecap.tinymodel import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny")
    plan = scarce_cpu_plan(model)
    run = simulate(
        plan,
        LoadProfile("users", requests=24),
        WorkloadSpec(prompt_tokens=Lengths("fixed", 455), output_tokens=Lengths("fixed", 600)),
    )
    server = run.summary.server
    assert server is not None
    assert server.max_running == 15
    assert 14 <= server.preemptions <= 17
    running = [s.running for s in run.samples if s.running]
    assert running[0] == 15 and 8 <= statistics.median(running) <= 12


@pytest.mark.parametrize("answer,low,high", [(1500, 12, 20), (2500, 8, 13)])
def test_the_seeds_500_users_queue_behind_a_few_running(answer, low, high):
    # 17,312 KV tokens hold 11.4 answers of 1,518 tokens: vLLM admits 256, then preempts as
    # answers grow. Over the run the median lies above KV / full answer (the count each wave
    # ends at), because most of the time answers are only part-written.
    run = simulate(
        seed_plan(),
        LoadProfile("users", requests=500),
        WorkloadSpec(source="seed", output_tokens=Lengths("normal", answer, 300)),
    )
    summary = run.summary
    assert summary.succeeded == 500
    running = [s.running for s in run.samples]
    assert low <= statistics.median(running) <= high
    assert summary.server is not None
    assert summary.server.max_waiting > 400  # the rest wait, as the seed saw


@pytest.mark.parametrize(
    "blocks,prefix_caching,budget",
    [
        (200, True, 2048),  # preemptions
        (120, False, 2048),
        (2000, True, 2048),
        (2000, True, 300),  # prefills cut by the budget, decodes admitted after them
        (600, True, 16),  # fewer tokens than running requests
    ],
)
def test_the_decode_group_gives_exactly_the_step_by_step_result(blocks, prefix_caching, budget):
    rng = random.Random(blocks)
    lengths = [(rng.randint(5, 900), rng.randint(1, 700)) for _ in range(120)]
    config = EngineConfig(
        num_blocks=blocks,
        block_size=16,
        max_num_seqs=64,
        max_num_batched_tokens=budget,
        max_model_len=4096,
        prefix_caching=prefix_caching,
    )
    plan = make_plan(
        model="Qwen/Qwen3-0.6B",
        gpu="h100-sxm",
        vllm_version="0.24.0",
        config=ServeConfig(max_model_len=4096),
    )
    model = build_model(plan, Profile(overhead_s=0.001))
    for profile in (
        LoadProfile("users", requests=120),
        LoadProfile("concurrency", requests=120, concurrency=24),
        LoadProfile("rate", requests=120, rate=30.0),
    ):
        fast = Simulator(config, model).run(profile, lengths, seed=5)
        slow = Simulator(config, model, fast_decode=False).run(profile, lengths, seed=5)
        assert fast.steps == slow.steps and fast.preemptions == slow.preemptions
        assert fast.sim_seconds == slow.sim_seconds
        assert [r.to_dict() for r in fast.records] == [r.to_dict() for r in slow.records]
        assert fast.samples == slow.samples
