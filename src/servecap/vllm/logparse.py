"""Read the memory numbers out of a vLLM start-up log (0.8 to 0.33, V1 and the V0 fallback).

Line formats per version are listed in docs/memory-model.md. Lines are
matched on their message body, so prefixes ("(EngineCore_DP0 pid=1) INFO ...", "(Worker_TP1)")
and unrelated output in between do not matter. Per-rank values are kept; the KV budget is the
minimum over ranks, as vLLM sizes every rank's cache to the smallest.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from .serve_config import parse_serve_command

_NUM = r"-?[\d.]+"
_RANK = re.compile(r"\((?P<rank>(?:VllmWorker|Worker|EngineCore|RayWorkerWrapper)[^)]*)\)")
_PATTERNS: dict[str, re.Pattern[str]] = {
    "version": re.compile(
        r"vLLM API server version (?P<v>\d+\.\d+[\w.+-]*)|"
        r"Initializing an? (?:V1 )?LLM engine \(v(?P<v2>\d+\.\d+[\w.+-]*)\)|"
        r"\bvLLM version (?P<v3>\d+\.\d+[\w.+-]*)"
    ),
    "weights": re.compile(
        rf"(?:Model loading took|Loading model weights took):? (?P<w>{_NUM}) ?(?:GiB|GB)"
    ),
    "available": re.compile(rf"Available KV cache memory: (?P<gib>{_NUM}) ?GiB"),
    "cpu_kv": re.compile(
        rf"(?:Explicitly|Auto) set \((?P<gib>{_NUM})/(?P<total>{_NUM})\) GiB for KV"
    ),
    "reserved_kv": re.compile(
        rf"reserved (?P<gib>{_NUM}) GiB memory for KV Cache as specified by kv_cache_memory_bytes"
    ),
    "tokens": re.compile(r"(?P<dev>[A-Z]+(?: \+ host)?) KV cache size: (?P<tok>[\d,]+) tokens"),
    "concurrency": re.compile(
        r"Maximum concurrency for (?P<len>[\d,]+) tokens per request: (?P<x>[\d.]+)x"
    ),
    "graph_capture": re.compile(
        rf"Graph capturing finished in \d+ secs?, took (?P<gib>{_NUM}) GiB"
    ),
    "graph_estimate": re.compile(rf"Estimated CUDA graph memory: (?P<gib>{_NUM}) GiB total"),
    "graph_pool": re.compile(
        rf"CUDA graph pool memory: (?P<act>{_NUM}) GiB \(actual\), (?P<est>{_NUM}) GiB"
    ),
    "profiling": re.compile(
        rf"Total non KV cache memory: (?P<nonkv>{_NUM}) ?GiB; torch peak memory increase: "
        rf"(?P<peak>{_NUM}) ?GiB; (?:non-torch forward increase memory: (?P<nt>{_NUM})|"
        rf"total consumed \(from mem_get_info\): (?P<tc>{_NUM})) ?GiB; weights memory: "
        rf"(?P<w>{_NUM}) ?GiB"
    ),
    "actual_usage": re.compile(
        rf"Actual usage is (?P<w>{_NUM}) GiB for weight, (?P<a>{_NUM}) GiB for peak activation, "
        rf"(?P<n>{_NUM}) GiB for non-torch memory, and (?P<g>{_NUM}) GiB for CUDAGraph memory"
    ),
    "actual_usage_f": re.compile(
        rf"Actual usage is (?P<c>{_NUM}) GiB for consumed memory \(weights \+ non-torch\), "
        rf"(?P<a>{_NUM}) GiB for peak activation, and (?P<g>{_NUM}) GiB for CUDAGraph memory"
    ),
    "free_memory": re.compile(
        rf"Free memory on device(?: \S+)? \((?P<free>{_NUM})/(?P<total>{_NUM}) GiB\) on startup"
        rf"(?:\. Desired GPU memory utilization is \((?P<u>{_NUM}), (?P<r>{_NUM}) GiB\))?"
    ),
    "v0_profile": re.compile(
        rf"total_gpu_memory=(?P<total>{_NUM})GiB.*?peak_torch_memory=(?P<peak>{_NUM})GiB.*?"
        rf"non_torch_memory=(?P<nt>{_NUM})GiB kv_cache_size=(?P<kv>{_NUM})GiB "
        rf"gpu_memory_utilization=(?P<u>{_NUM})"
    ),
    "v0_profile_old": re.compile(
        rf"model weights take (?P<w>{_NUM})GiB; non_torch_memory takes (?P<nt>{_NUM})GiB; "
        rf"PyTorch activation peak memory takes (?P<a>{_NUM})GiB; the rest of the memory "
        rf"reserved for KV Cache is (?P<kv>{_NUM})GiB"
    ),
    "v0_total": re.compile(
        rf"total_gpu_memory \((?P<total>{_NUM})GiB\) x gpu_memory_utilization \((?P<u>{_NUM})\)"
    ),
    "v0_blocks": re.compile(r"# (?P<dev>\w+) blocks: (?P<blocks>\d+), # CPU blocks: \d+"),
    "override": re.compile(
        r"Overriding num_gpu_blocks=(?P<n>\d+) with num_gpu_blocks_override=(?P<m>\d+)"
    ),
    "max_len": re.compile(r"Using max model len (?P<len>\d+)"),
    "auto_fit": re.compile(
        r"Auto-fit max_model_len: (?:reduced from \d+ to (?P<len>\d+)|"
        r"full model context length (?P<full>\d+) fits)"
    ),
    "config_model": re.compile(r"Initializing .*? with config: model='(?P<model>[^']+)'"),
    "graph_profiling": re.compile(
        r"CUDA graph memory profiling is (?P<state>enabled|disabled)|"
        r"In v0\.19, CUDA graph memory profiling will be enabled by default"
    ),
    "block_size": re.compile(
        r"(?:Setting|Forcing) (?:kv cache|attention) block size to (?P<bs>\d+)"
    ),
    "batched_tokens": re.compile(
        r"Chunked prefill is enabled with max_num_batched_tokens=(?P<n>\d+)"
    ),
    "non_default": re.compile(r"non-default args: (?P<args>\{.*\})"),
    "command": re.compile(
        r"^(?:\$\s*)?(?P<cmd>(?:vllm serve|python3? -m vllm\.entrypoints"
        r"\.openai\.api_server)\s.*)$"
    ),
    "max_len_error": re.compile(
        rf"To serve at least one request with the model(?:s's|'s) max seq len \((?P<len>\d+)\), "
        rf"\((?P<need>{_NUM}) (?:GiB|GB) KV cache is needed, which is larger than the available "
        rf"KV cache memory \((?P<have>{_NUM}) (?:GiB|GB)\)"
    ),
    "estimate": re.compile(r"estimated maximum model length is (?P<e>\d+)"),
    "v0_error": re.compile(
        r"The model's max seq len \((?P<len>\d+)\) is larger than the maximum number of tokens "
        r"that can be stored in KV cache \((?P<tok>\d+)\)"
    ),
    "error": re.compile(
        r"(?P<err>(?:No available memory for the cache blocks|To serve at least one request|"
        r"Free memory on device.*?is less than desired|CUDA out of memory occurred when warming"
        r"|The model's max seq len \(\d+\) is larger than the maximum number|"
        r"Cannot auto-fit max_model_len|Error in memory profiling).*)$"
    ),
}


@dataclass
class StartupLog:
    """The numbers one vLLM start-up printed; None where the log is silent."""

    vllm_version: str | None = None
    engine: str = "V1"
    model: str | None = None
    device: str | None = None  # "GPU", "CPU", ...
    gpu_total_gib: float | None = None
    gpu_memory_utilization: float | None = None
    requested_gib: float | None = None
    weights_gib: float | None = None
    activation_peak_gib: float | None = None
    non_torch_gib: float | None = None
    cudagraph_gib: float | None = None
    cudagraph_in_budget: bool | None = None
    graph_capture_gib: float | None = None
    kv_cache_gib: float | None = None
    kv_cache_gib_per_rank: dict[str, float] = field(default_factory=dict)
    kv_cache_tokens: int | None = None
    num_blocks: int | None = None
    num_gpu_blocks_override: int | None = None
    block_size: int | None = None
    max_model_len: int | None = None
    max_concurrency: float | None = None
    concurrency_len: int | None = None
    max_num_batched_tokens: int | None = None
    fits: bool | None = None
    error: str | None = None
    error_needed_gib: float | None = None
    error_available_gib: float | None = None
    estimated_max_model_len: int | None = None
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether the text held any vLLM start-up line at all."""
        return any(
            v is not None
            for v in (
                self.weights_gib,
                self.kv_cache_gib,
                self.kv_cache_tokens,
                self.error,
                self.max_concurrency,
                self.num_blocks,
            )
        )


@dataclass
class _PerRank:
    """Values each rank (or data-parallel engine) prints, reduced once the log is read."""

    graphs: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    concurrency: dict[str, tuple[float, int]] = field(default_factory=dict)


def _non_default_args(text: str) -> dict[str, Any]:
    try:
        value = ast.literal_eval(text)
        if isinstance(value, dict):
            return value
    except (ValueError, SyntaxError):
        pass
    # excerpts such as "{... 'max_model_len': 16384}" are not literals: read pair by pair
    pairs: dict[str, Any] = {}
    for key, raw in re.findall(r"'(\w+)':\s*('[^']*'|[^,}]+)", text):
        try:
            pairs[key] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            pairs[key] = raw.strip()
    return pairs


def _apply_args(log: StartupLog, args: dict[str, Any]) -> None:
    log.args.update(args)
    for key in ("model", "model_tag"):
        if isinstance(args.get(key), str):
            log.model = args[key]
    if args.get("gpu_memory_utilization") is not None:
        log.gpu_memory_utilization = float(args["gpu_memory_utilization"])
    if isinstance(args.get("max_model_len"), int) and args["max_model_len"] > 0:
        log.max_model_len = args["max_model_len"]
    if args.get("max_num_batched_tokens"):
        log.max_num_batched_tokens = int(args["max_num_batched_tokens"])


def _command_args(command: str) -> dict[str, Any]:
    parsed = parse_serve_command([command])
    values = dict(parsed.values)
    if parsed.model:
        values["model"] = parsed.model
    return values


def parse_log(text: str) -> StartupLog:
    """Parse a vLLM start-up log (any mix of ranks and unrelated output)."""
    log = StartupLog()
    seen = _PerRank()
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        rank_match = _RANK.search(line)
        rank = rank_match.group("rank") if rank_match else "main"
        _parse_line(log, line, rank, seen)
    _reduce_ranks(log, seen)
    if log.fits is None and log.error is None and (log.kv_cache_tokens or log.kv_cache_gib):
        log.fits = (log.kv_cache_gib or 1) > 0
    if log.max_model_len is None and log.concurrency_len is not None:
        log.max_model_len = log.concurrency_len
    return log


def _reduce_ranks(log: StartupLog, seen: _PerRank) -> None:
    """The KV budget, tokens and concurrency of the smallest rank; the best CUDA graph figure."""
    for source in ("actual_usage", "graph_estimate", "graph_pool", "graph_capture"):
        if source in seen.graphs:
            log.cudagraph_gib = seen.graphs[source]
            break
    if log.kv_cache_gib_per_rank:
        log.kv_cache_gib = min(log.kv_cache_gib_per_rank.values())
    # tokens and concurrency are one rank's pair: take both from the rank with fewest tokens
    pair = None
    if seen.tokens:
        rank = min(seen.tokens, key=seen.tokens.__getitem__)
        log.kv_cache_tokens = seen.tokens[rank]
        pair = seen.concurrency.get(rank)
    if pair is None and seen.concurrency:
        pair = min(seen.concurrency.values())
    if pair is not None:
        log.max_concurrency, log.concurrency_len = pair


def _parse_line(log: StartupLog, line: str, rank: str, seen: _PerRank) -> None:
    p = _PATTERNS
    graphs = seen.graphs
    if (m := p["version"].search(line)) and log.vllm_version is None:
        log.vllm_version = (m.group("v") or m.group("v2") or m.group("v3")).rstrip(".")
    if (m := p["config_model"].search(line)) and log.model is None:
        log.model = m.group("model")
    if m := p["non_default"].search(line):
        _apply_args(log, _non_default_args(m.group("args")))
    elif (m := p["command"].search(line)) and "non-default" not in line:
        _apply_args(log, _command_args(m.group("cmd")))
    if m := p["weights"].search(line):
        if log.weights_gib is None:
            log.weights_gib = float(m.group("w"))
        if "Loading model weights took" in line:
            log.engine = "V0"
    if m := p["available"].search(line):
        log.kv_cache_gib_per_rank[rank] = float(m.group("gib"))
    if m := p["cpu_kv"].search(line):
        log.kv_cache_gib_per_rank[rank] = float(m.group("gib"))
        log.device = "CPU"
    if m := p["reserved_kv"].search(line):
        log.kv_cache_gib_per_rank[rank] = float(m.group("gib"))
    if m := p["tokens"].search(line):
        seen.tokens[rank] = int(m.group("tok").replace(",", ""))
        log.device = m.group("dev")
    if m := p["concurrency"].search(line):
        seen.concurrency[rank] = (float(m.group("x")), int(m.group("len").replace(",", "")))
    if m := p["graph_profiling"].search(line):
        log.cudagraph_in_budget = m.group("state") == "enabled"
    if m := p["graph_capture"].search(line):
        graphs.setdefault("graph_capture", float(m.group("gib")))
        log.graph_capture_gib = float(m.group("gib"))
    if m := p["graph_estimate"].search(line):
        graphs.setdefault("graph_estimate", float(m.group("gib")))
    if m := p["graph_pool"].search(line):
        graphs.setdefault("graph_pool", float(m.group("est")))
    if m := p["profiling"].search(line):
        log.activation_peak_gib = float(m.group("peak"))
        if m.group("nt") is not None:
            log.non_torch_gib = float(m.group("nt"))
        if log.weights_gib is None:
            log.weights_gib = float(m.group("w"))
    if m := p["actual_usage"].search(line):
        log.activation_peak_gib = float(m.group("a"))
        log.non_torch_gib = float(m.group("n"))
        graphs["actual_usage"] = float(m.group("g"))
        if log.weights_gib is None:
            log.weights_gib = float(m.group("w"))
    if m := p["actual_usage_f"].search(line):
        log.activation_peak_gib = float(m.group("a"))
        graphs["actual_usage"] = float(m.group("g"))
    if m := p["free_memory"].search(line):
        log.gpu_total_gib = float(m.group("total"))
        if m.group("u"):
            log.gpu_memory_utilization = float(m.group("u"))
            log.requested_gib = float(m.group("r"))
    _parse_v0_and_errors(log, line, rank)


def _parse_v0_and_errors(log: StartupLog, line: str, rank: str) -> None:
    p = _PATTERNS
    if m := p["v0_profile"].search(line):
        log.engine = "V0"
        log.gpu_total_gib = float(m.group("total"))
        log.non_torch_gib = float(m.group("nt"))
        log.kv_cache_gib_per_rank[rank] = float(m.group("kv"))
        log.gpu_memory_utilization = float(m.group("u"))
        if log.weights_gib is not None:
            log.activation_peak_gib = round(float(m.group("peak")) - log.weights_gib, 4)
    if m := p["v0_profile_old"].search(line):
        log.engine = "V0"
        log.weights_gib = log.weights_gib or float(m.group("w"))
        log.non_torch_gib = float(m.group("nt"))
        log.activation_peak_gib = float(m.group("a"))
        log.kv_cache_gib_per_rank[rank] = float(m.group("kv"))
    if m := p["v0_total"].search(line):
        log.gpu_total_gib = float(m.group("total"))
        log.gpu_memory_utilization = float(m.group("u"))
    if m := p["v0_blocks"].search(line):
        log.engine = "V0"
        log.num_blocks = int(m.group("blocks"))
    if m := p["override"].search(line):
        n, override = int(m.group("n")), int(m.group("m"))
        if override >= 64 or n > 1024:  # 0.18+ also overrides with tiny counts while profiling
            log.num_gpu_blocks_override = override
            log.num_blocks = override
    if m := p["max_len"].search(line):
        log.max_model_len = int(m.group("len"))
    if m := p["auto_fit"].search(line):
        log.max_model_len = int(m.group("len") or m.group("full"))
    if m := p["block_size"].search(line):
        log.block_size = int(m.group("bs"))
    if m := p["batched_tokens"].search(line):
        log.max_num_batched_tokens = int(m.group("n"))
    if m := p["max_len_error"].search(line):
        log.error_needed_gib = float(m.group("need"))
        log.error_available_gib = float(m.group("have"))
        log.max_model_len = int(m.group("len"))
    if m := p["estimate"].search(line):
        log.estimated_max_model_len = int(m.group("e"))
    if m := p["v0_error"].search(line):
        log.engine = "V0"
        log.max_model_len = int(m.group("len"))
        log.kv_cache_tokens = int(m.group("tok"))
    if (m := p["error"].search(line)) and log.error is None:
        text = m.group("err").strip()
        if "on startup" in text or text.startswith(
            ("No available", "To serve", "The model's", "CUDA out", "Cannot auto", "Error in")
        ):
            log.error = text
            log.fits = False
