"""Chart primitives drawn as inline SVG: escaping, scales, ticks, line and bar charts.

Every string that reaches the page goes through `h` (or `esc`): text children and attribute
values are escaped unless they are `Safe`, which only `h` and `esc` make. Drawn data marks
carry class "mark" and a `data-tip` that the page's tooltip script shows as plain text.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

WIDTH = 540  # a chart in half the page; FULL spans it
FULL = 1080
HEIGHT = 300
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 20, 16, 52


class Safe(str):
    """Markup that is already escaped; made only by `h` and `esc`."""


def esc(value: object) -> Safe:
    """Escape any value for HTML text or a quoted attribute."""
    return value if isinstance(value, Safe) else Safe(html.escape(str(value), quote=True))


def h(tag: str, attrs: dict[str, object] | None = None, *children: object) -> Safe:
    """One element; None attributes are dropped, children are escaped unless Safe."""
    parts = [tag]
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        parts.append(key if value is True else f'{key}="{esc(_num(value))}"')
    inner = "".join(esc(c) for c in children if c is not None)
    return Safe(f"<{' '.join(parts)}>{inner}</{tag}>")


def join(items: Iterable[object]) -> Safe:
    """Several pieces of markup (text is escaped) as one."""
    return Safe("".join(esc(i) for i in items))


def _num(value: object) -> object:
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else value


def fmt(value: float | None, unit: str = "") -> str:
    """A number for a label: 3 significant digits, thousands separated."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100 or value == int(value):
        text = f"{value:.0f}" if magnitude >= 100 else f"{value:g}"
    elif magnitude >= 1:
        text = f"{value:.3g}"
    else:
        text = f"{value:.2g}"
    return f"{text} {unit}".strip() if unit else text


def fmt_s(value: float | None) -> str:
    """Seconds in the unit that reads best (ms below one second)."""
    if value is None:
        return "–"
    return fmt(value * 1000, "ms") if abs(value) < 1 else fmt(value, "s")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    lo = lo if math.isfinite(lo) else 0.0
    if not math.isfinite(hi) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(value, 10))
    return ticks


@dataclass(frozen=True)
class Scale:
    """Linear map from data [lo, hi] to pixels [a, b]."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.a + (value - self.lo) / span * (self.b - self.a)


@dataclass
class Series:
    """One line (or set of points) in a chart."""

    name: str
    points: list[tuple[float, float]]
    color: str
    dash: bool = False
    step: bool = False  # draw as a step function (gauges, CDFs)
    markers: bool = False
    tips: list[str] = field(default_factory=list)  # one per point, for markers


@dataclass(frozen=True)
class Rule:
    """A horizontal (or vertical) reference line, e.g. an SLO threshold."""

    value: float
    label: str
    color: str = "#dc2626"
    vertical: bool = False


def axes(
    x: Scale,
    y: Scale,
    x_label: str,
    y_label: str,
    x_fmt: Callable[[float], str],
    y_fmt: Callable[[float], str] | None,
) -> Safe:
    """Grid lines, tick labels and axis titles for a plot area (no y ticks without y_fmt)."""
    parts: list[Safe] = []
    for tick in nice_ticks(y.lo, y.hi) if y_fmt is not None else []:
        if tick < y.lo - 1e-12 or tick > y.hi + 1e-9:
            continue
        py = y(tick)
        parts.append(h("line", {"class": "grid", "x1": x.a, "x2": x.b, "y1": py, "y2": py}))
        parts.append(
            h(
                "text",
                {"class": "tick", "x": x.a - 6, "y": py + 4, "text-anchor": "end"},
                y_fmt(tick) if y_fmt is not None else "",
            )
        )
    for tick in nice_ticks(x.lo, x.hi, 6):
        if tick < x.lo - 1e-12 or tick > x.hi + 1e-9:
            continue
        px = x(tick)
        parts.append(h("line", {"class": "axis", "x1": px, "x2": px, "y1": y.a, "y2": y.a + 4}))
        parts.append(
            h(
                "text",
                {"class": "tick", "x": px, "y": y.a + 18, "text-anchor": "middle"},
                x_fmt(tick),
            )
        )
    parts.append(h("line", {"class": "axis", "x1": x.a, "x2": x.b, "y1": y.a, "y2": y.a}))
    parts.append(h("line", {"class": "axis", "x1": x.a, "x2": x.a, "y1": y.a, "y2": y.b}))
    mid_x, mid_y = (x.a + x.b) / 2, (y.a + y.b) / 2
    parts.append(
        h("text", {"class": "label", "x": mid_x, "y": y.a + 40, "text-anchor": "middle"}, x_label)
    )
    parts.append(
        h(
            "text",
            {
                "class": "label",
                "x": 16,
                "y": mid_y,
                "text-anchor": "middle",
                "transform": f"rotate(-90 16 {mid_y:.1f})",
            },
            y_label,
        )
    )
    return join(parts)


def svg(chart_id: str, body: Safe, height: int = HEIGHT, width: int = WIDTH) -> Safe:
    """The <svg> element of one chart, scaled to its container's width."""
    return h(
        "svg",
        {
            "class": "chart",
            "data-chart": chart_id,
            "viewBox": f"0 0 {width} {height}",
            "role": "img",
            "xmlns": "http://www.w3.org/2000/svg",
        },
        body,
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
