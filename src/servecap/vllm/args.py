"""`vllm serve` command lines: build one from a plan, and read one a user pasted."""

from __future__ import annotations

import shlex
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValueError

if TYPE_CHECKING:
    from ..memory.plan import MemoryPlan

# vLLM flag -> (ServeConfig field, type); the flags `servecap plan` understands.
SERVE_FLAGS: dict[str, tuple[str, type]] = {
    "--gpu-memory-utilization": ("gpu_memory_utilization", float),
    "--max-model-len": ("max_model_len", int),
    "--tensor-parallel-size": ("tensor_parallel_size", int),
    "-tp": ("tensor_parallel_size", int),
    "--pipeline-parallel-size": ("pipeline_parallel_size", int),
    "-pp": ("pipeline_parallel_size", int),
    "--dtype": ("dtype", str),
    "--kv-cache-dtype": ("kv_cache_dtype", str),
    "--quantization": ("quantization", str),
    "-q": ("quantization", str),
    "--max-num-seqs": ("max_num_seqs", int),
    "--max-num-batched-tokens": ("max_num_batched_tokens", int),
    "--block-size": ("block_size", int),
    "--num-gpu-blocks-override": ("num_gpu_blocks_override", int),
    "--kv-cache-memory-bytes": ("kv_cache_memory_bytes", int),
    "--kv-cache-memory": ("kv_cache_memory_bytes", int),
}
SERVE_SWITCHES: dict[str, str] = {
    "--enforce-eager": "enforce_eager",
    "--enable-expert-parallel": "enable_expert_parallel",
    "--disable-hybrid-kv-cache-manager": "disable_hybrid_kv_cache_manager",
}


def _number(text: str, kind: type, flag: str) -> Any:
    cleaned = text.replace("_", "")
    if kind is int and cleaned.lower().endswith("k"):
        cleaned = str(int(float(cleaned[:-1]) * 1024))
    try:
        return kind(cleaned)
    except ValueError:
        raise InvalidValueError(
            f"{flag} expects a {kind.__name__}, not {text!r}", f"fix the value of {flag}"
        ) from None


def parse_serve_command(argv: list[str]) -> tuple[str | None, dict[str, Any], list[str]]:
    """Read `vllm serve MODEL --flag ...` (or the api_server module form).

    Returns the model, ServeConfig fields, and the flags that do not affect memory.
    """
    args = list(argv)
    if len(args) == 1 and " " in args[0]:
        args = shlex.split(args[0])
    while args and args[0] in (
        "vllm",
        "serve",
        "python",
        "python3",
        "-m",
        "vllm.entrypoints.openai.api_server",
    ):
        args.pop(0)
    model: str | None = None
    values: dict[str, Any] = {}
    ignored: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        flag, _, inline = arg.partition("=")
        if flag in ("--model",):
            model = inline or (args[i + 1] if i + 1 < len(args) else None)
            i += 1 if inline else 2
            continue
        if flag in SERVE_FLAGS:
            name, kind = SERVE_FLAGS[flag]
            raw = inline or (args[i + 1] if i + 1 < len(args) else "")
            if not raw:
                raise InvalidValueError(f"{flag} needs a value", f"write {flag} VALUE")
            values[name] = _number(raw, kind, flag) if kind is not str else raw
            i += 1 if inline else 2
            continue
        if flag in SERVE_SWITCHES:
            values[SERVE_SWITCHES[flag]] = True
            i += 1
            continue
        if not arg.startswith("-") and model is None:
            model = arg
            i += 1
            continue
        ignored.append(arg)
        i += 1
        if not inline and i < len(args) and not args[i].startswith("-"):
            ignored.append(args[i])
            i += 1
    return model, values, ignored


def serve_argv(plan: MemoryPlan, model_ref: str | None = None) -> list[str]:
    """The `vllm serve` command that realises a plan (only flags that differ from defaults)."""
    from ..memory.plan import ServeConfig

    cfg = plan.user_config
    argv = []
    if plan.device == "cpu":
        argv.append(f"VLLM_CPU_KVCACHE_SPACE={cfg.kv_cache_space_gib:g}")
    argv += ["vllm", "serve", model_ref or plan.model.name]
    defaults = ServeConfig()
    flag_of = {name: flag for flag, (name, _) in SERVE_FLAGS.items() if flag.startswith("--")}
    argv += ["--gpu-memory-utilization", f"{plan.utilization:g}"]
    argv += ["--max-model-len", str(plan.max_model_len)]
    skip = {
        "gpu_memory_utilization",
        "max_model_len",
        "device",
        "kv_cache_space_gib",
        "weights_gib",
    }
    for f in fields(ServeConfig):
        if f.name in skip:
            continue
        value = getattr(cfg, f.name)
        if value == getattr(defaults, f.name):
            continue
        if f.name in SERVE_SWITCHES.values():
            if value:
                argv.append(next(k for k, v in SERVE_SWITCHES.items() if v == f.name))
            continue
        if f.name in flag_of and value is not None:
            argv += [flag_of[f.name], str(value)]
    return argv
