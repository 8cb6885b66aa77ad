"""Line and bar charts drawn from the SVG primitives in `svg.py`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .svg import (
    FULL,
    HEIGHT,
    PAD_BOTTOM,
    PAD_LEFT,
    PAD_RIGHT,
    PAD_TOP,
    WIDTH,
    Rule,
    Safe,
    Scale,
    Series,
    axes,
    fmt,
    h,
    join,
    nice_ticks,
    svg,
)


def _extent(values: Iterable[float], floor: float | None) -> tuple[float, float]:
    data = [v for v in values if math.isfinite(v)]
    lo = min(data, default=0.0) if floor is None else min(floor, *data) if data else floor
    hi = max(data, default=1.0)
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    return lo, hi


def line_chart(
    chart_id: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    rules: Sequence[Rule] = (),
    x_fmt: Callable[[float], str] = fmt,
    y_fmt: Callable[[float], str] = fmt,
    y_floor: float | None = 0.0,
    x_floor: float | None = None,
    y_max: float | None = None,
    height: int = HEIGHT,
    width: int = WIDTH,
) -> Safe:
    """Lines (or step lines, or points) against shared axes, with reference rules."""
    xs = [p[0] for s in series for p in s.points] + [r.value for r in rules if r.vertical]
    ys = [p[1] for s in series for p in s.points] + [r.value for r in rules if not r.vertical]
    x_lo, x_hi = _extent(xs, x_floor)
    y_lo, y_hi = _extent(ys, y_floor)
    if y_max is None:
        y_max = nice_ticks(y_lo, y_hi * 1.05 if y_hi > 0 else y_hi)[-1]
    y_hi = y_max
    x = Scale(x_lo, x_hi, PAD_LEFT, width - PAD_RIGHT)
    y = Scale(y_lo, y_hi, height - PAD_BOTTOM, PAD_TOP)
    parts = [axes(x, y, x_label, y_label, x_fmt, y_fmt)]
    for s in series:
        if not s.points:
            continue
        coords = _step(s.points) if s.step else s.points
        d = " ".join(
            f"{'M' if i == 0 else 'L'}{x(px):.1f},{y(py):.1f}" for i, (px, py) in enumerate(coords)
        )
        parts.append(
            h(
                "path",
                {
                    "class": "mark line",
                    "d": d,
                    "stroke": s.color,
                    "fill": "none",
                    "stroke-dasharray": "6 4" if s.dash else None,
                    "data-tip": s.name,
                },
            )
        )
        if s.markers:
            for i, (px, py) in enumerate(s.points):
                tip = s.tips[i] if i < len(s.tips) else f"{s.name}: {x_fmt(px)}, {y_fmt(py)}"
                parts.append(
                    h(
                        "circle",
                        {
                            "class": "mark dot",
                            "cx": x(px),
                            "cy": y(py),
                            "r": 4,
                            "fill": s.color,
                            "data-tip": tip,
                        },
                    )
                )
    for rule in rules:
        if rule.vertical:
            px = x(rule.value)
            parts.append(
                h(
                    "line",
                    {
                        "class": "rule",
                        "x1": px,
                        "x2": px,
                        "y1": y.a,
                        "y2": y.b,
                        "stroke": rule.color,
                    },
                )
            )
            parts.append(
                h(
                    "text",
                    {
                        "class": "rule-label",
                        "x": px + 4 if px < (x.a + x.b) / 2 else px - 4,
                        "y": y.b + 10,
                        "text-anchor": "start" if px < (x.a + x.b) / 2 else "end",
                        "fill": rule.color,
                    },
                    rule.label,
                )
            )
        else:
            py = y(rule.value)
            parts.append(
                h(
                    "line",
                    {
                        "class": "rule",
                        "x1": x.a,
                        "x2": x.b,
                        "y1": py,
                        "y2": py,
                        "stroke": rule.color,
                    },
                )
            )
            parts.append(
                h(
                    "text",
                    {
                        "class": "rule-label",
                        "x": x.b - 4,
                        "y": py - 5,
                        "text-anchor": "end",
                        "fill": rule.color,
                    },
                    rule.label,
                )
            )
    return svg(chart_id, join(parts), height, width)


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _step(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = [points[0]]
    for (_, y0), (x1, y1) in itertools.pairwise(points):
        out += [(x1, y0), (x1, y1)]
    return out


@dataclass(frozen=True)
class Segment:
    """One piece of a horizontal stacked bar (or a Gantt row)."""

    start: float
    end: float
    color: str
    tip: str


def bars(
    chart_id: str,
    rows: Sequence[tuple[str, Sequence[Segment]]],
    x_label: str,
    x_fmt: Callable[[float], str] = fmt,
    x_max: float | None = None,
    rules: Sequence[Rule] = (),
    row_height: float = 26,
    label_width: int = PAD_LEFT,
    gap: float = 6,
    width: int = FULL,
) -> Safe:
    """Horizontal bars made of segments: memory stacks, and Gantt rows of requests."""
    height = int(PAD_TOP + len(rows) * (row_height + gap) + PAD_BOTTOM)
    ends = [s.end for _, segs in rows for s in segs] + [r.value for r in rules]
    hi = x_max if x_max is not None else nice_ticks(0.0, max(ends, default=1.0) or 1.0)[-1]
    x = Scale(0.0, hi, label_width, width - PAD_RIGHT)
    y = Scale(0.0, 1.0, height - PAD_BOTTOM, PAD_TOP)
    parts = [axes(x, y, x_label, "", x_fmt, None)]
    for i, (label, segments) in enumerate(rows):
        top = PAD_TOP + i * (row_height + gap) + gap / 2
        if label:
            parts.append(
                h(
                    "text",
                    {
                        "class": "tick",
                        "x": label_width - 6,
                        "y": top + row_height / 2 + 4,
                        "text-anchor": "end",
                    },
                    _clip(label, int((label_width - 10) / 6.2)),
                    h("title", {}, label),
                )
            )
        for seg in segments:
            bar_width = max(x(seg.end) - x(seg.start), 0.5)
            parts.append(
                h(
                    "rect",
                    {
                        "class": "mark bar",
                        "x": x(seg.start),
                        "y": top,
                        "width": bar_width,
                        "height": row_height,
                        "fill": seg.color,
                        "data-tip": seg.tip,
                    },
                )
            )
    for rule in rules:
        px = x(rule.value)
        parts.append(
            h(
                "line",
                {"class": "rule", "x1": px, "x2": px, "y1": y.a, "y2": y.b, "stroke": rule.color},
            )
        )
        parts.append(
            h(
                "text",
                {
                    "class": "rule-label",
                    "x": px - 4,
                    "y": y.b - 4,
                    "text-anchor": "end",
                    "fill": rule.color,
                },
                rule.label,
            )
        )
    return svg(chart_id, join(parts), height, width)
