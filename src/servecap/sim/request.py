"""One request inside the simulated engine: its lengths, progress, KV blocks and chunk times."""

from __future__ import annotations

from ..loadtest.records import RequestRecord


class SimRequest:
    __slots__ = (
        "admitted",
        "arrival",
        "blocks",
        "chunks",
        "computed",
        "first",
        "generated",
        "id",
        "output",
        "prompt",
        "since",
        "tokens",
    )

    def __init__(self, rid: int, prompt: int, output: int, arrival: float) -> None:
        self.id = rid
        self.prompt = prompt
        self.output = output
        self.arrival = arrival
        self.computed = 0
        self.generated = 0
        self.tokens = prompt  # prompt + generated, the tokens the KV cache must hold
        self.blocks = 0
        self.first: float | None = None
        self.chunks: list[float] = []
        self.admitted = 0  # admission order, which is the order of the running list
        self.since = -1  # the DecodeGroup step it joined at, -1 outside a group

    @property
    def decoding(self) -> bool:
        """Whether its next step computes one token: its prompt is in the cache."""
        return self.tokens - self.computed == 1

    def record(self) -> RequestRecord:
        """The bench-style record of the finished request (chunk times include streaming)."""
        chunks = self.chunks
        return RequestRecord(
            request_id=self.id,
            scheduled_s=self.arrival,
            send_s=self.arrival,
            first_token_s=chunks[0] if chunks else None,
            end_s=chunks[-1] if chunks else None,
            chunk_times_s=chunks,
            prompt_tokens=self.prompt,
            output_tokens=self.generated,
            requested_output_tokens=self.output,
            token_source="usage",
        )
