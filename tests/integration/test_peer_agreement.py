"""servecap bench agrees with GuideLLM and `vllm bench serve` on one real vLLM server.

The three tools run one after another, twice (S V G S V G; up to four times while the averages
disagree, every round counting), against the same server with the
same workload: 24 requests, 4 streams in a closed loop, 64-token random prompts on
/v1/completions (no chat template, so every tool sends exactly the prompt it built), 64 output
tokens forced with ignore_eos. benchmarks/peers.py maps their results onto one set of names
(GuideLLM's "inter_token_latency" is servecap's and vLLM's TPOT; GuideLLM's own "TPOT"
includes TTFT and is not used), and each tool's two runs are averaged before comparing.

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
from pathlib import Path
from typing import Any

import pytest

from servecap.vllm.launcher import VllmInstall
from vllm_servers import STREAMING

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import peers

WORKLOAD = peers.Workload(requests=24, prompt_tokens=64, output_tokens=64, concurrency=4)
ROUNDS = 2
MAX_ROUNDS = 4

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

    runs: dict[str, list[dict[str, Any]]] = {"servecap": [], "vllm": [], "guidellm": []}

    def one_round(i: int) -> None:
        runs["servecap"].append(peers.run_servecap(url, model, WORKLOAD, tmp_path / f"s{i}"))
        vllm_python = vllm_install.python
        runs["vllm"].append(
            peers.run_vllm_bench(url, model, WORKLOAD, tmp_path / f"v{i}", python=vllm_python)
        )
        runs["guidellm"].append(
            peers.run_guidellm(url, model, WORKLOAD, tmp_path / f"g{i}", python=peers_python)
        )

    for i in range(ROUNDS):
        one_round(i)
    misses = _misses(runs)
    # a round disturbed by the shared machine moves one tool by 20-40% (see above): while the
    # averages disagree, add a round (every round counts), up to MAX_ROUNDS
    while misses and len(runs["servecap"]) < MAX_ROUNDS:
        one_round(len(runs["servecap"]))
        misses = _misses(runs)
    rounds = len(runs["servecap"])
    table = "\n\n".join(
        f"round {i}:\n" + peers.show([runs[t][i] for t in runs]) for i in range(rounds)
    )
    print(table)

    for tool_runs in runs.values():
        for r in tool_runs:
            assert r["requests_ok"] == WORKLOAD.requests, f"{r['tool']}: failed requests\n{table}"
            assert r["requests_failed"] == 0, f"{r['tool']}\n{table}"
            # every tool forced the length, or TPOT and throughput would not be comparable
            expected = WORKLOAD.requests * WORKLOAD.output_tokens
            assert r["output_tokens_total"] == expected, f"{r['tool']}\n{table}"
            assert r["tpot_p50_s"] > 0.001, f"{r['tool']}: the server did not stream\n{table}"
    assert not misses, "\n".join(misses) + "\n\n" + table


def _misses(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Where servecap's averages over all rounds lie outside TOLERANCES of a peer's."""
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
