"""The page around the charts: styles, header, sections, the tooltip script, embedded data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .svg import Safe, esc, h, join

CSS = """
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--ok:#059669;--bad:#dc2626}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 64px}
header.top{background:#0f172a;color:#f8fafc;padding:26px 0 22px}
header.top .inner{max-width:1120px;margin:0 auto;padding:0 24px}
header.top h1{margin:0 0 6px;font-size:26px;font-weight:650;letter-spacing:-.01em;
 word-break:break-word}
header.top .kind{text-transform:uppercase;font-size:12px;letter-spacing:.12em;color:#93c5fd}
.facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin-top:10px;color:#cbd5e1;font-size:14px}
.facts b{color:#f8fafc;font-weight:600}
h2{font-size:19px;margin:34px 0 12px;letter-spacing:-.005em}
h3{font-size:15px;margin:0 0 4px}
.muted{color:var(--muted);font-size:13px;margin:2px 0 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;
 margin:0 0 16px}
.verdict{font-size:17px;border-left:5px solid var(--ok)}
.verdict.bad{border-left-color:var(--bad)}
.verdict.warn{border-left-color:#d97706}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(136px,1fr));gap:12px;
 margin:0 0 16px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.stat-label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.stat-value{font-size:20px;font-weight:650;font-variant-numeric:tabular-nums}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
figure{margin:0 0 16px}
svg.chart{width:100%;height:auto;display:block;margin-top:8px;font-size:12px}
svg .grid{stroke:#eef0f3}
svg .axis{stroke:#9ca3af}
svg .tick{fill:#6b7280;font-size:11px;font-variant-numeric:tabular-nums}
svg .label{fill:#374151;font-size:12px}
svg .line{stroke-width:2.2;stroke-linejoin:round}
svg .rule{stroke-width:1.5;stroke-dasharray:4 3}
svg .rule-label{font-size:11px;font-weight:600}
svg .mark:hover{opacity:.75}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;color:#374151;margin-top:6px}
.key i{display:inline-block;width:18px;margin:0 6px 3px 0;vertical-align:middle}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;font-weight:600}
td.num,th.num{text-align:right}
tr.best td{background:#ecfdf5}
.yes{color:var(--ok);font-weight:600}.no{color:var(--bad);font-weight:600}
pre,code{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#0f172a;color:#e2e8f0;padding:12px 14px;border-radius:8px;overflow-x:auto;
 white-space:pre-wrap;word-break:break-all}
.error{background:#fef2f2;border-color:#fecaca;color:#991b1b;white-space:pre-wrap}
.qa p{margin:4px 0 0}
#tip{position:fixed;pointer-events:none;background:#111827;color:#f9fafb;font-size:12px;
 padding:5px 8px;border-radius:6px;max-width:360px;display:none;z-index:10;white-space:pre-wrap}
footer{color:var(--muted);font-size:12px;margin-top:40px}
"""

# Shows a mark's data-tip as plain text (textContent), so no data is ever parsed as markup.
TOOLTIP_JS = """
(function(){
var tip=document.getElementById('tip');
document.addEventListener('mouseover',function(e){
 var t=e.target.closest&&e.target.closest('[data-tip]');
 if(!t){tip.style.display='none';return;}
 tip.textContent=t.getAttribute('data-tip');tip.style.display='block';});
document.addEventListener('mousemove',function(e){
 tip.style.left=(e.clientX+14)+'px';tip.style.top=(e.clientY+14)+'px';});
})();
"""


def json_script(element_id: str, data: Any) -> Safe:
    """Data for scripts and notebooks, in a <script> that no value can break out of."""
    text = json.dumps(data, default=str, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Safe(f'<script type="application/json" id="{element_id}">{text}</script>')


def section(title: str, *content: object) -> Safe:
    """A titled part of the page."""
    return join([h("h2", {}, title), *content])


def page(
    kind: str,
    title: str,
    facts: Sequence[tuple[str, object]],
    body: Sequence[object],
    data: Any = None,
) -> str:
    """A whole self-contained HTML document: no external requests of any kind."""
    fact_items = join(
        h("span", {}, f"{label} ", h("b", {}, value))
        for label, value in facts
        if value not in (None, "")
    )
    header = h(
        "header",
        {"class": "top"},
        h(
            "div",
            {"class": "inner"},
            h("div", {"class": "kind"}, kind),
            h("h1", {}, title),
            h("div", {"class": "facts"}, fact_items),
        ),
    )
    footer = h("footer", {}, "Made by servecap. Hover over any bar, point or line for its numbers.")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        str(h("title", {}, f"{title} · servecap {kind}")),
        f"<style>{CSS}</style></head><body>",
        str(header),
        str(h("main", {}, join(body), footer)),
        '<div id="tip"></div>',
        str(json_script("servecap-data", data)) if data is not None else "",
        f"<script>{TOOLTIP_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


def legend(items: Sequence[tuple[str, str, bool]]) -> Safe:
    """An HTML legend: (name, color, dashed) per entry."""
    entries = []
    for name, color, dashed in items:
        style = f"border-top:3px {'dashed' if dashed else 'solid'} {color}"
        entries.append(h("span", {"class": "key"}, h("i", {"style": style}), name))
    return h("div", {"class": "legend"}, join(entries))


def figure(
    chart_id: str, title: str, chart: Safe, caption: str = "", keys: Safe | None = None
) -> Safe:
    """A titled chart with its legend and a one-line caption."""
    return h(
        "figure",
        {"class": "card figure", "id": f"fig-{chart_id}"},
        h(
            "figcaption",
            {},
            h("h3", {}, title),
            keys,
            h("p", {"class": "muted"}, caption) if caption else None,
        ),
        chart,
    )


def no_data(title: str, reason: str) -> Safe:
    """What stands where a chart has nothing to draw."""
    return h(
        "figure",
        {"class": "card figure empty"},
        h("h3", {}, title),
        h("p", {"class": "muted"}, reason),
    )


def stat_cards(items: Sequence[tuple[str, str, str]]) -> Safe:
    """Key numbers as cards: (label, value, detail)."""
    cards = [
        h(
            "div",
            {"class": "stat"},
            h("div", {"class": "stat-label"}, label),
            h("div", {"class": "stat-value"}, value),
            h("div", {"class": "muted"}, detail) if detail else None,
        )
        for label, value, detail in items
    ]
    return h("div", {"class": "stats"}, join(cards))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> Safe:
    """A plain table; columns from `numeric_from` on are right-aligned."""
    head = h(
        "tr",
        {},
        join(
            h("th", {"class": "num" if i >= numeric_from else None}, c)
            for i, c in enumerate(headers)
        ),
    )
    body = join(
        h(
            "tr",
            {},
            join(
                h(
                    "td",
                    {"class": "num" if i >= numeric_from else None},
                    esc(c) if isinstance(c, Safe) else str(c),
                )
                for i, c in enumerate(row)
            ),
        )
        for row in rows
    )
    return h("table", {}, h("thead", {}, head), h("tbody", {}, body))
