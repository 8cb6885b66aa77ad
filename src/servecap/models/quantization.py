"""Read a config.json's quantization_config into a Quantization."""

from __future__ import annotations

from ..errors import ConfigError
from .fields import Fields
from .spec import Quantization

# Weight bit widths; no checkpoint method stores more than 16 bits a weight.
_MAX_BITS = 16
# GPTQ writes group_size -1 for one scale per output channel (no groups).
_PER_CHANNEL = -1


def read_quantization(cfg: Fields) -> Quantization | None:
    """The checkpoint's quantization, or None when the config has no quantization_config."""
    qc = cfg.first_mapping("quantization_config")
    if qc is None:
        return None
    method = qc.first_str("quant_method", default="").lower()
    not_converted = tuple(qc.str_list_or("modules_to_not_convert", "ignore", "ignored_layers"))
    if method in ("awq", "gptq", "auto_gptq", "awq_marlin", "gptq_marlin"):
        # `qc.get("group_size", qc.get("q_group_size", 128)) or 128`: a group_size key,
        # even a null one, hides q_group_size.
        group_key = "group_size" if "group_size" in qc.data else "q_group_size"
        return Quantization(
            method="awq" if "awq" in method else "gptq",
            bits=qc.int_or("bits", "w_bit", default=4, maximum=_MAX_BITS),
            group_size=qc.int_or(group_key, default=128, minimum=_PER_CHANNEL),
            modules_not_quantized=not_converted,
        )
    if method == "fp8":
        return Quantization(
            method="fp8",
            bits=8,
            block_size=_block_size(qc),
            modules_not_quantized=not_converted,
        )
    if method == "compressed-tensors":
        bits, group_size = _compressed_tensors_weights(qc)
        return Quantization(
            method="compressed-tensors",
            bits=bits,
            group_size=group_size,
            modules_not_quantized=not_converted,
        )
    if method == "mxfp4":
        return Quantization(
            method="mxfp4",
            bits=4,
            group_size=32,
            modules_not_quantized=not_converted,
            experts_only=True,
        )
    if method in ("bitsandbytes",):
        return Quantization(method="bitsandbytes", bits=4 if qc.data.get("load_in_4bit") else 8)
    if method in ("modelopt", "modelopt_fp4", "nvfp4"):
        algo = qc.first_str("quant_algo", default="").upper()
        if "FP4" in algo or method == "modelopt_fp4":
            return Quantization(method="nvfp4", bits=4, group_size=16)
        return Quantization(method="fp8", bits=8)
    raise ConfigError(
        f"quantization method {method!r} is not supported",
        "use an fp8, awq, gptq, compressed-tensors or mxfp4 checkpoint, or pass --weights-gib",
    )


def _block_size(qc: Fields) -> tuple[int, int] | None:
    """fp8 block scales: weight_block_size, [rows, columns] of weights per scale."""
    block = qc.int_list_or("weight_block_size", minimum=1)
    if not block:
        return None
    if len(block) != 2:
        raise qc.invalid("weight_block_size", block, "two sizes, [rows, columns]")
    return block[0], block[1]


def _compressed_tensors_weights(qc: Fields) -> tuple[int, int | None]:
    """Bits and group size of the weights of the first config group (8 bits when none)."""
    groups = qc.mapping_or("config_groups")
    if groups is None:
        return 8, None
    first = next(iter(groups.data))
    group = groups.mapping_or(first)
    weights = group.mapping_or("weights") if group is not None else None
    if weights is None:
        return 8, None
    return (
        weights.first_int("num_bits", default=8, maximum=_MAX_BITS),
        weights.opt_int("group_size", minimum=_PER_CHANNEL),
    )
