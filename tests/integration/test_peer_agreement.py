"""servecap bench agrees with GuideLLM and `vllm bench serve` on one real vLLM server.

The three tools run one after another against the same server, with the same workload: 24
requests, 4 streams in a closed loop, 64-token random prompts on /v1/completions (no chat
template, so every tool sends exactly what it asked for), 64 output tokens forced with
ignore_eos. Their results are mapped onto one set of names by benchmarks/peers.py (GuideLLM's
"inter_token_latency" is servecap's and vLLM's TPOT) and must agree within noise.

The tolerances come from repeated runs on this 2-core machine (see TOLERANCES). The tools
share the two cores with vLLM's CPU engine, so a client's own CPU use slows the server a
little; that, not measurement error, is most of the spread.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from vllm_servers import QWEN3

from servecap.vllm.launcher import VllmInstall

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import peers  # noqa: E402

WORKLOAD = peers.Workload(requests=24, prompt_tokens=64, output_tokens=64, concurrency=4)

# Allowed difference between servecap and each peer, relative to the peer's value (and, for
# TTFT, an absolute floor: TTFT is ~10-20 ms here, so a few ms is a large relative change).
TOLERANCES = {
    "tpot_p50_s": (0.25, 0.0),
    "tpot_mean_s": (0.25, 0.0),
    "ttft_p50_s": (0.35, 0.005),
    "ttft_mean_s": (0.35, 0.005),
    "output_throughput_tok_s": (0.20, 0.0),
}


@pytest.fixture(scope="session")
def peers_python() -> str:
    """GuideLLM's virtualenv, set up once by scripts/setup-peers; fails loudly if it can't."""
    return peers.setup_peers()


def test_ttft_tpot_and_throughput_agree_with_guidellm_and_vllm_bench(
    vllm_server, vllm_install: VllmInstall, peers_python: str, tmp_path: Path
) -> None:
    server = vllm_server(QWEN3)
    url, model = server.url, server.model
    # a few requests first, so no tool pays for the server's first (slow) steps
    peers.run_servecap(url, model, dataclasses.replace(WORKLOAD, requests=4), tmp_path / "warm")

    results = [
        peers.run_servecap(url, model, WORKLOAD, tmp_path / "servecap"),
        peers.run_vllm_bench(url, model, WORKLOAD, tmp_path / "vllm", python=vllm_install.python),
        peers.run_guidellm(url, model, WORKLOAD, tmp_path / "guidellm", python=peers_python),
    ]
    table = peers.show(results)
    print(table)

    expected_tokens = WORKLOAD.requests * WORKLOAD.output_tokens
    for r in results:
        assert r["requests_ok"] == WORKLOAD.requests, f"{r['tool']}: failed requests\n{table}"
        assert r["requests_failed"] == 0, f"{r['tool']}\n{table}"
        # every tool forced the length: otherwise TPOT and throughput would not be comparable
        assert r["output_tokens_total"] == expected_tokens, f"{r['tool']}\n{table}"

    servecap, *others = results
    misses = []
    for peer in others:
        for key, (relative, floor) in TOLERANCES.items():
            ours, theirs = servecap[key], peer[key]
            allowed = max(relative * theirs, floor)
            if abs(ours - theirs) > allowed:
                misses.append(
                    f"{key}: servecap {ours:.4g} vs {peer['tool']} {theirs:.4g} "
                    f"(allowed +-{allowed:.3g})"
                )
    assert not misses, "\n".join(misses) + "\n" + table
