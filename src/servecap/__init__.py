"""servecap: plan, explain, benchmark and simulate vLLM deployments.

    import servecap
    config = servecap.ServeConfig(gpu_memory_utilization=0.5, max_model_len=10_000)
    plan = servecap.make_plan("Qwen/Qwen3-4B", config, gpu="rtx-4090")
    users = servecap.LoadProfile("users", requests=20)
    run = servecap.simulate(plan, users, servecap.WorkloadSpec())

Names are imported on first use, so `import servecap` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "Advice": "servecap.sizing.result",
    "AdviseOption": "servecap.sizing.result",
    "AdviseRequest": "servecap.sizing.request",
    "BenchConfig": "servecap.loadtest.bench",
    "Calibration": "servecap.sim.calibrate",
    "Comparison": "servecap.loadtest.compare",
    "ConfigError": "servecap.errors",
    "DemoConfig": "servecap.demo",
    "DemoResult": "servecap.demo",
    "Endpoint": "servecap.loadtest.client",
    "Explanation": "servecap.explanation",
    "Faults": "servecap.sim.twin",
    "GPU": "servecap.hardware",
    "InputError": "servecap.errors",
    "InvalidValueError": "servecap.errors",
    "Lengths": "servecap.loadtest.workload",
    "LoadProfile": "servecap.loadtest.load",
    "MemoryPlan": "servecap.memory.plan",
    "ModelNotFoundError": "servecap.errors",
    "ModelSpec": "servecap.models.spec",
    "Profile": "servecap.sim.steptime",
    "RequestRecord": "servecap.loadtest.records",
    "RunData": "servecap.loadtest.results",
    "RunResult": "servecap.loadtest.steps",
    "RunSummary": "servecap.loadtest.summary",
    "SLO": "servecap.loadtest.slo",
    "ServeConfig": "servecap.vllm.serve_config",
    "ServecapError": "servecap.errors",
    "ServerError": "servecap.errors",
    "SmallestSetup": "servecap.memory.inverse",
    "StartupLog": "servecap.vllm.logparse",
    "Step": "servecap.loadtest.steps",
    "Stopped": "servecap.errors",
    "Summary": "servecap.loadtest.stats",
    "Twin": "servecap.sim.twin",
    "TwinServer": "servecap.sim.twin_server",
    "UnknownGPUError": "servecap.errors",
    "UnknownVersionError": "servecap.errors",
    "VllmServer": "servecap.vllm.launcher",
    "VllmVersion": "servecap.vllm.versions",
    "WorkloadSpec": "servecap.loadtest.workload",
    "advise": "servecap.sizing.advisor",
    "calibrate": "servecap.sim.calibrate",
    "compare_runs": "servecap.loadtest.compare",
    "explain": "servecap.explanation",
    "find_vllm": "servecap.vllm.launcher",
    "get_gpu": "servecap.hardware",
    "gpus": "servecap.hardware",
    "load_model": "servecap.models.resolve",
    "make_plan": "servecap.api",
    "parse_config": "servecap.models.config",
    "parse_log": "servecap.vllm.logparse",
    "parse_slo": "servecap.loadtest.slo",
    "parse_version": "servecap.vllm.versions",
    "plan": "servecap.memory.plan",
    "plan_command": "servecap.api",
    "plan_launch": "servecap.serve",
    "read_results": "servecap.loadtest.results",
    "render_html": "servecap.report.html.pages",
    "resolve_gpu": "servecap.api",
    "run_bench": "servecap.loadtest.bench",
    "run_demo": "servecap.demo",
    "simulate": "servecap.sim.simulate",
    "smallest_setup": "servecap.memory.inverse",
    "summarize_results": "servecap.loadtest.steps",
    "summarize_run": "servecap.loadtest.summary",
}

__all__ = [
    "GPU",
    "SLO",
    "Advice",
    "AdviseOption",
    "AdviseRequest",
    "BenchConfig",
    "Calibration",
    "Comparison",
    "ConfigError",
    "DemoConfig",
    "DemoResult",
    "Endpoint",
    "Explanation",
    "Faults",
    "InputError",
    "InvalidValueError",
    "Lengths",
    "LoadProfile",
    "MemoryPlan",
    "ModelNotFoundError",
    "ModelSpec",
    "Profile",
    "RequestRecord",
    "RunData",
    "RunResult",
    "RunSummary",
    "ServeConfig",
    "ServecapError",
    "ServerError",
    "SmallestSetup",
    "StartupLog",
    "Step",
    "Stopped",
    "Summary",
    "Twin",
    "TwinServer",
    "UnknownGPUError",
    "UnknownVersionError",
    "VllmServer",
    "VllmVersion",
    "WorkloadSpec",
    "advise",
    "calibrate",
    "compare_runs",
    "explain",
    "find_vllm",
    "get_gpu",
    "gpus",
    "load_model",
    "make_plan",
    "parse_config",
    "parse_log",
    "parse_slo",
    "parse_version",
    "plan",
    "plan_command",
    "plan_launch",
    "read_results",
    "render_html",
    "resolve_gpu",
    "run_bench",
    "run_demo",
    "simulate",
    "smallest_setup",
    "summarize_results",
    "summarize_run",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'servecap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from .api import make_plan, plan_command, resolve_gpu
    from .demo import DemoConfig, DemoResult, run_demo
    from .errors import (
        ConfigError,
        InputError,
        InvalidValueError,
        ModelNotFoundError,
        ServecapError,
        ServerError,
        Stopped,
        UnknownGPUError,
        UnknownVersionError,
    )
    from .explanation import Explanation, explain
    from .hardware import GPU, get_gpu, gpus
    from .loadtest.bench import BenchConfig, run_bench
    from .loadtest.client import Endpoint
    from .loadtest.compare import Comparison, compare_runs
    from .loadtest.load import LoadProfile
    from .loadtest.records import RequestRecord
    from .loadtest.results import RunData, read_results
    from .loadtest.slo import SLO, parse_slo
    from .loadtest.stats import Summary
    from .loadtest.steps import RunResult, Step, summarize_results
    from .loadtest.summary import RunSummary, summarize_run
    from .loadtest.workload import Lengths, WorkloadSpec
    from .memory.inverse import SmallestSetup, smallest_setup
    from .memory.plan import MemoryPlan, plan
    from .models.config import parse_config
    from .models.resolve import load_model
    from .models.spec import ModelSpec
    from .report.html.pages import render_html
    from .serve import plan_launch
    from .sim.calibrate import Calibration, calibrate
    from .sim.simulate import simulate
    from .sim.steptime import Profile
    from .sim.twin import Faults, Twin
    from .sim.twin_server import TwinServer
    from .sizing.advisor import advise
    from .sizing.request import AdviseRequest
    from .sizing.result import Advice, AdviseOption
    from .vllm.launcher import VllmServer, find_vllm
    from .vllm.logparse import StartupLog, parse_log
    from .vllm.serve_config import ServeConfig
    from .vllm.versions import VllmVersion, parse_version
