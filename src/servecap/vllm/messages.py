"""vLLM's own start-up error texts and number formats, per version.

Templates are those of `vllm/v1/core/kv_cache_utils.py` (`check_enough_kv_cache_memory`) and
`vllm/v1/worker/gpu_worker.py` (`init_device`) in each release, including their typos and
double spaces, so a plan can show the exact line vLLM would print.
"""

from __future__ import annotations

from ..units import GiB
from .versions import VllmVersion

DOCS_TAIL = " See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details."


def format_gib(version: VllmVersion, n_bytes: float) -> str:
    """A byte count as the given vLLM prints GiB: '%.2f' before 0.14, then str(round(x, 2))."""
    value = n_bytes / GiB
    if version.format_gib:
        return str(round(value, 2))
    return f"{value:.2f}"


def max_len_error(
    version: VllmVersion, max_model_len: int, needed: int, available: int, estimate: int
) -> str:
    """The ValueError text when one max_model_len request does not fit the KV cache."""
    v = version
    unit = "GB" if v.log_says_gb else "GiB"
    n, a = format_gib(v, needed), format_gib(v, available)
    model_s = "model's" if v.at_least("0.21.0") else "models's"
    head = (
        f"To serve at least one request with the {model_s} max seq len ({max_model_len}), "
        f"({n} {unit} KV cache is needed, which is larger than the available KV cache "
        f"memory ({a} {unit})."
    )
    try_text = (
        "Try increasing `gpu_memory_utilization` or decreasing `max_model_len` "
        "when initializing the engine."
    )
    if v.at_least("0.21.0"):
        try_text = (
            "Try increasing `gpu_memory_utilization` (which also controls CPU memory on the "
            "CPU backend) or decreasing `max_model_len` when initializing the engine."
        )
    if not v.at_least("0.8.4"):
        return f"{head} {try_text}"
    if not v.at_least("0.9.1"):
        # 0.8.4-0.9.0 lost the number to a stray statement and left a double space.
        middle = " Based on the available memory," if estimate > 0 else ""
        return f"{head}{middle}  {try_text}"
    estimated = (
        f"Based on the available memory, the estimated maximum model length is {estimate}."
        if estimate > 0
        else ""
    )
    if not v.at_least("0.14.0"):
        text = f"{head} {estimated} {try_text}"
    else:
        text = f"{head} {estimated + ' ' if estimated else ''}{try_text}"
    if v.at_least("0.13.0"):
        text += DOCS_TAIL
    return text


def no_memory_error(version: VllmVersion) -> str:
    """The ValueError text when nothing is left for the KV cache."""
    if version.at_least("0.21.0"):
        text = (
            "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` "
            "when initializing the engine (this flag also controls CPU memory reservation on "
            "the CPU backend, despite its name)."
        )
    else:
        text = (
            "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` "
            "when initializing the engine."
        )
    return text + DOCS_TAIL if version.at_least("0.13.0") else text


def startup_memory_error(
    version: VllmVersion, free: int, total: int, utilization: float, requested: int
) -> str:
    """The ValueError text when the GPU has less free memory than the budget (0.9.1+)."""
    device = "device cuda:0" if version.at_least("0.14.0") else "device"

    def rounded(n: int) -> str:
        return str(round(n / GiB, 2))

    return (
        f"Free memory on {device} ({rounded(free)}/{rounded(total)} GiB) "
        f"on startup is less than desired GPU memory utilization ({utilization}, "
        f"{rounded(requested)} GiB). Decrease GPU memory utilization or reduce "
        "GPU memory used by other processes."
    )


def too_long_error(
    version: VllmVersion, max_model_len: int, derived: int, key: str = "max_position_embeddings"
) -> str:
    """The ValueError text when --max-model-len exceeds what config.json allows."""
    # transformers 5 (vLLM 0.30+) always yields RoPE parameters, so the length becomes a float
    shown = f"{float(derived)}" if version.at_least("0.30.0") else str(derived)
    text = (
        f"User-specified max_model_len ({max_model_len}) is greater than the derived "
        f"max_model_len ({key}={shown} or model_max_length=None in model's config.json)."
        " To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1"
    )
    if version.at_least("0.10.2"):
        text += (
            ". VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model "
            "uses relative position encoding (RoPE), positions exceeding derived_max_model_len "
            "lead to nan. If the model uses absolute position encoding, positions exceeding "
            "derived_max_model_len will cause a CUDA array out-of-bounds error."
        )
    return text
