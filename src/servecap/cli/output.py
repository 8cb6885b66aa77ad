"""The one output sink of the CLI: rich for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console, RenderableType


class Output:
    """Writes results to stdout, as rich renderables or as one JSON document."""

    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.console = Console(highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False)

    def show(self, *items: RenderableType) -> None:
        if not self.json_mode:
            for item in items:
                self.console.print(item)

    def data(self, obj: Any) -> None:
        if self.json_mode:
            sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")

    def status(self, message: str) -> None:
        """Progress notes go to stderr so stdout stays clean for pipes."""
        self.err.print(message, style="dim")
