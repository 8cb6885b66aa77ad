"""`servecap models`: the bundled model catalogue."""

from __future__ import annotations

import typer

from . import options as o


def register(app: typer.Typer) -> None:
    app.command(
        name="models",
        short_help="List the models in servecap's bundled catalogue.",
        help="List the models in servecap's bundled catalogue.",
    )(models_command)


def models_command(json_out: o.Json = False) -> None:
    from rich.table import Table

    from ..models.config import parse_config
    from ..models.resolve import catalogue
    from .output import Output

    out = Output(json_mode=json_out)
    specs = [parse_config(entry["config"], name) for name, entry in sorted(catalogue().items())]
    out.data(
        [
            {
                "model": s.name,
                "architecture": s.architecture,
                "layers": s.num_layers,
                "kv_heads": s.num_kv_heads,
                "head_dim": s.head_dim,
                "max_position_embeddings": s.max_position_embeddings,
                "quantization": s.quantization.method if s.quantization else None,
            }
            for s in specs
        ]
    )
    table = Table(show_edge=False, pad_edge=False)
    for col in ("model", "architecture", "layers", "KV heads", "head dim", "context", "quant"):
        table.add_column(col)
    for s in specs:
        table.add_row(
            s.name,
            s.architecture,
            str(s.num_layers),
            str(s.num_kv_heads),
            str(s.head_dim),
            f"{s.max_position_embeddings:,}",
            s.quantization.method if s.quantization else "",
        )
    out.show(table)
