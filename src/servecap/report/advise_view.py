"""Terminal view of `advise`: the verdict, the best deployment's command and numbers, the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table


def _layout(option: dict[str, Any]) -> str:
    parts = [f"{option['gpu_count']} x {option['gpu']}"]
    if option["tensor_parallel_size"] > 1:
        parts.append(f"tp {option['tensor_parallel_size']}")
    if option["pipeline_parallel_size"] > 1:
        parts.append(f"pp {option['pipeline_parallel_size']}")
    if option["replicas"] > 1:
        parts.append(f"{option['replicas']} replicas")
    return ", ".join(parts)


def options_table(options: list[dict[str, Any]], users: int) -> Table:
    """One row per deployment, as ranked."""
    from rich.table import Table

    priced = any(o["cost_per_hour"] is not None for o in options)
    table = Table(show_edge=False, pad_edge=False, title_justify="left")
    for name in ("#", "deployment", "util", "KV", "max users", "TTFT p95 s", "tok/s p5"):
        left = name in ("deployment", "KV")
        table.add_column(name, justify="left" if left else "right", no_wrap=name == "deployment")
    if priced:
        table.add_column("$/h", justify="right")
    table.add_column(f"{users} users")
    for i, o in enumerate(options, 1):
        row = [
            str(i),
            _layout(o),
            f"{o['gpu_memory_utilization']:g}",
            o["kv_cache_dtype"],
            f"{o['max_users']:,}",
            f"{o['ttft_p95_s']:.2f}",
            f"{o['tokens_per_s_p5']:.1f}",
        ]
        if priced:
            cost = o["cost_per_hour"]
            row.append("-" if cost is None else f"{cost:.2f}")
        row.append("met" if o["meets_slos"] else "missed")
        table.add_row(*row)
    return table


def advise_renderables(data: dict[str, Any]) -> list[RenderableType]:
    """The verdict first; then how to start the best option and what to expect from it."""
    items: list[RenderableType] = [f"[bold]{data['verdict']}[/]", ""]
    options = data["options"]
    if not options:
        return items
    best = options[0]
    users = data["users"]
    items.append("Command" if len(best["commands"]) == 1 else "Commands")
    items += [f"  {c}" for c in best["commands"]]
    items += [
        "",
        f"Expected at {users} users ({data['prompt_tokens']:,} prompt + "
        f"{data['output_tokens']:,} output tokens each, all at once)",
        f"  first token: p50 {best['ttft_p50_s']:.2f} s, p95 {best['ttft_p95_s']:.2f} s",
        f"  tokens/s per user: p50 {best['tokens_per_s_p50']:.1f}, "
        f"p5 {best['tokens_per_s_p5']:.1f}",
        f"  throughput: {best['throughput_tokens_per_s']:,.0f} output tokens/s",
    ]
    if best["meets_slos"]:
        headroom = best["max_users"] - users
        items.append(
            f"  headroom: {headroom:,} more users (tops out at {best['max_users']:,}; "
            f"then {best['limit']})"
        )
    items += [f"  note: {n}" for n in best.get("notes", [])]
    if len(options) > 1:
        items += ["", "Options, best first", options_table(options, users)]
    notes = [f"planned for vLLM {data['vllm_version']}", *data.get("notes", [])]
    items += ["", *(f"[dim]{n}[/]" for n in notes)]
    return items
