"""The explain view: vLLM's logged numbers beside servecap's plan, row by row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .plan_view import Row, breakdown, format_value

if TYPE_CHECKING:
    from rich.table import Table

    from ..explanation import Explanation

# plan row key -> (label, unit) for logs explained without a plan
_ROWS = (
    ("gpu_total_gib", "GPU memory (driver total)", "GiB"),
    ("requested_gib", "vLLM budget", "GiB"),
    ("weights_gib", "weights", "GiB"),
    ("activation_peak_gib", "activation peak", "GiB"),
    ("non_torch_gib", "non-torch memory", "GiB"),
    ("cudagraph_gib", "CUDA graphs", "GiB"),
    ("kv_cache_gib", "KV cache", "GiB"),
    ("kv_cache_tokens", "KV cache size", "tokens"),
    ("max_concurrency", "maximum concurrency", "x"),
)


def _difference(logged: float | int | None, predicted: float | int | None, unit: str) -> str:
    if logged is None or predicted is None:
        return ""
    delta = predicted - logged
    if unit == "GiB":
        text = f"{delta:+.2f}"
    elif unit == "x":
        text = f"{delta:+.2f}x"
    else:
        text = f"{int(delta):+,}"
    if logged and unit in ("tokens", "GiB") and abs(logged) > 0.05:
        text += f" ({delta / abs(logged):+.1%})"
    return text


def explain_table(ex: Explanation) -> Table:
    """Rows of the log, with servecap's prediction and the difference when there is a plan."""
    from rich.table import Table

    logged = ex.to_dict()
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column("vLLM log", justify="right")
    if ex.plan is not None:
        table.add_column("servecap", justify="right")
        table.add_column("difference", justify="right")
    rows: list[Row] = (
        breakdown(ex.plan)
        if ex.plan is not None
        else [Row(key, label, None, unit) for key, label, unit in _ROWS]
    )
    for row in rows:
        value = logged.get(row.key)
        shown = format_value(Row(row.key, row.label, value, row.unit))
        if ex.plan is None:
            table.add_row(row.label, shown)
            continue
        if row.key == "gpu_total_gib" and value is None:
            shown = "-"
        table.add_row(row.label, shown, format_value(row), _difference(value, row.value, row.unit))
    return table
