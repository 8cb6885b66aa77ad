"""A live progress line for long runs, drawn on stderr."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
