"""`servecap tiny-model`: write a tiny random-weight model that real vLLM can serve."""

from __future__ import annotations

from typing import Annotated

import typer

from . import options as o

ArchOpt = Annotated[str, typer.Option("--arch", help="qwen3, llama or llama-sliding.")]
VocabOpt = Annotated[int, typer.Option("--vocab", help="BPE vocabulary target.")]


def register(app: typer.Typer) -> None:
    app.command(
        name="tiny-model",
        short_help="Write a tiny random-weight model for tests and CPU demos.",
        help="Write a tiny random-weight model folder (config.json, "
        "safetensors, tokenizer, chat template) for tests and CPU demos.\n\nExample:\n\n"
        "  servecap tiny-model /tmp/tiny --arch llama-sliding --layers 4",
    )(tiny_command)


def tiny_command(
    folder: Annotated[str, typer.Argument(metavar="DIR")],
    arch: ArchOpt = "qwen3",
    layers: Annotated[int, typer.Option("--layers")] = 2,
    hidden: Annotated[int, typer.Option("--hidden")] = 128,
    heads: Annotated[int, typer.Option("--heads")] = 4,
    kv_heads: Annotated[int, typer.Option("--kv-heads")] = 2,
    head_dim: Annotated[int, typer.Option("--head-dim")] = 32,
    intermediate: Annotated[int, typer.Option("--intermediate")] = 256,
    vocab: VocabOpt = 1024,
    max_len: Annotated[int, typer.Option("--max-position-embeddings")] = 4096,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    json_out: o.Json = False,
) -> None:
    from ..tinymodel import TinyModel, write_tiny_model
    from .output import Output

    shape = TinyModel(
        architecture=arch,
        num_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=intermediate,
        vocab_size=vocab,
        max_position_embeddings=max_len,
        seed=seed,
    )
    path = write_tiny_model(folder, shape)
    out = Output(json_mode=json_out)
    out.data(
        {
            "path": str(path),
            "architecture": arch,
            "layers": layers,
            "kv_bytes_per_token": layers * 2 * kv_heads * head_dim * 2,
        }
    )
    out.show(
        f"wrote a tiny {arch} model to {path}",
        f"serve it on a CPU: VLLM_CPU_KVCACHE_SPACE=1 python -m "
        f"vllm.entrypoints.openai.api_server --model {path}",
    )
