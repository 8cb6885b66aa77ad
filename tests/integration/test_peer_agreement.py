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
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from servecap.vllm.launcher import VllmInstall
from vllm_servers import STREAMING

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import peers

WORKLOAD = peers.Workload(requests=24, prompt_tokens=64, output_tokens=64, concurrency=4)
ROUNDS = 2
MAX_ROUNDS = 5

# key: (relative tolerance against the peer's value, absolute floor in the key's unit)
TOLERANCES = {
    "tpot_p50_s": (0.25, 0.0),
    "tpot_mean_s": (0.25, 0.0),
    "ttft_p50_s": (0.40, 0.010),
    "ttft_mean_s": (1.00, 0.010),
    "output_throughput_tok_s": (0.35, 0.0),
}


@pytest.fixture(scope="session")
def peers_python() -> str:
    """GuideLLM's virtualenv, set up once by scripts/setup-peers; fails loudly if it can't."""
    return peers.setup_peers()


def _average(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "tool": runs[0]["tool"],
        **{k: statistics.fmean(r[k] for r in runs) for k in (*peers.KEYS, "duration_s")},
        "output_tokens_total": sum(r["output_tokens_total"] for r in runs),
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

    def one_round(i: int) -> None:
        # the order turns each round, so load that fades during a round (a server the
        # previous test left busy, the machine's other jobs) does not always hit one tool
        names = list(tools)
        names = names[i % 3 :] + names[: i % 3]
        rounds.append({name: tools[name](tmp_path / f"{name}{i}") for name in names})

    for i in range(ROUNDS):
        one_round(i)
    misses = _misses(_clean(rounds))
    # a round disturbed by the shared machine moves one tool by 20-40% (see above): while the
    # averages disagree, add a round (every clean round counts), up to MAX_ROUNDS
    while (misses or len(_clean(rounds)) < ROUNDS) and len(rounds) < MAX_ROUNDS:
        one_round(len(rounds))
        misses = _misses(_clean(rounds))
    table = "\n\n".join(
        f"round {i}{'' if r in _clean(rounds) else ' (set aside)'}:\n"
        + peers.show([r[t] for t in tools])
        for i, r in enumerate(rounds)
    )
    print(table)

    expected = WORKLOAD.requests * WORKLOAD.output_tokens
    for r in rounds:
        ours = r["servecap"]
        assert ours["requests_ok"] == WORKLOAD.requests, f"servecap lost requests\n{table}"
        assert ours["requests_failed"] == 0 and ours["output_tokens_total"] == expected, table
    clean = _clean(rounds)
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
    """Where servecap's averages over the rounds lie outside TOLERANCES of a peer's."""
    runs = {name: [r[name] for r in rounds] for name in ("servecap", "vllm", "guidellm")}
    if not rounds:
        return ["no clean round"]
    servecap = _average(runs["servecap"])
    misses = []
    for name in ("vllm", "guidellm"):
        peer = _average(runs[name])
        for key, (relative, floor) in TOLERANCES.items():
            ours, theirs = servecap[key], peer[key]
            allowed = max(relative * theirs, floor)
            if abs(ours - theirs) > allowed:
                misses.append(
                    f"{key}: servecap {ours:.4g} vs {peer['tool']} {theirs:.4g} "
                    f"(allowed +-{allowed:.3g})"
                )
    return misses
