"""The `servecap` command: one root that wires the command modules and handles errors once."""

from __future__ import annotations

import os
import sys

import typer

from ..errors import InputError

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

    demo.register(app)
    plan.register(app)
    serve.register(app)
    explain.register(app)
    bench.register(app)
    simulate.register(app)
    advise.register(app)
    twin.register(app)
    report.register(app)
    tinymodel.register(app)
    gpus.register(app)
    models.register(app)


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"servecap: error: {message}\n")
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user mistakes become one line on stderr and exit code 2."""
    _register()
    try:
        app(args=argv, standalone_mode=False, prog_name="servecap")
    except InputError as exc:
        if os.environ.get("SERVECAP_DEBUG"):
            raise
        _fail(str(exc))
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("servecap: interrupted\n")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.TyperException as exc:  # typer's (vendored click) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            raise SystemExit(0) from None
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `servecap {ctx.info_name} --help`)" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _fail(f"{message}{hint}".replace("\n", " "))
