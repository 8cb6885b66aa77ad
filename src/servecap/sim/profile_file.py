"""A step-time profile file, validated: what `servecap calibrate` writes and users may edit."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidValueError

_FIX = "pass a file written by `servecap calibrate`"
_NUMBERS = (
    "overhead_s",
    "bandwidth_efficiency",
    "flops_efficiency",
    "per_token_s",
    "api_chunk_s",
    "request_latency_s",
    "attention_efficiency",
    "sampler_s_per_logit",
    "tokenize_s_per_token",
    "moe_layer_s",
    "api_request_s",
)


class ProfileFile(BaseModel):
    """The JSON object of a profile file; every key is known, every number finite."""

    model_config = ConfigDict(extra="forbid", strict=True)

    servecap_profile: Literal[1]
    overhead_s: float = Field(ge=0)
    # left out: the step-time model's defaults
    bandwidth_efficiency: float | None = Field(default=None, gt=0)
    flops_efficiency: float | None = Field(default=None, gt=0)
    per_token_s: float | None = Field(default=None, ge=0)
    api_chunk_s: float | None = Field(default=None, ge=0)
    request_latency_s: float | None = Field(default=None, ge=0)
    attention_efficiency: float | None = Field(default=None, gt=0)
    sampler_s_per_logit: float | None = Field(default=None, ge=0)
    tokenize_s_per_token: float | None = Field(default=None, ge=0)
    moe_layer_s: float | None = Field(default=None, ge=0)
    api_request_s: float | None = Field(default=None, ge=0)
    source: str = "profile file"

    @field_validator(*_NUMBERS, mode="before")
    @classmethod
    def _numbers_as_floats(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    @field_validator(*_NUMBERS)
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


def read_profile(path: Path) -> dict[str, Any]:
    """The profile's fields, or a one-line error naming the file and the first bad key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidValueError(f"cannot read profile {path}: {exc.strerror}", _FIX) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidValueError(f"profile {path} is not JSON", _FIX) from None
    if not isinstance(data, dict) or "servecap_profile" not in data:
        raise InvalidValueError(f"{path} is not a servecap profile", _FIX)
    try:
        profile = ProfileFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "the file"
        problem = (
            f"unknown key {where!r}"
            if error["type"] == "extra_forbidden"
            else f"{where}: {error['msg'].lower()}"
        )
        raise InvalidValueError(f"profile {path}: {problem}", _FIX) from None
    return profile.model_dump(exclude={"servecap_profile"}, exclude_none=True)
