"""`servecap serve`: plan, start real vLLM with the planned flags, and explain its start-up."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from . import options as o

if TYPE_CHECKING:
    from ..memory.plan import MemoryPlan
    from ..vllm.launcher import VllmServer
    from .output import Output

EXAMPLES = """
Any other flag is a `vllm serve` flag and goes to vLLM as given.

Examples:

  servecap serve Qwen/Qwen3-4B --gpu rtx-4090 --gpu-memory-utilization 0.5 --max-model-len 10000

  servecap serve ./tiny --device cpu --kv-cache-space-gib 1 --max-model-len 2048

  servecap serve Qwen/Qwen3-4B --gpu h100-sxm --dry-run
"""


VllmPythonOpt = Annotated[
    str | None,
    typer.Option(
        "--vllm-python",
        envvar="SERVECAP_VLLM_PYTHON",
        help="Python of the environment where vLLM is installed.",
    ),
]
HostOpt = Annotated[str, typer.Option("--host", help="Address to bind.")]
PortOpt = Annotated[int, typer.Option("--port", help="0 picks a free port.")]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="VLLM_API_KEY",
        help="Passed to vLLM; never printed.",
        show_default=False,
    ),
]
LogFileOpt = Annotated[
    Path | None,
    typer.Option("--log-file", help="[default: servecap-results/vllm-TIME.log]"),
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Start even if the plan says it will not fit.")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the command only.")]


def register(app: typer.Typer) -> None:
    app.command(
        name="serve",
        short_help="Start real vLLM with planned settings.",
        help="Start real vLLM with planned settings; refuse settings that cannot fit.",
        epilog=EXAMPLES,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(serve_command)


def serve_command(
    ctx: typer.Context,
    model_arg: o.ModelArg = None,
    model: o.Model = None,
    gpu: o.Gpu = None,
    device: o.Device = "cuda",
    kv_cache_space_gib: o.KvCacheSpaceGib = None,
    vllm_version: o.VllmVersionOpt = None,
    vllm_python: VllmPythonOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    api_key: ApiKeyOpt = None,
    log_file: LogFileOpt = None,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    ready_timeout: Annotated[float, typer.Option("--ready-timeout")] = 900,
) -> None:
    from ..outputs import default_output
    from ..serve import plan_launch
    from ..vllm.launcher import VllmServer, find_vllm, install_hint, stop_on_signals
    from ..vllm.serve_config import ServeConfig, parse_serve_command
    from . import loadopts
    from .output import Output

    out = Output()
    name = loadopts.one_model(model_arg, model)
    command = parse_serve_command(list(ctx.args))
    config = ServeConfig.from_values(
        {**command.values, "device": device, "kv_cache_space_gib": kv_cache_space_gib}
    )
    log_path = log_file or default_output("vllm", ".log")
    prepared = plan_launch(
        name, gpu, config, vllm_version, host, port, api_key, command.passthrough, log_path
    )
    if not prepared.plan.fits and not force:
        _refuse(out, prepared.plan)
    install = find_vllm(vllm_python)
    if dry_run:  # one unwrapped line, so that it can be copied
        out.console.print(prepared.launch.display(install), soft_wrap=True, markup=False)
        if install is None:
            where = vllm_python or "this Python"
            out.status(f"vLLM is not installed in {where}; {install_hint(device)}")
        return
    if install is None:
        _not_installed(out, prepared.plan, vllm_python, device)
    server = VllmServer(prepared.launch, install)
    out.status(f"starting vLLM {install.version}: {prepared.launch.display(install)}")
    out.status(f"log: {server.log_path}")
    with stop_on_signals():
        _run(server, out, name, gpu, vllm_version, ready_timeout)
    sys.exit(0)


def _refuse(out: Output, result: MemoryPlan) -> NoReturn:
    from ..errors import InvalidValueError
    from ..memory.inverse import smallest_setup
    from ..report.plan_view import plan_table, setup_lines

    out.show(plan_table(result), "", "[bold red]vLLM would refuse:[/] " + str(result.error))
    for line in setup_lines(smallest_setup(result), result):
        out.show(f"  {line}")
    raise InvalidValueError(
        "these settings do not fit (see the plan above)",
        "change them as suggested, or pass --force to start anyway",
    )


def _not_installed(
    out: Output, result: MemoryPlan, vllm_python: str | None, device: str
) -> NoReturn:
    from ..errors import InvalidValueError
    from ..report.plan_view import answer_sentence, plan_table
    from ..vllm.launcher import install_hint

    out.show(plan_table(result), answer_sentence(result))
    where = vllm_python or "this Python"
    raise InvalidValueError(f"vLLM is not installed in {where}", install_hint(device))


def _run(
    server: VllmServer,
    out: Output,
    model: str,
    gpu: str | None,
    vllm_version: str | None,
    ready_timeout: float,
) -> None:
    """Start the server, explain its start-up once ready, and stop it however this ends."""
    from ..errors import Stopped
    from ..explanation import explain
    from ..report.explain_view import explain_table
    from ..vllm.launcher import tail

    try:
        server.start()
        with out.err.status("loading", spinner="dots") as status:
            server.wait_ready(
                ready_timeout, lambda stage, s: status.update(f"vLLM: {stage} ({s:.0f} s)")
            )
        explained = explain(server.log_text(), model=model, gpu=gpu, vllm_version=vllm_version)
        out.show(
            explain_table(explained),
            "",
            f"[bold green]vLLM is ready at {server.url}/v1[/] (log: {server.log_path}). "
            "Ctrl-C stops it.",
        )
        while server.alive():
            time.sleep(0.5)
        out.err.print(
            f"vLLM exited with code {server.process.returncode if server.process else '?'}"
            f"; last log lines:\n{tail(server.log_text(), 15)}"
        )
        raise SystemExit(1)
    except (KeyboardInterrupt, Stopped):
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            out.status("stopping vLLM")
    finally:
        server.stop()
