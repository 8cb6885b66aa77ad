"""A local model folder: its safetensors headers give the exact weight bytes."""

from __future__ import annotations

from servecap import ServeConfig, get_gpu, load_model, parse_version, plan
from servecap.memory.weights import Parallel, allocator_padding_bytes, rope_cache_bytes
from servecap.tinymodel import TinyModel, write_tiny_model


def test_weights_are_the_checkpoint_bytes_plus_the_rope_cache_and_allocator_blocks(tmp_path):
    folder = write_tiny_model(tmp_path / "tiny", TinyModel(num_layers=3, hidden_size=256))
    model = load_model(str(folder))
    assert model.weight_file is not None
    checkpoint = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    # header bytes aside, the file is the tensors
    assert 0 < checkpoint - model.weight_file.total_bytes < 16_384
    result = plan(model, get_gpu("h100-sxm"), ServeConfig(), parse_version("0.24.0"))
    padding = allocator_padding_bytes(model, Parallel(), 0, "bfloat16", None)
    # per layer: four 512-byte KV-scale scalars, and q_norm and k_norm (64 bytes) in 512
    assert padding == 3 * (4 * 512 + 2 * (512 - 64))
    expected = model.weight_file.total_bytes + rope_cache_bytes(model, "bfloat16") + padding
    assert result.stage.weights_bytes == expected


def test_tensor_parallel_shards_the_checkpoint(tmp_path):
    folder = write_tiny_model(
        tmp_path / "tiny",
        TinyModel(num_layers=2, hidden_size=256, num_attention_heads=8, num_kv_heads=4),
    )
    model = load_model(str(folder))
    one = plan(model, get_gpu("h100-sxm"), ServeConfig(), parse_version("0.24.0"))
    two = plan(
        model, get_gpu("h100-sxm"), ServeConfig(tensor_parallel_size=2), parse_version("0.24.0")
    )
    rope = rope_cache_bytes(model, "bfloat16")
    # norms are replicated, everything else halves
    assert (one.stage.weights_bytes - rope) / 2 < two.stage.weights_bytes - rope
    assert two.stage.weights_bytes - rope < (one.stage.weights_bytes - rope) * 0.52


def test_only_the_files_the_index_names_are_weights(tmp_path):
    """A Mistral-style consolidated.safetensors beside indexed shards is not loaded by vLLM."""
    import json

    import numpy as np
    from safetensors.numpy import save_file

    folder = write_tiny_model(tmp_path / "tiny", TinyModel(num_layers=2, hidden_size=128))
    shard = next(folder.glob("*.safetensors"))
    alone = load_model(str(folder)).weight_file
    extra = {"layers.0.attention.wq.weight": np.zeros((64, 64), dtype=np.float16)}
    save_file(extra, str(folder / "consolidated.safetensors"))
    both = load_model(str(folder)).weight_file
    index = {"metadata": {}, "weight_map": {"model.norm.weight": shard.name}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    indexed = load_model(str(folder)).weight_file
    assert alone is not None and both is not None and indexed is not None
    assert both.total_bytes == alone.total_bytes + 64 * 64 * 2  # no index: every file
    assert indexed.total_bytes == alone.total_bytes
