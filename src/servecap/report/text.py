"""Words shared by the terminal and HTML views: metric definitions, other tools' names for the
same numbers, and the server view in a sentence."""

from __future__ import annotations

from ..loadtest.summary import ServerView

DEFINITIONS = {
    "ttft_s": "TTFT: send to the first chunk carrying a token (content or reasoning); "
    "role-only chunks do not count",
    "tpot_s": "TPOT: (last token - first token) / (output tokens - 1), per request",
    "itl_s": "ITL: gaps between consecutive token-bearing chunks, pooled over requests",
    "e2e_s": "E2E: send to the last token",
    "tokens_per_s": "tokens/s: output tokens / E2E, per request (what the seed prints)",
}
OWN_NAMES = {
    "ttft_s": "TTFT",
    "tpot_s": "TPOT",
    "itl_s": "ITL",
    "e2e_s": "E2E",
    "tokens_per_s": "tokens/s",
}
# The same numbers under other tools' names: vLLM's `vllm bench serve` (vllm/benchmarks/serve.py),
# GuideLLM's report fields and AIPerf's metric titles.
NAME_MAPS = {
    "vllm": {
        "ttft_s": "TTFT",
        "tpot_s": "TPOT",
        "itl_s": "ITL",
        "e2e_s": "E2EL",
        "tokens_per_s": "output tok/s per request",
    },
    "guidellm": {
        "ttft_s": "time_to_first_token",
        "tpot_s": "inter_token_latency",
        "itl_s": "(not recorded)",
        "e2e_s": "request_latency",
        "tokens_per_s": "output_tokens_per_second",
    },
    "aiperf": {
        "ttft_s": "Time to First Token",
        "tpot_s": "Inter Token Latency",
        "itl_s": "Inter Chunk Latency",
        "e2e_s": "Request Latency",
        "tokens_per_s": "Output Token Throughput Per User",
    },
}


def server_sentence(view: ServerView, requests: int) -> str:
    """The server view in plain words."""
    running = int(view.max_running)
    parts = [
        f"vLLM ran at most {running} request{'s' if running != 1 else ''} at once "
        f"(median {view.median_running:g})"
    ]
    if view.max_waiting > 0:
        parts.append(f"up to {int(view.max_waiting)} waited")
    else:
        parts.append("none waited")
    if view.max_kv_usage is not None:
        parts.append(f"KV cache peaked at {view.max_kv_usage:.0%} full")
    parts.append(f"{int(view.preemptions)} preemption{'s' if view.preemptions != 1 else ''}")
    if view.prefix_cache_hit_rate:
        parts.append(f"prefix-cache hit rate {view.prefix_cache_hit_rate:.0%}")
    return "; ".join(parts) + f" (over {requests} requests)."
