"""What `advise` is asked: model, users, request shape, SLOs, and the hardware to search."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidValueError
from ..hardware import GPU, get_gpu, gpus
from ..loadtest.slo import SLO, parse_slo

MAX_MODEL_LEN_STEP = 256  # --max-model-len is rounded up to this many tokens


@dataclass(frozen=True)
class AdviseRequest:
    """The question: which deployment serves `users` such requests within every SLO."""

    model: str
    users: int
    prompt_tokens: int
    output_tokens: int
    slos: tuple[str, ...]
    gpus: tuple[str, ...] = ()  # catalogue names; empty: the whole catalogue
    costs: tuple[tuple[str, float], ...] = ()  # (GPU name, price per GPU-hour)
    vllm_version: str | None = None
    max_gpus: int = 8
    gpus_per_node: int = 8
    utilizations: tuple[float, ...] = (0.9, 0.95)
    kv_cache_dtypes: tuple[str, ...] = ("auto", "fp8")
    parsed_slos: tuple[SLO, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("users", "prompt_tokens", "output_tokens", "max_gpus", "gpus_per_node"):
            value = getattr(self, name)
            if value <= 0:
                flag = "--" + name.replace("_", "-")
                raise InvalidValueError(
                    f"{flag} must be positive, not {value}", f"give {flag} >= 1"
                )
        if not self.slos:
            raise InvalidValueError(
                "advise needs at least one SLO",
                "pass e.g. --slo ttft_p95=2s --slo tokens_per_s_p5=20",
            )
        object.__setattr__(self, "parsed_slos", tuple(parse_slo(s) for s in self.slos))
        for name, price in self.costs:
            get_gpu(name)
            if price <= 0:
                raise InvalidValueError(
                    f"--cost {name}={price:g}: a price must be positive",
                    "give the price of one GPU for one hour, e.g. --cost rtx-4090=0.7",
                )

    @property
    def max_model_len(self) -> int:
        """The smallest context that holds prompt and answer, rounded up to 256 tokens."""
        need = self.prompt_tokens + self.output_tokens
        return -(-need // MAX_MODEL_LEN_STEP) * MAX_MODEL_LEN_STEP

    def hardware(self) -> tuple[GPU, ...]:
        """The GPUs to search, smallest memory first, each once."""
        if not self.gpus:
            return gpus()
        chosen = {g.slug: g for g in (get_gpu(name) for name in self.gpus)}
        return tuple(sorted(chosen.values(), key=lambda g: (g.memory_bytes, g.slug)))

    def cost_of(self, gpu: GPU) -> float | None:
        """Price of one hour of one such GPU, if given."""
        prices = {get_gpu(name).slug: price for name, price in self.costs}
        return prices.get(gpu.slug)


def parse_cost(text: str) -> tuple[str, float]:
    """Read 'rtx-4090=0.7' (price of one GPU for one hour)."""
    name, sep, price = text.partition("=")
    try:
        value = float(price)
    except ValueError:
        value = -1.0
    if not sep or not name.strip() or value <= 0:
        raise InvalidValueError(
            f"malformed --cost {text!r}", "write GPU=PRICE_PER_HOUR, e.g. --cost rtx-4090=0.7"
        )
    return get_gpu(name.strip()).slug, value
