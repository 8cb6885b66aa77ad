"""`servecap gpus`: the GPU catalogue."""

from __future__ import annotations

import typer

from . import options as o


def register(app: typer.Typer) -> None:
    app.command(
        name="gpus",
        short_help="List the GPUs servecap knows.",
        help="List the GPUs servecap knows, with driver-reported memory.",
    )(gpus_command)


def gpus_command(json_out: o.Json = False) -> None:
    from rich.table import Table

    from ..hardware import gpus
    from .output import Output

    out = Output(json_mode=json_out)
    rows = gpus()
    out.data(
        [
            {
                "slug": g.slug,
                "name": g.name,
                "memory_gib": round(g.memory_gib, 2),
                "memory_bandwidth_gbps": g.memory_bandwidth_gbps,
                "bf16_tflops": g.bf16_tflops,
                "fp8_tflops": g.fp8_tflops,
                "aliases": list(g.aliases),
            }
            for g in rows
        ]
    )
    table = Table(show_edge=False, pad_edge=False)
    for col in ("slug", "name", "memory GiB", "bandwidth GB/s", "bf16 TFLOP/s", "fp8 TFLOP/s"):
        table.add_column(col, justify="right" if col[0].isdigit() or " " in col else "left")
    for g in rows:
        table.add_row(
            g.slug,
            g.name,
            f"{g.memory_gib:.2f}",
            f"{g.memory_bandwidth_gbps:,.0f}",
            f"{g.bf16_tflops:,.0f}",
            f"{g.fp8_tflops:,.0f}" if g.fp8_tflops else "-",
        )
    out.show(table)
