"""The CLI reference (docs/cli.md), generated from each command's own `--help`.

Run `python -m servecap.cli.reference > docs/cli.md` after changing a command; a test fails
when the file no longer matches.
"""

from __future__ import annotations

import os
import subprocess
import sys

WIDTH = "100"


def _help(*command: str) -> str:
    env = {**os.environ, "COLUMNS": WIDTH, "TERM": "dumb", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    out = subprocess.run(
        [sys.executable, "-m", "servecap", *command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return "\n".join(line.rstrip() for line in out.stdout.strip("\n").splitlines())


def command_names() -> list[str]:
    from .app import app

    return [c.name or "" for c in app.registered_commands]


def reference_markdown() -> str:
    parts = [
        "# servecap command reference",
        "",
        "Generated from `--help` by `python -m servecap.cli.reference > docs/cli.md`; "
        "`tests/unit/test_cli_reference.py` fails when it is stale.",
        "",
        "```text",
        _help(),
        "```",
    ]
    for name in command_names():
        parts += ["", f"## servecap {name}", "", "```text", _help(name), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference_markdown())
