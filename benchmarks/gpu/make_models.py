"""Model folders for real vLLM with dummy weights: a catalogue model's real config.json, and a
word-level tokenizer that covers all of its 151,936 ids (Qwen3's vocabulary).

The tokenizer knows the words of servecap's random prompts and the numbers 0-99,999, so the
prompts `bench` shapes with /tokenize stay distinct token sequences and vLLM's prefix cache
cannot serve one from another; every other id decodes as "t<id>", so whatever a random-weight
model samples decodes. Qwen3's three special tokens keep their real ids.

    python benchmarks/gpu/make_models.py OUT Qwen/Qwen3-1.7B Qwen/Qwen3-8B ...

Needs `tokenizers` (on the GPU machines, and in servecap's own environment).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from servecap.loadtest.workload import _WORDS
from servecap.models.resolve import catalogue

VOCAB = 151_936
SPECIALS = {151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>"}
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def vocabulary() -> dict[str, int]:
    words = ["request", ":", ".", ",", "!", "a", "x", *_WORDS, *(str(n) for n in range(100_000))]
    vocab: dict[str, int] = {}
    ids = (i for i in range(VOCAB) if i not in SPECIALS)
    for word in dict.fromkeys(words):
        vocab[word] = next(ids)
    for i in ids:
        vocab[f"t{i}"] = i
    vocab.update({text: i for i, text in SPECIALS.items()})
    return vocab


def write_tokenizer(folder: Path) -> None:
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel(vocab=vocabulary(), unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(
        [AddedToken(s, special=True, normalized=False) for s in SPECIALS.values()]
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "model_max_length": 131072,
        "clean_up_tokenization_spaces": False,
        "add_bos_token": False,
        "chat_template": CHAT_TEMPLATE,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=1))


def write_model(out: Path, model_id: str) -> Path:
    entry = catalogue()[model_id]
    folder = out / model_id.split("/")[-1].lower()
    folder.mkdir(parents=True, exist_ok=True)
    config = dict(entry["config"])
    if config.get("vocab_size") != VOCAB:
        raise SystemExit(f"{model_id}: vocab {config.get('vocab_size')} is not Qwen3's {VOCAB}")
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    generation = {"bos_token_id": 151643, "eos_token_id": [151645, 151643]}
    (folder / "generation_config.json").write_text(json.dumps(generation))
    write_tokenizer(folder)
    return folder


if __name__ == "__main__":
    target = Path(sys.argv[1])
    for name in sys.argv[2:]:
        print(write_model(target, name))
