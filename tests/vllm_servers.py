"""The tiny real-vLLM servers the integration tests share, one per configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from servecap.hardware import cpu_has_native_bf16
from servecap.tinymodel import TinyModel

# The tiny models are bf16. Where the CPU has no bf16 units, vLLM would emulate every product
# (over 10 times slower here); float32 keeps the suite's timings near those it was tuned on.
DTYPE_ARGS: tuple[str, ...] = () if cpu_has_native_bf16() else ("--dtype", "float32")


@dataclass(frozen=True)
class ServerConfig:
    """A tiny model shape plus the vLLM flags to serve it with."""

    shape: TinyModel = field(default_factory=TinyModel)
    kv_cache_space_gib: int = 1
    max_model_len: int = 2048
    args: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        s = self.shape
        flags = "-".join(a.lstrip("-") for a in self.args).replace("=", "")
        return f"{s.architecture}-l{s.num_layers}-h{s.hidden_size}-kv{s.num_kv_heads}{flags}"


# Qwen3-like, 2 layers x 2 KV heads x 32 dims: 512 bytes of KV per token.
QWEN3 = ServerConfig(TinyModel(architecture="qwen3"))
# Llama-like, untied, 3 layers x 3 KV heads: 1,152 B/token; a context that is not a multiple of
# the CPU backend's 128-token blocks exercises the token formula.
LLAMA = ServerConfig(
    TinyModel(
        architecture="llama",
        num_layers=3,
        hidden_size=192,
        num_attention_heads=6,
        num_kv_heads=3,
        head_dim=32,
        intermediate_size=384,
        tie_word_embeddings=False,
    ),
    max_model_len=3000,
)
# Every other layer slides over 256 tokens: vLLM's hybrid KV manager groups the layers.
SLIDING = ServerConfig(TinyModel(architecture="llama-sliding", num_layers=4), max_model_len=2048)

# Qwen3-like, 4 layers x 1024 wide: ~11 ms a decode step on this machine, so vLLM streams
# token by token even under load (QWEN3's ~1.5 ms steps outrun its API server, which then
# sends answers in bursts), and long answers take seconds.
WIDE = TinyModel(
    architecture="qwen3",
    num_layers=4,
    hidden_size=1024,
    num_attention_heads=16,
    num_kv_heads=4,
    head_dim=64,
    intermediate_size=4096,
)
STREAMING = ServerConfig(WIDE)
# The same with 64 blocks of 128 tokens: long requests queue, get preempted, and run slowly.
SCARCE_WIDE = ServerConfig(WIDE, args=("--num-gpu-blocks-override", "64"))
