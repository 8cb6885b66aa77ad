"""What a load test sends: prompts and output lengths, from a spec that `simulate` shares."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidValueError

# The seed's own prompts: one request ("what can you do?") and N users' requests.
SEED_SINGLE_PROMPT = "你有什么功能"
SEED_USER_PROMPT = "測試用戶{user}的并發請求"
SEED_MAX_TOKENS = 8192

_WORDS = (  # noqa: SIM905 - a sentence reads better than a long list
    "the quick brown fox jumps over a lazy dog while many servers answer questions about "
    "memory cache tokens requests latency throughput models engines queues prompts answers "
    "systems users assistants planning tables numbers blocks layers heads context length"
).split()


_FILLERS = (" .", "!", " a", ",", " x")


@dataclass(frozen=True)
class Lengths:
    """A token-length distribution: fixed, uniform:A:B, normal:MEAN:STD or exp:MEAN."""

    kind: str
    a: float
    b: float = 0.0

    @classmethod
    def parse(cls, text: str | int, what: str) -> Lengths:
        if isinstance(text, int) or str(text).isdigit():
            value = int(text)
            if value <= 0:
                raise InvalidValueError(
                    f"{what} must be positive, not {value}", f"give {what} >= 1"
                )
            return cls("fixed", value)
        parts = str(text).split(":")
        try:
            numbers = [float(p) for p in parts[1:]]
        except ValueError:
            numbers = []
        shapes = {"uniform": 2, "normal": 2, "exp": 1}
        if (
            parts[0] not in shapes
            or len(numbers) != shapes[parts[0]]
            or not all(0 < n < 1e9 for n in numbers)
        ):
            raise InvalidValueError(
                f"cannot read {what} {text!r}",
                "give a number, or uniform:MIN:MAX, normal:MEAN:STD or exp:MEAN (positive, finite)",
            )
        return cls(parts[0], numbers[0], numbers[1] if len(numbers) > 1 else 0.0)

    def sample(self, rng: random.Random) -> int:
        if self.kind == "fixed":
            return int(self.a)
        if self.kind == "uniform":
            return rng.randint(int(self.a), int(max(self.a, self.b)))
        if self.kind == "normal":
            return max(1, round(rng.gauss(self.a, self.b)))
        return max(1, round(rng.expovariate(1 / self.a)))

    @property
    def mean(self) -> float:
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return self.a


@dataclass(frozen=True)
class WorkloadSpec:
    """Prompts and output lengths; `source` is random, seed, jsonl or sharegpt."""

    source: str = "random"
    prompt_tokens: Lengths = field(default_factory=lambda: Lengths("fixed", 100))
    output_tokens: Lengths = field(default_factory=lambda: Lengths("fixed", 100))
    dataset: Path | None = None
    force_length: bool = True
    seed: int = 0
    extra_body: tuple[tuple[str, Any], ...] = ()  # hashable for frozen-ness

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.extra_body)


@dataclass
class PreparedRequest:
    """One request's prompt and output budget, before it is sent."""

    prompt: str | list[dict[str, str]]
    max_tokens: int
    force_length: bool
    target_prompt_tokens: int | None = None
    prompt_tokens: int | None = None  # as the server's /tokenize counted it


# counts a prompt's tokens as the server would (None: no /tokenize)
TokenCounter = Callable[[str | list[dict[str, str]]], Awaitable[int | None]]


def _random_text(rng: random.Random, words: int, tag: int) -> str:
    # A distinct head per request keeps vLLM's prefix cache from sharing prompts.
    return f"request {tag} {rng.randrange(10**9)}: " + " ".join(
        rng.choice(_WORDS) for _ in range(words)
    )


def _read_dataset(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidValueError(
            f"cannot read dataset {path}: {exc.strerror}", "check the --dataset path"
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidValueError(
            f"dataset {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start})",
            f"save it as UTF-8, e.g. iconv -f cp1252 -t utf-8 {path} > "
            f"{path.with_name(path.stem + '-utf8' + path.suffix)}",
        ) from None
    try:
        stripped = text.lstrip()
        if stripped.startswith("["):
            data = json.loads(text)
            return list(data)
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InvalidValueError(
            f"dataset {path} is not JSON or JSON Lines ({exc.msg}, line {exc.lineno})",
            "give one JSON object per line",
        ) from None


def _dataset_items(spec: WorkloadSpec) -> list[tuple[str | list[dict[str, str]], int | None]]:
    assert spec.dataset is not None
    items: list[tuple[str | list[dict[str, str]], int | None]] = []
    for row in _read_dataset(spec.dataset):
        if not isinstance(row, dict):
            continue
        if spec.source == "sharegpt":
            turns = row.get("conversations") or row.get("conversation") or []
            human = next(
                (t.get("value") for t in turns if t.get("from") in ("human", "user")), None
            )
            reply = next(
                (t.get("value") for t in turns if t.get("from") in ("gpt", "assistant")), None
            )
            if human:
                # the reference answer's length, ~4 characters per token as vLLM bench falls back
                items.append((str(human), max(1, len(reply) // 4) if reply else None))
            continue
        prompt = row.get("messages") or row.get("prompt") or row.get("text")
        if prompt:
            out = row.get("output_tokens") or row.get("max_tokens")
            items.append((prompt, int(out) if out else None))
    if not items:
        raise InvalidValueError(
            f"dataset {spec.dataset} has no usable prompts",
            "JSONL rows need 'prompt' or 'messages'; ShareGPT rows need 'conversations'",
        )
    return items


async def prepare(
    spec: WorkloadSpec,
    count: int,
    counter: TokenCounter | None = None,
    seed_single: bool = False,
    first: int = 0,
) -> list[PreparedRequest]:
    """`count` requests from the spec, with random prompts shaped to exact token counts.

    `first` is how many requests this run prepared before (warm-up, earlier sweep steps):
    their prompts are not repeated, so vLLM's prefix cache cannot serve a later step from an
    earlier one. Lengths do not depend on it, so `simulate` draws the same ones.
    """
    if count < 0:
        raise InvalidValueError(
            f"request count must not be negative, not {count}", "give a count >= 0"
        )
    rng = random.Random(f"{spec.seed}/{first}")
    requests: list[PreparedRequest] = []
    if spec.source == "seed":
        for i in range(count):
            prompt = SEED_SINGLE_PROMPT if seed_single else SEED_USER_PROMPT.format(user=i + 1)
            out = spec.output_tokens.sample(rng) if spec.force_length else SEED_MAX_TOKENS
            requests.append(PreparedRequest(prompt, out, spec.force_length))
        return requests
    if spec.source in ("jsonl", "sharegpt"):
        items = _dataset_items(spec)
        for i in range(count):
            item_prompt, item_out = items[(first + i) % len(items)]
            max_tokens = item_out or spec.output_tokens.sample(rng)
            requests.append(PreparedRequest(item_prompt, max_tokens, spec.force_length))
        return requests
    ratio = [1.0]  # tokens per word, learned from the server's counts as we go
    for i, (target, output) in enumerate(sample_lengths(spec, count)):
        request = PreparedRequest(
            _random_text(rng, target, first + i),
            output,
            spec.force_length,
            target_prompt_tokens=target,
        )
        if counter is not None:
            await _shape(request, rng, first + i, counter, ratio)
        requests.append(request)
    return requests


def sample_lengths(spec: WorkloadSpec, count: int) -> list[tuple[int, int]]:
    """(prompt tokens, output tokens) of `count` random-workload requests.

    A dedicated RNG, so `bench` and `simulate` draw the same lengths from the same spec.
    """
    rng = random.Random(spec.seed * 7919 + 17)
    return [(spec.prompt_tokens.sample(rng), spec.output_tokens.sample(rng)) for _ in range(count)]


async def _shape(
    request: PreparedRequest,
    rng: random.Random,
    tag: int,
    counter: TokenCounter,
    ratio: list[float],
) -> None:
    """Adjust a random prompt until the server counts exactly the target tokens.

    Finds the most words whose prompt stays within the target (a galloping search from the
    tokens-per-word ratio seen so far, then bisection), then closes the gap with
    single-token padding (" ."); a handful of /tokenize calls per prompt.
    """
    target = request.target_prompt_tokens
    assert target is not None
    head = f"request {tag} {rng.randrange(10**9)}:"
    body = [rng.choice(_WORDS) for _ in range(2 * target + 16)]
    counts: dict[tuple[int, str], int | None] = {}

    def text(words: int, pad: str = "") -> str:
        return " ".join([head, *body[:words]]) + pad

    async def count(words: int, pad: str = "") -> int | None:
        if (words, pad) not in counts:
            counts[words, pad] = await counter(text(words, pad))
        return counts[words, pad]

    guess = max(0, min(len(body), round(target / ratio[0])))
    first = await count(guess)
    if first is None:
        return
    if first <= target:
        lo, hi, step = guess, len(body) + 1, 1
        while lo + step <= len(body):
            probe = await count(lo + step)
            if probe is None or probe > target:
                hi = lo + step
                break
            lo, step = lo + step, step * 2
    else:
        lo, hi, step = 0, guess, 1
        while hi - step > 0:
            probe = await count(hi - step)
            if probe is not None and probe <= target:
                lo = hi - step
                break
            hi, step = hi - step, step * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        probe = await count(mid)
        if probe is not None and probe <= target:
            lo = mid
        else:
            hi = mid
    best = await count(lo) or 0
    if lo:
        ratio[0] = max(0.2, best / lo)
    pad = ""
    for _ in range(4):  # close the last gap with fillers that are usually one token each
        if best >= target:
            break
        for filler in _FILLERS:
            padded = await count(lo, pad + filler)
            if padded is not None and best < padded <= target:
                pad, best = pad + filler, padded
                break
        else:
            break
    request.prompt, request.prompt_tokens = text(lo, pad), best
