"""Write a tiny random-weight model folder that real vLLM can serve (tests, CPU demos).

The folder holds config.json, bf16 safetensors weights, a BPE tokenizer trained here with
`tokenizers`, and a ChatML chat template, so chat and completions work end to end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, InvalidValueError

ARCHITECTURES = ("qwen3", "llama", "llama-sliding")
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class TinyModel:
    """The shape of a tiny model; sizes are free so tests can make KV capacity the bottleneck."""

    architecture: str = "qwen3"
    num_layers: int = 2
    hidden_size: int = 128
    num_attention_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 32
    intermediate_size: int = 256
    vocab_size: int = 1024  # the BPE training target; the config gets the real size
    max_position_embeddings: int = 4096
    sliding_window: int = 256  # llama-sliding: every other layer slides
    seed: int = 0
    tie_word_embeddings: bool = True


def _corpus() -> list[str]:
    """Deterministic training text: varied English words so BPE learns real merges."""
    import codecs
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # `import this` prints the Zen of Python
        import this
    zen = codecs.decode(this.s, "rot13")
    words = (  # noqa: SIM905 - a sentence reads better than a 46-item list
        "the quick brown fox jumps over the lazy dog while servers answer many users memory "
        "cache tokens requests latency throughput model serving engine queue prompt answer "
        "question system user assistant hello world thinking reasoning one two three four "
        "five six seven eight nine ten hundred thousand"
    ).split()
    lines = [zen] * 4
    for i in range(400):
        lines.append(" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(12)))
    return lines


def _train_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return tok


def _config(shape: TinyModel, vocab: int, eos: int, bos: int) -> dict[str, Any]:
    common: dict[str, Any] = {
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_layers,
        "num_attention_heads": shape.num_attention_heads,
        "num_key_value_heads": shape.num_kv_heads,
        "head_dim": shape.head_dim,
        "vocab_size": vocab,
        "max_position_embeddings": shape.max_position_embeddings,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": shape.tie_word_embeddings,
        "torch_dtype": "bfloat16",
        "bos_token_id": bos,
        "eos_token_id": eos,
        "attention_bias": False,
        "use_cache": True,
    }
    if shape.architecture == "qwen3":
        common.update(
            architectures=["Qwen3ForCausalLM"],
            model_type="qwen3",
            use_sliding_window=False,
            sliding_window=None,
            max_window_layers=shape.num_layers,
        )
    else:
        common.update(architectures=["LlamaForCausalLM"], model_type="llama", mlp_bias=False)
        if shape.architecture == "llama-sliding":
            common["sliding_window"] = shape.sliding_window
            common["layer_types"] = [
                "sliding_attention" if i % 2 == 0 else "full_attention"
                for i in range(shape.num_layers)
            ]
    return common


def _tensors(shape: TinyModel, vocab: int) -> dict[str, tuple[list[int], str]]:
    """Tensor name -> (shape, init) in Hugging Face naming."""
    h, hd = shape.hidden_size, shape.head_dim
    out: dict[str, tuple[list[int], str]] = {
        "model.embed_tokens.weight": ([vocab, h], "normal"),
        "model.norm.weight": ([h], "ones"),
    }
    for i in range(shape.num_layers):
        p = f"model.layers.{i}"
        out[f"{p}.input_layernorm.weight"] = ([h], "ones")
        out[f"{p}.post_attention_layernorm.weight"] = ([h], "ones")
        out[f"{p}.self_attn.q_proj.weight"] = ([shape.num_attention_heads * hd, h], "normal")
        out[f"{p}.self_attn.k_proj.weight"] = ([shape.num_kv_heads * hd, h], "normal")
        out[f"{p}.self_attn.v_proj.weight"] = ([shape.num_kv_heads * hd, h], "normal")
        out[f"{p}.self_attn.o_proj.weight"] = ([h, shape.num_attention_heads * hd], "normal")
        if shape.architecture == "qwen3":
            out[f"{p}.self_attn.q_norm.weight"] = ([hd], "ones")
            out[f"{p}.self_attn.k_norm.weight"] = ([hd], "ones")
        out[f"{p}.mlp.gate_proj.weight"] = ([shape.intermediate_size, h], "normal")
        out[f"{p}.mlp.up_proj.weight"] = ([shape.intermediate_size, h], "normal")
        out[f"{p}.mlp.down_proj.weight"] = ([h, shape.intermediate_size], "normal")
    if not shape.tie_word_embeddings:
        out["lm_head.weight"] = ([vocab, h], "normal")
    return out


def _bf16_bits(values: Any) -> Any:
    """float32 array -> bfloat16 bit patterns as uint16 (round to nearest even)."""
    import numpy as np

    bits = values.astype(np.float32).view(np.uint32)
    rounded = bits + (0x7FFF + ((bits >> 16) & 1))
    return np.ascontiguousarray((rounded >> 16).astype(np.uint16))


def _save_bf16(arrays: dict[str, Any], path: Path) -> None:
    """Write uint16 bit patterns as a BF16 safetensors file (numpy has no bfloat16)."""
    import safetensors

    if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.8
        specs: dict[str, Any] = {
            name: safetensors.TensorSpec(
                dtype="bfloat16", shape=list(a.shape), data_ptr=a.ctypes.data, data_len=a.nbytes
            )
            for name, a in arrays.items()
        }
    else:
        specs = {
            name: {"dtype": "bfloat16", "shape": list(a.shape), "data": a.tobytes()}
            for name, a in arrays.items()
        }
    safetensors.serialize_file(specs, str(path), metadata={"format": "pt"})


def write_tiny_model(folder: str | Path, shape: TinyModel | None = None) -> Path:
    """Write a servable random-weight model to `folder` and return its path."""
    shape = shape or TinyModel()
    if shape.architecture not in ARCHITECTURES:
        raise InvalidValueError(
            f"unknown tiny-model architecture {shape.architecture!r}",
            f"use one of {', '.join(ARCHITECTURES)}",
        )
    if shape.num_attention_heads % shape.num_kv_heads:
        raise InvalidValueError(
            f"{shape.num_attention_heads} heads are not a multiple of "
            f"{shape.num_kv_heads} KV heads",
            "pick a KV head count that divides the head count",
        )
    for name in ("num_layers", "hidden_size", "head_dim", "intermediate_size", "vocab_size"):
        if getattr(shape, name) <= 0:
            raise InvalidValueError(f"{name} must be positive", f"give a positive {name}")
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        _write_files(path, shape)
    except OSError as exc:
        raise InputError(
            f"cannot write a model to {str(folder)!r}: {exc.strerror or exc}",
            "pass a folder you can create and write to",
        ) from None
    return path


def _write_files(path: Path, shape: TinyModel) -> None:
    """Tokenizer, configs and weights of `shape`, into the existing folder `path`."""
    import numpy as np

    # written first: Python's OSError names an unwritable folder; `tokenizers` raises Exception
    (path / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": None,
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "unk_token": None,
                "model_max_length": shape.max_position_embeddings,
                "clean_up_tokenization_spaces": False,
                "chat_template": CHATML_TEMPLATE,
            },
            indent=1,
        )
    )
    tok = _train_tokenizer(shape.vocab_size)
    vocab = tok.get_vocab_size()
    eos, bos = tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")
    tok.save(str(path / "tokenizer.json"))
    (path / "config.json").write_text(json.dumps(_config(shape, vocab, eos, bos), indent=1))
    (path / "generation_config.json").write_text(
        json.dumps({"bos_token_id": bos, "eos_token_id": eos, "do_sample": False}, indent=1)
    )
    rng = np.random.default_rng(shape.seed)
    arrays: dict[str, Any] = {}
    for name, (dims, init) in _tensors(shape, vocab).items():
        if init == "ones":
            values = np.ones(dims, dtype=np.float32)
        else:
            values = rng.normal(0.0, 0.02, size=dims).astype(np.float32)
        arrays[name] = _bf16_bits(values)
    _save_bf16(arrays, path / "model.safetensors")
