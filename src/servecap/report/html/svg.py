"""Chart primitives drawn as inline SVG: escaping, number formats, scales, ticks and axes.

Every string that reaches the page goes through `h` (or `esc`): text children and attribute
values are escaped unless they are `Safe`, which only `h` and `esc` make. Drawn data marks
carry class "mark" and a `data-tip` that the page's tooltip script shows as plain text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
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
