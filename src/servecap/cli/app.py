"""The `servecap` command: one root that wires the command modules and handles errors once."""

from __future__ import annotations

import os
import sys

import typer

from ..errors import ServecapError

app = typer.Typer(
    name="servecap",
    help="Plan, explain, benchmark and simulate vLLM deployments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    from . import (
        advise,
        bench,
        calibrate,
        demo,
        explain,
        gpus,
        models,
        plan,
        report,
        serve,
        simulate,
        tinymodel,
        twin,
    )

    for module in (
        demo,
        plan,
        serve,
        explain,
        bench,
        simulate,
        calibrate,
        advise,
        twin,
        report,
        tinymodel,
        gpus,
        models,
    ):
        module.register(app)


_register()


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"servecap: error: {message}\n")
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. Every failure is one line on stderr: input errors exit 2, failures of
    servers or runs 1, a stop signal or Ctrl-C 130. SERVECAP_DEBUG=1 shows the traceback."""
    try:
        app(args=argv, standalone_mode=False, prog_name="servecap")
    except ServecapError as exc:
        if os.environ.get("SERVECAP_DEBUG"):
            raise
        if exc.exit_code == 130:
            sys.stderr.write(f"servecap: interrupted ({exc})\n")
            raise SystemExit(130) from None
        _fail(str(exc), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("servecap: interrupted\n")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.TyperException as exc:  # typer's (vendored click) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            raise SystemExit(0) from None
        _fail(_usage(exc), 2)


def _usage(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `servecap {ctx.info_name} --help`)" if ctx is not None else ""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    return f"{message}{hint}".replace("\n", " ")
