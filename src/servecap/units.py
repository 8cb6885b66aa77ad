"""Byte units and dtype sizes."""

from __future__ import annotations

from .errors import InvalidValueError

GiB = 1 << 30
MiB = 1 << 20

# Bytes per element of the dtypes that appear in config.json, safetensors headers and vLLM flags.
DTYPE_BYTES: dict[str, float] = {
    "float32": 4,
    "fp32": 4,
    "f32": 4,
    "float": 4,
    "float16": 2,
    "fp16": 2,
    "f16": 2,
    "half": 2,
    "bfloat16": 2,
    "bf16": 2,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "f8_e4m3": 1,
    "f8_e5m2": 1,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "fp8_inc": 1,
    "int8": 1,
    "i8": 1,
    "u8": 1,
    "uint8": 1,
    "int16": 2,
    "i16": 2,
    "int32": 4,
    "i32": 4,
    "int64": 8,
    "i64": 8,
    "f64": 8,
    "float64": 8,
    "bool": 1,
    "f4": 0.5,
    "e8m0": 1,
    "f8_e8m0": 1,
}


def dtype_bytes(name: str) -> float:
    """Bytes per element of a dtype name such as 'bfloat16', 'BF16' or 'fp8'."""
    key = name.lower().removeprefix("torch.")
    if key not in DTYPE_BYTES:
        raise InvalidValueError(
            f"unknown dtype {name!r}", f"use one of {', '.join(sorted(set(DTYPE_BYTES)))}"
        )
    return DTYPE_BYTES[key]


def ceil_div(a: int, b: int) -> int:
    """Integer division rounding up (vLLM's `cdiv`)."""
    return -(-a // b)


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is >= value."""
    return ceil_div(value, multiple) * multiple
