"""Whole pages, one per kind of input: load-test results, a plan, an advise result, a demo."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from ...errors import InvalidValueError
from ...loadtest.results import read_results
from ...loadtest.slo import SLO, parse_slo
from .charts import AMBER, BLUE, GREEN, RED, memory_chart, sweep_chart
from .layout import page, section, stat_cards, table
from .runs import RunView, compare_sections, run_facts, run_sections, view_run
from .svg import Rule, Safe, fmt, fmt_s, h, join


def results_page(paths: list[Path], vs: Path | None = None, slos: list[SLO] | None = None) -> str:
    """`bench` / `simulate` result files (merged if several), optionally beside a second run."""
    view = view_run(read_results(paths), slos)
    body = run_sections(view)
    if vs is not None:
        other = view_run(read_results([vs]), slos)
        other_name = "simulated" if other.run.simulated else vs.name
        body += compare_sections(view, other, other_name)
    model = str(view.run.meta.get("model") or "unknown model")
    kind = "simulated load test" if view.run.simulated else "load test"
    data = {
        "summary": view.summary.to_dict(),
        "status": view.run.status,
        "sources": view.run.sources,
    }
    return page(kind, model, run_facts(view.run), body, data)


def plan_sections(plan: dict[str, Any], prefix: str = "plan", label: str = "") -> list[Safe]:
    """A memory plan: verdict, key numbers, the stacked bar, vLLM's refusal, the command."""
    fits = bool(plan.get("fits"))
    tokens = plan.get("kv_cache_tokens")
    text = (
        f"Fits: {fmt(plan.get('kv_cache_gib'))} GiB of KV cache holds {fmt(tokens)} tokens, "
        f"{fmt(plan.get('max_concurrency'))} requests of {fmt(plan.get('max_model_len'))} "
        "tokens at once."
        if fits
        else "Does not fit: vLLM would refuse to start with these settings."
    )
    parts: list[Safe] = [h("div", {"class": "card verdict" + ("" if fits else " bad")}, text)]
    parts.append(
        stat_cards(
            [
                ("GPU memory", fmt(plan.get("gpu_total_gib"), "GiB"), str(plan.get("gpu") or "")),
                (
                    "utilization",
                    fmt(plan.get("gpu_memory_utilization")),
                    "--gpu-memory-utilization",
                ),
                ("weights", fmt(plan.get("weights_gib"), "GiB"), "per GPU"),
                ("KV cache", fmt(plan.get("kv_cache_gib"), "GiB"), f"{fmt(tokens)} tokens"),
                (
                    "max concurrency",
                    f"{fmt(plan.get('max_concurrency'))}×",
                    f"at {fmt(plan.get('max_model_len'))} tokens",
                ),
            ]
        )
    )
    parts.append(memory_chart(prefix, [(label or str(plan.get("gpu") or "GPU"), plan)]))
    if plan.get("error"):
        parts.append(h("pre", {"class": "card error"}, str(plan["error"])))
    if plan.get("vllm_args"):
        parts.append(h("pre", {}, shlex.join(str(a) for a in plan["vllm_args"])))
    return parts


def plan_page(plan: dict[str, Any]) -> str:
    facts = [
        ("GPU", plan.get("gpu")),
        ("vLLM", plan.get("vllm_version")),
        ("device", plan.get("device")),
    ]
    return page("memory plan", str(plan.get("model") or "plan"), facts, plan_sections(plan), plan)


def _parse_slos(texts: list[Any]) -> list[SLO]:
    slos = []
    for text in texts:
        try:
            slos.append(parse_slo(str(text)))
        except InvalidValueError:
            continue
    return slos


def advise_page(data: dict[str, Any]) -> str:
    """Which GPUs and settings serve the load: the verdict, the options, the users curve."""
    slos = _parse_slos(list(data.get("slos") or []))
    options = list(data.get("options") or [])
    notes = [h("li", {}, str(n)) for n in data.get("notes") or []]
    body: list[Safe] = [
        h(
            "div",
            {"class": "card verdict"},
            str(data.get("verdict") or "No verdict given."),
            h("ul", {"class": "muted"}, join(notes)) if notes else None,
        )
    ]
    if options:
        best = next((o for o in options if o.get("meets_slos")), options[0])
        body.append(
            stat_cards(
                [
                    (
                        "setup",
                        f"{best.get('gpu_count', 1)}× {best.get('gpu', '?')}",
                        str(best.get("gpu_name") or ""),
                    ),
                    (
                        "users served",
                        fmt(best.get("max_users")),
                        f"asked for {fmt(data.get('users'))}",
                    ),
                    (
                        "TTFT p95",
                        fmt_s(best.get("ttft_p95_s")),
                        ", ".join(str(s) for s in data.get("slos") or []),
                    ),
                    ("tokens/s p5", fmt(best.get("tokens_per_s_p5")), "per request"),
                    (
                        "cost",
                        fmt(best.get("cost_per_hour"), "$/h")
                        if best.get("cost_per_hour") is not None
                        else "–",
                        "per hour",
                    ),
                ]
            )
        )
        rows = []
        for o in options:
            ok = bool(o.get("meets_slos"))
            rows.append(
                [
                    f"{o.get('gpu_count', 1)}× {o.get('gpu_name') or o.get('gpu')}",
                    f"tp {o.get('tensor_parallel_size', 1)} · "
                    f"pp {o.get('pipeline_parallel_size', 1)} · ×{o.get('replicas', 1)}",
                    h("span", {"class": "yes" if ok else "no"}, "yes" if ok else "no"),
                    fmt(o.get("max_users")),
                    fmt_s(o.get("ttft_p95_s")),
                    fmt(o.get("tokens_per_s_p5")),
                    fmt(o.get("throughput_tokens_per_s")),
                    "–" if o.get("cost_per_hour") is None else f"${o['cost_per_hour']:.2f}",
                ]
            )
        body.append(
            section(
                "Options",
                h(
                    "div",
                    {"class": "card"},
                    table(
                        [
                            "GPUs",
                            "parallelism",
                            "meets SLOs",
                            "max users",
                            "TTFT p95",
                            "tok/s p5",
                            "tok/s total",
                            "$/hour",
                        ],
                        rows,
                        numeric_from=3,
                    ),
                ),
            )
        )
    curve = sorted(data.get("curve") or [], key=lambda p: p.get("users", 0))
    if curve:
        users = float(data.get("users") or 0)
        asked = (
            [Rule(users, f"{users:g} users asked for", "#111827", vertical=True)] if users else []
        )
        ttft = [Rule(s.threshold, f"SLO {s}", RED) for s in slos if s.metric == "ttft"]
        tps = [Rule(s.threshold, f"SLO {s}", RED) for s in slos if s.metric == "tokens_per_s"]

        def pts(key: str) -> list[tuple[float, float]]:
            return [(float(p["users"]), float(p[key])) for p in curve if p.get(key) is not None]

        charts = [
            sweep_chart(
                "advise-throughput",
                "Throughput against users",
                [("output tokens/s", pts("throughput_tokens_per_s"), BLUE, False)],
                "concurrent users",
                "output tokens/s",
                asked,
            ),
            sweep_chart(
                "advise-ttft",
                "TTFT against users",
                [("p50", pts("ttft_p50_s"), GREEN, True), ("p95", pts("ttft_p95_s"), AMBER, False)],
                "concurrent users",
                "seconds",
                [*ttft, *asked],
                seconds=True,
            ),
            sweep_chart(
                "advise-tps",
                "Tokens/s per request against users",
                [("p5", pts("tokens_per_s_p5"), GREEN, False)],
                "concurrent users",
                "tokens/s per request (p5)",
                [*tps, *asked],
            ),
        ]
        body.append(
            section(
                "How the recommended setup behaves as users grow",
                h("div", {"class": "grid2"}, join(charts)),
            )
        )
    plans = [
        (f"{o.get('gpu_count', 1)}× {o.get('gpu')}", o["plan"])
        for o in options
        if isinstance(o.get("plan"), dict)
    ]
    if plans:
        body.append(section("GPU memory per option", memory_chart("advise-memory", plans)))
    commands = [str(c) for c in (options[0].get("commands") or [])] if options else []
    if commands:
        body.append(section("Commands for the first option", h("pre", {}, "\n".join(commands))))
    facts = [
        ("users", data.get("users")),
        ("prompt", f"{data.get('prompt_tokens')} tokens"),
        ("answer", f"{data.get('output_tokens')} tokens"),
        ("SLOs", ", ".join(str(s) for s in data.get("slos") or [])),
    ]
    return page("advice", str(data.get("model") or "advice"), facts, body, data)


def demo_page(data: dict[str, Any], folder: Path) -> str:
    """The four answers, then each plan and each run, on one page."""
    body: list[Safe] = []
    answers = [
        h(
            "div",
            {"class": "card qa"},
            h("h3", {}, str(a.get("question", ""))),
            h("p", {}, str(a.get("answer", ""))),
        )
        for a in data.get("answers") or []
    ]
    if answers:
        body.append(section("Answers", join(answers)))
    for i, item in enumerate(data.get("plans") or []):
        label = str(item.get("label") or f"plan {i + 1}")
        if isinstance(item.get("plan"), dict):
            body.append(section(label, *plan_sections(item["plan"], f"demo-plan-{i}", label)))
    for i, item in enumerate(data.get("runs") or []):
        label = str(item.get("label") or f"run {i + 1}")
        path = folder / str(item.get("result_file") or "")
        try:
            view: RunView = view_run(read_results([path]))
        except InvalidValueError as exc:
            body.append(section(label, h("div", {"class": "card error"}, str(exc))))
            continue
        body.append(section(label, *run_sections(view, f"demo-run-{i}-")))
    facts = [
        ("GPU", data.get("gpu")),
        ("vLLM", data.get("vllm_version")),
        ("engine", data.get("engine")),
    ]
    return page("demo", str(data.get("model") or "demo"), facts, body, data)


def render_html(
    paths: Path | str | list[Path] | list[str],
    vs: Path | str | None = None,
    slos: list[SLO] | None = None,
) -> str:
    """The HTML report for result files, a `plan --json` file, an advise or a demo result."""
    items = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not items:
        raise InvalidValueError("no file to report on", "pass a result, plan, advise or demo file")
    document = _json_document(items[0]) if len(items) == 1 else None
    if document is None or document.get("type") == "run":
        return results_page(items, Path(vs) if vs is not None else None, slos)
    if vs is not None:
        raise InvalidValueError(
            "--vs compares two load-test result files", "pass bench or simulate results"
        )
    if document.get("kind") == "advise":
        return advise_page(document)
    if document.get("kind") == "demo":
        return demo_page(document, items[0].parent)
    if "weights_gib" in document or "kv_cache_gib" in document:
        return plan_page(document)
    raise InvalidValueError(
        f"{items[0]} is neither a result file nor a plan, advise or demo result",
        "pass a file from servecap bench or simulate -o, plan --json, advise or demo --output",
    )


def _json_document(path: Path) -> dict[str, Any] | None:
    """The file as one JSON object, or None where it is JSON Lines (result files)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # read_results gives the message
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
