"""Views of a memory plan: the breakdown table, the one-sentence answer, the smallest setup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..units import GiB

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from ..memory.inverse import SmallestSetup
    from ..memory.plan import MemoryPlan


@dataclass(frozen=True)
class Row:
    """One line of the breakdown: a JSON key, a label, a value and what it means."""

    key: str
    label: str
    value: float | int | None
    unit: str  # "GiB", "tokens", "x", "blocks"
    note: str = ""


def _gpu_label(p: MemoryPlan) -> str:
    return p.gpu.name if p.gpu else "CPU"


def breakdown(p: MemoryPlan) -> list[Row]:
    """The plan's rows, in the order vLLM's budget is spent."""
    s = p.stage
    lim = p.limits
    rows: list[Row] = []
    if p.device == "cuda":
        rows.append(
            Row(
                "gpu_total_gib",
                "GPU memory (driver total)",
                p.total_bytes / GiB,
                "GiB",
                _gpu_label(p),
            )
        )
        rows.append(
            Row(
                "requested_gib",
                "vLLM budget",
                p.requested_bytes / GiB,
                "GiB",
                f"--gpu-memory-utilization {p.utilization:g} x total",
            )
        )
    rows.append(
        Row(
            "weights_gib",
            "weights",
            s.weights_bytes / GiB,
            "GiB",
            '"Model loading took"' + (" (given)" if p.config.weights_gib else ""),
        )
    )
    if p.device == "cuda":
        rows.append(
            Row(
                "activation_peak_gib",
                "activation peak",
                s.activation_bytes / GiB,
                "GiB",
                f"profile run: sampler over {min(lim.max_num_seqs, lim.max_num_batched_tokens):,} "
                f"seqs x {p.model.vocab_size:,} vocab, {lim.max_num_batched_tokens:,} tokens",
            )
        )
        rows.append(
            Row(
                "non_torch_gib",
                "non-torch memory",
                s.non_torch_bytes / GiB,
                "GiB",
                "cuBLAS workspaces, NCCL buffers",
            )
        )
        graph_note = (
            "--enforce-eager: none"
            if p.config.enforce_eager
            else "estimated, inside the budget"
            if p.cudagraph_charged
            else "captured after the KV cache, outside the budget"
        )
        rows.append(Row("cudagraph_gib", "CUDA graphs", s.cudagraph_bytes / GiB, "GiB", graph_note))
        if s.other_bytes:
            rows.append(Row("other_gib", "other", s.other_bytes / GiB, "GiB", s.other_note))
    kv_note = f"{p.num_blocks:,} blocks x {p.block_size} tokens"
    if p.device == "cpu":
        kv_note += f" (VLLM_CPU_KVCACHE_SPACE={p.config.kv_cache_space_gib:g})"
    rows.append(Row("kv_cache_gib", "KV cache", s.available_bytes / GiB, "GiB", kv_note))
    per_token = p.kv_bytes_per_token
    rows.append(
        Row(
            "kv_bytes_per_token",
            "KV bytes per token",
            per_token,
            "bytes",
            "per GPU, all layers" if per_token else "not one number (hybrid layers)",
        )
    )
    rows.append(
        Row("kv_cache_tokens", "KV cache size", p.kv_cache_tokens, "tokens", "as vLLM logs it")
    )
    rows.append(
        Row(
            "max_concurrency",
            "maximum concurrency",
            p.max_concurrency,
            "x",
            f"requests of {p.max_model_len:,} tokens",
        )
    )
    return rows


def format_value(row: Row) -> str:
    if row.value is None:
        return "-"
    if row.unit == "GiB":
        return f"{row.value:.2f}"
    if row.unit == "x":
        return f"{row.value:.2f}x"
    return f"{int(row.value):,}"


def plan_table(p: MemoryPlan, title: str | None = None) -> Table:
    """The breakdown as a rich table."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("what it is", style="dim")
    for row in breakdown(p):
        style = "bold" if row.key in ("kv_cache_gib", "kv_cache_tokens") else None
        table.add_row(row.label, format_value(row), row.unit, row.note, style=style)
    return table


def answer_sentence(p: MemoryPlan) -> str:
    """The seed's question, answered in one sentence."""
    s = p.stage
    kv = s.available_bytes / GiB
    requests = f"{p.max_concurrency:.2f} requests of {p.max_model_len:,} tokens"
    if p.device == "cpu":
        return (
            f"vLLM's CPU backend sets aside {kv:.2f} GiB of KV cache, which holds "
            f"{p.kv_cache_tokens:,} tokens, or {requests}."
        )
    parts = [
        f"{s.weights_bytes / GiB:.2f} weights",
        f"{s.activation_bytes / GiB:.2f} activation peak",
        f"{s.non_torch_bytes / GiB:.2f} non-torch",
    ]
    if p.cudagraph_charged and s.cudagraph_bytes:
        parts.append(f"{s.cudagraph_bytes / GiB:.2f} CUDA graphs")
    if s.other_bytes:
        parts.append(f"{s.other_bytes / GiB:.2f} other")
    gpu = p.gpu.name if p.gpu else "GPU"
    head = (
        f"vLLM takes {p.requested_bytes / GiB:.2f} GiB of the {gpu}'s "
        f"{p.total_bytes / GiB:.2f} GiB (--gpu-memory-utilization {p.utilization:g}): "
        f"{', '.join(parts)}"
    )
    if kv <= 0:
        return f"{head}, and nothing is left for the KV cache."
    return (
        f"{head}, and {kv:.2f} GiB of KV cache, which holds {p.kv_cache_tokens:,} tokens, "
        f"or {requests}."
    )


def setup_lines(setup: SmallestSetup, p: MemoryPlan) -> list[str]:
    """The inverse answers as short sentences."""
    lines: list[str] = []
    ctx = f"--max-model-len {p.max_model_len:,}"
    if setup.min_gpu_memory_utilization is not None and p.gpu is not None:
        lines.append(
            f"smallest --gpu-memory-utilization on this GPU for {ctx}: "
            f"{setup.min_gpu_memory_utilization:.2f}"
        )
    elif p.gpu is not None:
        lines.append(
            f"{ctx} does not fit this GPU at any utilization with TP "
            f"{p.config.tensor_parallel_size}"
        )
    if setup.min_gpu_memory_gib is not None:
        card = (
            f" (smallest listed: {setup.smallest_catalogue_gpu})"
            if setup.smallest_catalogue_gpu
            else ""
        )
        lines.append(
            f"smallest GPU memory at utilization {p.utilization:g}: "
            f"{setup.min_gpu_memory_gib:.2f} GiB{card}"
        )
    if setup.min_tensor_parallel_size is not None and p.gpu is not None:
        lines.append(f"smallest tensor parallel size on this GPU: {setup.min_tensor_parallel_size}")
    lines.append(f"longest context that fits as planned: {setup.max_model_len_that_fits:,} tokens")
    return lines


def plan_renderables(p: MemoryPlan, setup: SmallestSetup) -> list[RenderableType]:
    """What `servecap plan` prints: the table, the sentence, vLLM's refusal, the smallest
    setup, notes and the command."""
    import shlex

    title = (
        f"{p.model.name} on {p.gpu.name if p.gpu else 'CPU'}, "
        f"vLLM {p.version}, max-model-len {p.max_model_len:,}"
    )
    out: list[RenderableType] = [plan_table(p, title=title), "", answer_sentence(p)]
    if p.error:
        out += ["", "[bold red]vLLM refuses to start:[/] " + p.error]
    out += ["", "[bold]Smallest setup[/]"]
    out += [f"  {line}" for line in setup_lines(setup, p)]
    out += [f"  note: {note}" for note in p.notes]
    out += ["", "[bold]Command[/]", "  " + shlex.join(p.vllm_args())]
    return out
