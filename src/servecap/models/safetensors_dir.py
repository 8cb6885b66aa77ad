"""Exact weight sizes of a local model folder, from its safetensors headers."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import ConfigError
from ..units import dtype_bytes
from .spec import WeightFile


def read_weight_file(folder: Path) -> WeightFile | None:
    """Tensor name -> bytes for every *.safetensors file in `folder` (None if there are none).

    Only headers are read (safetensors' safe_open), so this is fast for any model size.
    """
    files = _weight_files(folder)
    if not files:
        return None
    from safetensors import safe_open

    tensors: dict[str, int] = {}
    for file in files:
        try:
            with safe_open(str(file), framework="numpy") as handle:
                for name in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
                    view = handle.get_slice(name)
                    numel = math.prod(view.get_shape())
                    tensors[name] = int(numel * dtype_bytes(view.get_dtype()))
        except Exception as exc:  # safetensors raises its own SafetensorError type
            raise ConfigError(
                f"cannot read the safetensors header of {file.name}: {exc}",
                "check that the file is complete (not a Git LFS pointer)",
            ) from None
    return WeightFile(tensors=tensors)


def _weight_files(folder: Path) -> list[Path]:
    """The safetensors files vLLM loads: with an index, only the files its weight_map names
    (so a Mistral-style consolidated.safetensors beside HF shards is not counted twice;
    `filter_duplicate_safetensors_files` in vllm/model_executor/model_loader/weight_utils.py).
    """
    files = sorted(folder.glob("*.safetensors"))
    index = folder / "model.safetensors.index.json"
    if not index.is_file():
        return files
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        listed = {str(name) for name in weight_map.values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(
            f"cannot read the weight_map of {index}",
            "fix or remove model.safetensors.index.json",
        ) from None
    return [f for f in files if f.name in listed]
