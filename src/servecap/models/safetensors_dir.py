"""Exact weight sizes of a local model folder, from its safetensors headers."""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ConfigError
from ..units import dtype_bytes
from .spec import WeightFile


def read_weight_file(folder: Path) -> WeightFile | None:
    """Tensor name -> bytes for every *.safetensors file in `folder` (None if there are none).

    Only headers are read (safetensors' safe_open), so this is fast for any model size.
    """
    files = sorted(folder.glob("*.safetensors"))
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
