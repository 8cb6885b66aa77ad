"""servecap: plan, explain, benchmark and simulate vLLM deployments."""

from .api import make_plan, resolve_gpu
from .errors import (
    ConfigError,
    InputError,
    InvalidValueError,
    ModelNotFoundError,
    ServecapError,
    UnknownGPUError,
    UnknownVersionError,
)
from .hardware import GPU, get_gpu, gpus
from .memory.inverse import SmallestSetup, smallest_setup
from .memory.plan import MemoryPlan, ServeConfig, plan
from .models.config import parse_config
from .models.resolve import load_model
from .models.spec import ModelSpec
from .vllm.versions import VllmVersion, parse_version

__version__ = "0.1.0"

__all__ = [
    "GPU",
    "ConfigError",
    "InputError",
    "InvalidValueError",
    "MemoryPlan",
    "ModelNotFoundError",
    "ModelSpec",
    "ServeConfig",
    "ServecapError",
    "SmallestSetup",
    "UnknownGPUError",
    "UnknownVersionError",
    "VllmVersion",
    "get_gpu",
    "gpus",
    "load_model",
    "make_plan",
    "parse_config",
    "parse_version",
    "plan",
    "resolve_gpu",
    "smallest_setup",
]
