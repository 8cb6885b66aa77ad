"""docs/cli.md is the CLI's own `--help`, regenerated; it must not go stale."""

from __future__ import annotations

from pathlib import Path

from servecap.cli.reference import command_names, reference_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current():
    current = reference_markdown()
    assert DOC.read_text() == current, (
        "docs/cli.md is stale: run `python -m servecap.cli.reference > docs/cli.md`"
    )


def test_every_command_has_a_section():
    text = DOC.read_text()
    for name in command_names():
        assert f"## servecap {name}\n" in text
