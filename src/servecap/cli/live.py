"""A live progress line for long runs, drawn on stderr."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ..loadtest.bench import BenchProgress
    from .output import Output


class _ProgressView:
    def __init__(self, progress: BenchProgress) -> None:
        self.progress = progress

    def __rich__(self) -> str:
        p = self.progress
        elapsed = max(1e-9, time.perf_counter() - p.started_s)
        server = ""
        if p.running is not None:
            server = f" | vLLM running {p.running:g}, waiting {p.waiting or 0:g}"
            if p.kv_usage is not None:
                server += f", KV {p.kv_usage:.0%}"
        phase = f"{p.phase} " if p.phase else ""
        return (
            f"{phase}{p.done}/{p.planned} done, {p.failed} failed | "
            f"{p.output_tokens / elapsed:,.0f} tok/s{server} | {elapsed:.0f} s"
        )


@contextlib.contextmanager
def live_progress(out: Output, progress: BenchProgress, enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    from rich.live import Live

    with Live(_ProgressView(progress), console=out.err, refresh_per_second=4, transient=True):
        yield


class _StepsView:
    """A bar over a measurement's steps, with the running step's own progress line."""

    def __init__(self, progress: BenchProgress, total: int) -> None:
        self.line = _ProgressView(progress)
        self.total = total
        self.index = 0
        self.name = ""

    def __rich__(self) -> RenderableType:
        from rich.console import Group
        from rich.progress_bar import ProgressBar

        return Group(
            ProgressBar(total=self.total, completed=self.index, width=40),
            f"step {self.index + 1}/{self.total} {self.name}: {self.line.__rich__()}",
        )


@contextlib.contextmanager
def live_steps(
    out: Output, progress: BenchProgress, steps: Sequence[object], enabled: bool = True
) -> Iterator[Callable[[int, Any], None]]:
    """A live bar for a run of named steps; yields the callback that moves it on."""
    view = _StepsView(progress, len(steps))

    def on_step(index: int, step: Any) -> None:
        view.index, view.name = index, getattr(step, "name", "")

    if not enabled:
        yield on_step
        return
    from rich.live import Live

    with Live(view, console=out.err, refresh_per_second=4, transient=True):
        yield on_step
