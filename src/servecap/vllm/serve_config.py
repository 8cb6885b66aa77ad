"""The `vllm serve` settings a plan is made for, their flags, and command lines both ways:
reading one a user pasted, and writing the one that realises a plan."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import InvalidValueError


@dataclass(frozen=True)
class ServeConfig:
    """The `vllm serve` settings a plan is made for; None means vLLM's default."""

    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    enable_expert_parallel: bool = False
    dtype: str = "auto"
    kv_cache_dtype: str = "auto"
    quantization: str | None = None
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    block_size: int | None = None
    enforce_eager: bool = False
    num_gpu_blocks_override: int | None = None
    kv_cache_memory_bytes: int | None = None
    disable_hybrid_kv_cache_manager: bool = False
    device: str = "cuda"
    kv_cache_space_gib: float | None = None  # CPU backend: VLLM_CPU_KVCACHE_SPACE
    weights_gib: float | None = None  # a known "Model loading took" value
    flashinfer_sampler: bool | None = None  # None: the version's (VLLM_USE_FLASHINFER_SAMPLER)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ServeConfig:
        """A config from field values (None leaves a field at its default)."""
        return cls().with_values(values)

    def with_values(self, values: Mapping[str, Any]) -> ServeConfig:
        """This config with some fields changed; a name that is no field is an input error."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InvalidValueError(
                f"unknown vLLM setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                f"use ServeConfig fields: {', '.join(sorted(names))}",
            )
        return replace(self, **{k: v for k, v in values.items() if v is not None})


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
# What a pasted command may start with before its model and flags.
COMMAND_STARTS = ("vllm", "serve", "python", "python3", "-m", "vllm.entrypoints.openai.api_server")


def _number(text: str, kind: type, flag: str) -> Any:
    cleaned = text.replace("_", "")
    try:
        if kind is int and cleaned.lower().endswith("k"):
            cleaned = str(int(float(cleaned[:-1]) * 1024))
        value = kind(cleaned)
    except (ValueError, OverflowError):
        raise InvalidValueError(
            f"{flag} expects a {kind.__name__}, not {text!r}", f"fix the value of {flag}"
        ) from None
    if kind is float and not -1e18 < value < 1e18:  # NaN, infinities
        raise InvalidValueError(f"{flag} expects a finite number, not {text!r}", "give a number")
    return value


@dataclass(frozen=True)
class ServeCommand:
    """A `vllm serve` command line, read: its model, the settings servecap plans with (only
    those given), and the flags that do not change memory (passed on to vLLM unchanged)."""

    model: str | None
    values: dict[str, Any]
    passthrough: list[str]


def parse_serve_command(argv: list[str]) -> ServeCommand:
    """Read `vllm serve MODEL --flag ...`, the api_server module form, a lone MODEL, bare
    flags, or any of these as one string to be split like a shell would."""
    args = list(argv)
    if len(args) == 1 and " " in args[0]:
        args = shlex.split(args[0])
    while args and args[0] in COMMAND_STARTS:
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
    return ServeCommand(model, values, ignored)


_NOT_FLAGS = {"gpu_memory_utilization", "max_model_len", "device", "kv_cache_space_gib"}


def serve_argv(
    model: str, config: ServeConfig, gpu_memory_utilization: float, max_model_len: int
) -> list[str]:
    """The `vllm serve` command for `config` as the user gave it (only flags that differ from
    vLLM's defaults), with the utilization and context length the plan resolved."""
    argv = []
    if config.device == "cpu":
        argv.append(f"VLLM_CPU_KVCACHE_SPACE={config.kv_cache_space_gib:g}")
    argv += ["vllm", "serve", model]
    argv += ["--gpu-memory-utilization", f"{gpu_memory_utilization:g}"]
    argv += ["--max-model-len", str(max_model_len)]
    defaults = ServeConfig()
    flag_of = {name: flag for flag, (name, _) in SERVE_FLAGS.items() if flag.startswith("--")}
    switch_of = {name: flag for flag, name in SERVE_SWITCHES.items()}
    for f in fields(ServeConfig):
        value = getattr(config, f.name)
        if f.name in _NOT_FLAGS or value == getattr(defaults, f.name):
            continue
        if f.name in switch_of:
            if value:
                argv.append(switch_of[f.name])
        elif f.name in flag_of and value is not None:
            argv += [flag_of[f.name], str(value)]
    return argv
