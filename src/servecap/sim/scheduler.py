"""The scheduler of one simulated vLLM V1 engine: its queues, blocks and clock, one step at a time.

It follows `vllm/v1/core/sched/scheduler.py` (FCFS policy): every step it first gives running
requests their tokens (a decode token, or the next prefill chunk), allocating KV blocks and
preempting the most recently admitted request when blocks run out; only if nothing was
preempted does it admit waiting requests, front first, while the token budget,
`max_num_seqs` and free blocks allow. Preempted requests lose their KV and return to the
front of the queue to be recomputed; with prefix caching their freed full blocks stay cached
until evicted, so a recompute reuses what survived.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import InvalidValueError
from .blocks import BlockPool
from .request import SimRequest
from .steptime import StepTimeModel

Chunks = list[tuple[SimRequest, int]]  # (request, tokens it computes this step)


@dataclass(frozen=True)
class EngineConfig:
    """The scheduler's limits, as the memory plan resolved them."""

    num_blocks: int  # including vLLM's null block
    block_size: int
    max_num_seqs: int
    max_num_batched_tokens: int
    max_model_len: int
    prefix_caching: bool = True
    stream_latency_s: float = 0.0005  # API server and network, per streamed chunk


class Scheduler:
    """One engine's state; `submit` requests, then `step` until it is idle."""

    def __init__(self, config: EngineConfig, steps: StepTimeModel) -> None:
        self.config = config
        self.steps = steps
        self.clock = 0.0
        self.waiting: deque[SimRequest] = deque()
        self.running: list[SimRequest] = []
        self.pool = BlockPool(config.num_blocks - 1, config.prefix_caching)
        self.preemptions = 0
        self.step_count = 0
        self.admissions = 0

    @property
    def idle(self) -> bool:
        return not self.waiting and not self.running

    def submit(self, req: SimRequest) -> None:
        """A request reaches the scheduler: it waits at the back of the queue."""
        self.waiting.append(req)

    def step(self) -> list[SimRequest]:
        """Schedule one step, advance the clock by its duration, and apply its results.

        Returns the requests that finished in it.
        """
        cfg = self.config
        bs = cfg.block_size
        budget = cfg.max_num_batched_tokens
        decodes: list[SimRequest] = []  # one token each: the common case, kept lean
        chunks: Chunks = []  # prefill chunks (and re-admitted decodes)
        preempted = False
        i = 0
        max_len = cfg.max_model_len
        running = self.running
        pool = self.pool
        # decodes' context is summed as they are scheduled (preemption only pops requests not
        # yet scheduled, from the end of the running list)
        decode_context = 0
        while i < len(running) and budget > 0:
            req = running[i]
            computed = req.computed
            if req.tokens - computed == 1 and computed < max_len:
                n = 1  # a decode: a new block only at a block boundary
                need = 1 if computed >= req.blocks * bs else 0
            else:
                n = min(req.tokens - computed, budget, max_len - computed)
                if n <= 0:
                    i += 1
                    continue
                need = -(-(computed + n) // bs) - req.blocks
            if need > 0:
                victim = None
                while need > pool.available:
                    victim = running.pop()
                    self._preempt(victim)
                    preempted = True
                    if victim is req:
                        break
                if victim is req:
                    break
                pool.take(need)
                req.blocks += need
            if n == 1 and computed == req.tokens - 1:
                decodes.append(req)
                decode_context += computed + 1
            else:
                chunks.append((req, n))
            budget -= n
            i += 1
        if not preempted:
            self.admit(budget, chunks)
        if not decodes and not chunks:
            if self.waiting and not self.running:
                head = self.waiting[0]
                raise InvalidValueError(
                    f"a request of {head.tokens:,} tokens can never fit the KV cache of "
                    f"{pool.usable:,} blocks of {bs} tokens",
                    "send shorter requests, or plan the deployment with more KV cache",
                )
            return []
        self.clock += self.step_seconds(len(decodes), decode_context, chunks)
        self.step_count += 1
        finished: list[SimRequest] = []
        emitted = self.clock + cfg.stream_latency_s
        for req in decodes:
            req.computed += 1
            req.generated += 1
            req.tokens += 1
            req.chunks.append(emitted)
            if req.generated >= req.output:
                finished.append(req)
        for req, produced in self.apply(chunks, emitted):
            if produced and req.generated >= req.output:
                finished.append(req)
        self.finish(finished)
        return finished

    def admit(self, budget: int, chunks: Chunks) -> None:
        """Admit waiting requests, front first, while the budget, seats and blocks allow."""
        cfg = self.config
        bs = cfg.block_size
        pool = self.pool
        while budget > 0 and self.waiting and len(self.running) < cfg.max_num_seqs:
            req = self.waiting[0]
            hits = pool.hits(req, bs) if pool.prefix_caching else 0
            n = min(req.tokens - hits * bs, budget)
            need = -(-(hits * bs + n) // bs) - hits
            if need > pool.available - hits:
                break
            pool.reclaim(req, hits)
            req.blocks, req.computed = hits, hits * bs
            if need > 0:
                pool.take(need)
                req.blocks += need
            self.waiting.popleft()
            self.running.append(req)
            self.admissions += 1
            req.admitted = self.admissions
            chunks.append((req, n))
            budget -= n

    def step_seconds(self, decode: int, decode_context: int, chunks: Chunks) -> float:
        """The step's duration, from its decodes (count, context) and its chunks."""
        # a decode attends over its whole context once; chunks are few, so summed here
        prefill = 0
        context = decode_context
        pairs: float = decode_context
        sampled = decode
        for req, n in chunks:
            computed = req.computed
            if n == 1 and computed == req.tokens - 1:  # a re-admitted request's last token
                decode += 1
                sampled += 1
                context += computed + 1
                pairs += computed + 1
            else:
                prefill += n
                sampled += computed + n >= req.tokens  # its prefill ends: a token is sampled
                context += computed + n
                pairs += n * (computed + (n + 1) / 2)
        return self.steps.step_s(prefill, decode, context, pairs, sampled)

    @staticmethod
    def apply(chunks: Chunks, emitted: float) -> list[tuple[SimRequest, bool]]:
        """Compute the chunks; each request, and whether it produced a token."""
        applied = []
        for req, n in chunks:
            req.computed += n
            produced = req.computed >= req.tokens
            if produced:
                req.generated += 1
                req.tokens += 1
                req.chunks.append(emitted)
            applied.append((req, produced))
        return applied

    def finish(self, finished: list[SimRequest]) -> None:
        """Take finished requests out of the running list and free their blocks."""
        if finished:
            done = set(finished)
            self.running = [r for r in self.running if r not in done]
            for req in finished:
                self.pool.release(req, keep_cached=False, block_size=self.config.block_size)

    def _preempt(self, req: SimRequest) -> None:
        self.pool.release(req, keep_cached=True, block_size=self.config.block_size)
        req.computed = 0
        self.preemptions += 1
        self.waiting.appendleft(req)
