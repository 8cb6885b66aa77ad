"""The GPU catalogue: datasheet facts and the memory total the CUDA driver reports."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .errors import InvalidValueError, UnknownGPUError
from .units import GiB


@dataclass(frozen=True)
class GPU:
    """One GPU model; `memory_bytes` is the driver's total (cudaMemGetInfo), not the box size."""

    slug: str
    name: str
    memory_bytes: int
    memory_bandwidth_gbps: float
    bf16_tflops: float
    fp8_tflops: float | None
    compute_capability: str = ""
    vendor: str = "nvidia"
    aliases: tuple[str, ...] = ()
    memory_source: str = ""
    sm_count: int = 0
    nvlink: bool = False

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / GiB

    @property
    def is_hopper(self) -> bool:
        return self.vendor == "nvidia" and self.compute_capability.startswith("9.")

    @property
    def is_blackwell(self) -> bool:
        return self.vendor == "nvidia" and self.compute_capability.startswith(("10.", "12."))

    def with_memory_gib(self, gib: float) -> GPU:
        """The same card with an overridden memory total (--gpu-memory-gib)."""
        if gib <= 0:
            raise InvalidValueError(
                f"--gpu-memory-gib must be positive, not {gib}", "give the card's memory in GiB"
            )
        return GPU(
            slug=self.slug,
            name=self.name,
            memory_bytes=int(gib * GiB),
            memory_bandwidth_gbps=self.memory_bandwidth_gbps,
            bf16_tflops=self.bf16_tflops,
            fp8_tflops=self.fp8_tflops,
            compute_capability=self.compute_capability,
            vendor=self.vendor,
            aliases=self.aliases,
            memory_source="--gpu-memory-gib",
            sm_count=self.sm_count,
            nvlink=self.nvlink,
        )


def _normalise(name: str) -> str:
    key = name.lower().replace("nvidia", "").replace("geforce", "").replace("amd", "")
    key = key.replace("instinct", "")
    return re.sub(r"[^a-z0-9]", "", key)


def _from_entry(entry: dict[str, Any]) -> GPU:
    memory = entry.get("memory_bytes_total") or int(float(entry["memory_gib_total"]) * GiB)
    return GPU(
        slug=entry["slug"],
        name=entry["name"],
        memory_bytes=int(memory),
        memory_bandwidth_gbps=float(entry["memory_bandwidth_gbps"]),
        bf16_tflops=float(entry["bf16_dense_tflops"]),
        fp8_tflops=float(entry["fp8_dense_tflops"]) if entry.get("fp8_dense_tflops") else None,
        compute_capability=str(entry.get("compute_capability") or ""),
        vendor=entry.get("vendor", "nvidia"),
        aliases=tuple(entry.get("aliases") or ()) + tuple(entry.get("device_names") or ()),
        memory_source=str(entry.get("memory_total_source") or ""),
        sm_count=int(entry.get("sm_count") or 0),
        nvlink=bool(entry.get("nvlink")),
    )


@cache
def gpus() -> tuple[GPU, ...]:
    """Every GPU in the bundled catalogue, smallest memory first."""
    text = resources.files("servecap").joinpath("data/gpus.json").read_text()
    entries = json.loads(text)["gpus"]
    return tuple(sorted((_from_entry(e) for e in entries), key=lambda g: (g.memory_bytes, g.slug)))


@cache
def _index() -> dict[str, GPU]:
    index: dict[str, GPU] = {}
    for gpu in gpus():
        for key in (gpu.slug, gpu.name, *gpu.aliases):
            index.setdefault(_normalise(key), gpu)
    return index


def get_gpu(name: str) -> GPU:
    """Look a GPU up by slug, name or common spelling ('rtx-4090', 'RTX4090', '4090')."""
    key = _normalise(name)
    index = _index()
    if key in index:
        return index[key]
    if key.startswith("rtx") and key[3:] in index:
        return index[key[3:]]
    slugs = ", ".join(g.slug for g in gpus())
    raise UnknownGPUError(
        f"unknown GPU {name!r}",
        f"use one of: {slugs} (see `servecap gpus`), or add --gpu-memory-gib with any name",
    )


def custom_gpu(memory_gib: float, like: GPU | None = None) -> GPU:
    """A card given only by its memory total, with another card's speed facts if known."""
    base = like or GPU("custom", "custom GPU", 0, 1000.0, 100.0, None)
    return base.with_memory_gib(memory_gib)


def detect_gpu() -> GPU | None:
    """The first local NVIDIA GPU, via nvidia-smi (None when there is none)."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    name, _, mib = out.stdout.strip().splitlines()[0].partition(",")
    try:
        return get_gpu(name.strip())
    except UnknownGPUError:
        # nvidia-smi's total is about 0.45 GiB above what the CUDA driver reports
        return custom_gpu(float(mib) / 1024 - 0.45)


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX).

    vLLM's CPU backend runs bf16 models in bf16; without these units every bf16 product is
    emulated, many times slower than float32 (`--dtype float32` then serves faster).
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    flags = set(re.findall(r"[a-z0-9_]+", cpuinfo))
    return bool(flags & {"avx512_bf16", "amx_bf16"})
