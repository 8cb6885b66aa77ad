"""Find a model: bundled catalogue, local folder, config.json path, or the Hugging Face Hub."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelNotFoundError
from .config import parse_config
from .safetensors_dir import read_weight_file
from .spec import ModelSpec


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    """The bundled config.json facts, keyed by Hugging Face id."""
    text = resources.files("servecap").joinpath("data/models.json").read_text()
    models: dict[str, dict[str, Any]] = json.loads(text)["models"]
    return models


def catalogue_entry(model_id: str) -> tuple[str, dict[str, Any]] | None:
    """The catalogue entry for an id, matched case-insensitively."""
    models = catalogue()
    if model_id in models:
        return model_id, models[model_id]
    lowered = {key.lower(): key for key in models}
    key = lowered.get(model_id.lower())
    return (key, models[key]) if key else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})",
            "pass the model's original config.json",
        ) from None
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read {path}: {exc.strerror}", "check the path") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object", "pass the model's original config.json")
    return data


def _offline() -> bool:
    return any(
        os.environ.get(v, "") not in ("", "0") for v in ("HF_HUB_OFFLINE", "SERVECAP_OFFLINE")
    )


def _from_hub(model_id: str) -> ModelSpec:
    """Download config.json (and safetensors headers' sizes) with huggingface_hub."""
    hint = (
        f"servecap has no catalogue entry for {model_id!r} and cannot reach the Hugging "
        "Face Hub; pass a local config.json path or model folder instead"
    )
    if _offline():
        raise ModelNotFoundError(f"unknown model {model_id!r} and the Hub is offline", hint)
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError

        path = hf_hub_download(model_id, "config.json", etag_timeout=5)
    except (HfHubHTTPError, OSError, ValueError) as exc:
        reason = type(exc).__name__
        raise ModelNotFoundError(
            f"cannot fetch {model_id!r} from the Hub ({reason})", hint
        ) from None
    return parse_config(_read_json(Path(path)), model_id, source=f"hub:{model_id}")


def load_model(model: str) -> ModelSpec:
    """Resolve a model argument to a ModelSpec.

    Accepted: a catalogue id (`Qwen/Qwen3-4B`), a model folder with config.json (its
    safetensors headers then give exact weight sizes), a path to a config.json, or a Hub id.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise ModelNotFoundError(
                f"{path} has no config.json", "pass a model folder as saved by transformers"
            )
        # named as given, so that `vllm serve NAME` finds the same folder
        spec = parse_config(_read_json(config), model, source=str(path))
        weights = read_weight_file(path)
        if weights is None:
            return spec
        from dataclasses import replace

        return replace(spec, weight_file=weights)
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise ModelNotFoundError(f"{path} does not exist", "check the path to config.json")
        return parse_config(_read_json(path), str(path.parent), source=str(path))
    entry = catalogue_entry(model)
    if entry is not None:
        key, data = entry
        return parse_config(data["config"], key, source="catalogue")
    if model.startswith(("/", "./", "../", "~")) or model.count("/") > 1:
        raise ModelNotFoundError(
            f"{path} does not exist", "check the path to the model folder or config.json"
        )
    if "/" not in model:
        raise ModelNotFoundError(
            f"unknown model {model!r}",
            "give a Hugging Face id such as Qwen/Qwen3-4B (see `servecap models`), "
            "a model folder or a config.json path",
        )
    return _from_hub(model)
