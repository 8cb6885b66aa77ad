"""A discrete-event simulation of one vLLM V1 engine serving a workload.

The scheduler follows `vllm/v1/core/sched/scheduler.py` (FCFS policy): every step it first
gives running requests their tokens (a decode token, or the next prefill chunk), allocating
KV blocks and preempting the most recently admitted request when blocks run out; only if
nothing was preempted does it admit waiting requests, front first, while the token budget,
`max_num_seqs` and free blocks allow. Preempted requests lose their KV and return to the
front of the queue to be recomputed; with prefix caching their freed full blocks stay cached
until evicted, so a recompute reuses what survived (`vllm/v1/core/block_pool.py`).

Time advances from event to event on an explicit clock: request arrivals (from the same load
profiles as `bench`) and engine steps, whose length comes from the step-time model.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..loadtest.records import RequestRecord
from ..loadtest.runner import LoadProfile, arrival_times
from ..vllm.metrics import ServerSample
from .steptime import StepTimeModel


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
        "record",
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
        self.record: RequestRecord | None = None
        self.admitted = 0  # admission order, which is the order of the running list
        self.since = -1  # the DecodeGroup step it joined at, -1 outside a group


class DecodeGroup:
    """Running requests that decode one token every step, advanced without touching each.

    A member's counters (`computed`, `generated`, `tokens`, `blocks`, `chunks`) keep their
    values from the group step it joined at; leaving adds the steps taken since. A member
    needs a new block when its KV fills one, which recurs with the step number modulo the
    block size, so members are counted by that phase; and they are kept in a heap by the
    step they leave at (finished, or at the context limit).
    """

    def __init__(self, block_size: int, max_model_len: int) -> None:
        self.block_size = block_size
        self.max_model_len = max_model_len
        self.emitted: list[float] = []  # each group step's token emission time
        self.members: list[tuple[int, int, SimRequest]] = []  # (last step, admitted, request)
        self.context = 0  # the members' decodes read this many KV tokens next step
        self.phases = [0] * block_size

    def join(self, req: SimRequest) -> None:
        now = len(self.emitted)
        steps = min(req.output - req.generated, self.max_model_len - req.computed)
        heapq.heappush(self.members, (now + steps - 1, req.admitted, req))
        req.since = now
        self.context += req.computed + 1
        self.phases[(now - req.computed) % self.block_size] += 1

    def blocks_due(self) -> int:
        """The new blocks the members need in the next step."""
        return self.phases[len(self.emitted) % self.block_size]

    def advance(self, emitted: float) -> list[SimRequest]:
        """One step in which every member decodes; returns those whose last step it was."""
        self.emitted.append(emitted)
        self.context += len(self.members)
        return self._leaving()

    def decode_alone(
        self, clock: float, until: float, model: StepTimeModel, latency: float, pool: BlockPool
    ) -> tuple[float, int, list[SimRequest]]:
        """Steps in which only the members run, from `clock` until one of them leaves, the
        clock reaches `until`, or the members' new blocks do not fit.

        Returns the clock, the number of steps and the members that left.
        """
        size = len(self.members)
        last = self.members[0][0]
        context = self.context
        start = step = len(self.emitted)
        while True:
            need = self.phases[step % self.block_size]
            if need:
                if need > pool.available:
                    break
                pool.take(need)
            clock += model.step_s(0, size, context, context)
            self.emitted.append(clock + latency)
            context += size
            step += 1
            if step > last or clock >= until:
                break
        self.context = context
        return clock, step - start, self._leaving()

    def _leaving(self) -> list[SimRequest]:
        """Take out the members whose last step was the latest one."""
        latest = len(self.emitted) - 1
        leaving = []
        while self.members and self.members[0][0] == latest:
            req = heapq.heappop(self.members)[2]
            self._leave(req)
            leaving.append(req)
        return leaving

    def dissolve(self) -> None:
        """Bring every member's counters up to date and empty the group."""
        for _, _, req in self.members:
            self._leave(req)
        self.members.clear()

    def _leave(self, req: SimRequest) -> None:
        steps = len(self.emitted) - req.since
        self.phases[(req.since - req.computed) % self.block_size] -= 1
        req.computed += steps
        req.generated += steps
        req.tokens += steps
        req.blocks = -(-req.computed // self.block_size)
        req.chunks += self.emitted[req.since :]
        req.since = -1
        self.context -= req.computed + 1


class BlockPool:
    """Free blocks, plus blocks freed by preempted requests that stay cached until evicted."""

    def __init__(self, usable: int, prefix_caching: bool) -> None:
        self.usable = usable
        self.free = usable
        self.cached: OrderedDict[int, int] = OrderedDict()  # request id -> cached blocks
        self.cached_total = 0
        self.prefix_caching = prefix_caching

    @property
    def available(self) -> int:
        return self.free + self.cached_total

    @property
    def held(self) -> int:
        return self.usable - self.available

    def take(self, n: int) -> None:
        """Take n blocks, evicting the least recently cached ones when the free list is short."""
        from_free = min(n, self.free)
        self.free -= from_free
        need = n - from_free
        while need:
            rid, count = next(iter(self.cached.items()))
            evict = min(count, need)
            if evict == count:
                del self.cached[rid]
            else:
                self.cached[rid] = count - evict
            self.cached_total -= evict
            need -= evict

    def release(self, req: SimRequest, keep_cached: bool, block_size: int) -> None:
        full = min(req.blocks, req.computed // block_size)
        if keep_cached and self.prefix_caching and full:
            self.cached[req.id] = full
            self.cached_total += full
            self.free += req.blocks - full
        else:
            self.free += req.blocks
        req.blocks = 0

    def hits(self, req: SimRequest, block_size: int) -> int:
        """How many of a re-admitted request's blocks survive in the cache."""
        # one token must still be computed, so the last full block may not count
        return min(self.cached.get(req.id, 0), (req.tokens - 1) // block_size)

    def reclaim(self, req: SimRequest, hits: int) -> None:
        """Take back `hits` cached blocks of the request; the rest of its cache becomes free."""
        count = self.cached.pop(req.id, 0)
        self.cached_total -= count
        self.free += count - hits


def deliver_through_api_server(records: list[RequestRecord], chunk_s: float) -> None:
    """Delay chunks by the API server, a single FIFO worker spending `chunk_s` per chunk.

    vLLM's engine hands outputs to one API-server process, which detokenises and streams
    them one by one without slowing the engine down; under many streams it falls behind
    and tokens reach clients late and bunched. Exact for that model: d_i = max(e_i,
    d_(i-1)) + chunk_s over all chunks in emission order.
    """
    import numpy as np

    if chunk_s <= 0 or not records:
        return
    counts = [len(r.chunk_times_s) for r in records]
    total = sum(counts)
    if not total:
        return
    chunks = itertools.chain.from_iterable(r.chunk_times_s for r in records)
    emitted = np.fromiter(chunks, float, total)
    order = np.argsort(emitted, kind="stable")
    # d_i = max over j <= i of (e_j - j * c) + (i + 1) * c
    steps = np.arange(1, total + 1) * chunk_s
    delivered = np.empty_like(emitted)
    delivered[order] = np.maximum.accumulate(emitted[order] - (steps - chunk_s)) + steps
    start = 0
    for record, count in zip(records, counts, strict=True):
        times = delivered[start : start + count].tolist()
        start += count
        record.chunk_times_s = times
        if times:
            record.first_token_s, record.end_s = times[0], times[-1]


@dataclass
class SimResult:
    records: list[RequestRecord]
    samples: list[ServerSample]
    steps: int
    preemptions: int
    sim_seconds: float


@dataclass
class Simulator:
    """One engine, one load profile, deterministic for given inputs."""

    config: EngineConfig
    steps: StepTimeModel
    sample_interval_s: float = 0.5
    clock: float = 0.0
    waiting: deque[SimRequest] = field(default_factory=deque)
    running: list[SimRequest] = field(default_factory=list)
    preemptions: int = 0
    step_count: int = 0
    admissions: int = 0

    def run(
        self,
        profile: LoadProfile,
        lengths: list[tuple[int, int]],
        seed: int = 0,
        on_record: Callable[[RequestRecord], None] | None = None,
        arrivals_s: list[float] | None = None,
    ) -> SimResult:
        """Serve `lengths` (prompt, output) as the profile releases them.

        `arrivals_s` replays given send times instead (a measured run, for calibration).
        """
        cfg = self.config
        pool = BlockPool(cfg.num_blocks - 1, cfg.prefix_caching)
        arrivals: list[tuple[float, int, int]] = []  # (time, seq, length index)
        seq = itertools.count()
        pending = deque(range(len(lengths)))
        closed_loop = profile.mode in ("single", "concurrency")
        deadline = profile.duration_s
        if arrivals_s is not None:
            for t, i in zip(arrivals_s, list(pending), strict=True):
                heapq.heappush(arrivals, (t, next(seq), i))
            pending.clear()
            closed_loop = False
        elif profile.mode == "users":
            for i in list(pending):
                heapq.heappush(arrivals, (0.0, next(seq), i))
            pending.clear()
        elif profile.mode == "rate":
            assert profile.rate is not None
            times = arrival_times(profile.rate, len(lengths), profile.burstiness, seed)
            for t, i in zip(times, list(pending), strict=False):
                if deadline is None or t <= deadline:
                    heapq.heappush(arrivals, (t, next(seq), i))
            pending.clear()
        else:
            slots = 1 if profile.mode == "single" else (profile.concurrency or 1)
            for _ in range(min(slots, len(pending))):
                heapq.heappush(arrivals, (0.0, next(seq), pending.popleft()))
        records: list[RequestRecord] = []
        self._samples: list[ServerSample] = []
        self._next_sample = 0.0
        self._group: DecodeGroup | None = None
        self._prefilling: list[SimRequest] = []  # the running requests outside the group
        # a request reaches the scheduler this long after it was sent (HTTP, tokenizing)
        latency = self.steps.profile.request_latency_s
        while arrivals or self.waiting or self.running:
            # admit every arrival that is due
            if not self.waiting and not self.running and arrivals:
                self.clock = max(self.clock, arrivals[0][0] + latency)
            while arrivals and arrivals[0][0] + latency <= self.clock:
                t, _, i = heapq.heappop(arrivals)
                prompt, output = lengths[i]
                req = SimRequest(i, prompt, output, t)
                self.waiting.append(req)
            self._sample_until(self.clock, pool)
            horizon = arrivals[0][0] + latency if arrivals else None
            finished = self._group_step(pool, horizon)
            if finished is None:
                if self._group is not None:
                    self._group.dissolve()
                    self._group = None
                finished = self.step(pool)
            for req in finished:
                record = self._record(req)
                records.append(record)
                if on_record:
                    on_record(record)
                if closed_loop and pending and (deadline is None or self.clock < deadline):
                    heapq.heappush(arrivals, (self.clock, next(seq), pending.popleft()))
        self._next_sample = min(self._next_sample, self.clock)
        self._sample_until(self.clock, pool)
        records.sort(key=lambda r: r.request_id)
        deliver_through_api_server(records, self.steps.profile.api_chunk_s)
        return SimResult(records, self._samples, self.step_count, self.preemptions, self.clock)

    def _sample_until(self, t: float, pool: BlockPool) -> None:
        """The simulated /metrics readings due up to time t, with the current state."""
        while self._next_sample <= t:
            held, usable = pool.held, pool.usable
            self._samples.append(
                ServerSample(
                    time_s=self._next_sample,
                    running=float(len(self.running)),
                    waiting=float(len(self.waiting)),
                    kv_cache_usage=held / usable if usable else 0.0,
                    preemptions=float(self.preemptions),
                    prefix_cache_queries=None,
                    prefix_cache_hits=None,
                    num_gpu_blocks=self.config.num_blocks,
                    block_size=self.config.block_size,
                )
            )
            self._next_sample += self.sample_interval_s

    def _record(self, req: SimRequest) -> RequestRecord:
        chunks = req.chunks  # already include the streaming latency
        return RequestRecord(
            request_id=req.id,
            scheduled_s=req.arrival,
            send_s=req.arrival,
            first_token_s=chunks[0] if chunks else None,
            end_s=chunks[-1] if chunks else None,
            chunk_times_s=chunks,
            prompt_tokens=req.prompt,
            output_tokens=req.generated,
            requested_output_tokens=req.output,
            token_source="usage",
        )

    def step(self, pool: BlockPool) -> list[SimRequest]:
        """Schedule one step, advance the clock by its duration, and apply its results."""
        cfg = self.config
        bs = cfg.block_size
        budget = cfg.max_num_batched_tokens
        decodes: list[SimRequest] = []  # one token each: the common case, kept lean
        chunks: list[tuple[SimRequest, int]] = []  # prefill chunks (and re-admitted decodes)
        preempted = False
        i = 0
        max_len = cfg.max_model_len
        running = self.running
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
                    self._preempt(victim, pool)
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
            self._admit(pool, budget, chunks)
        if not decodes and not chunks:
            if self.waiting and not self.running:
                raise RuntimeError("a waiting request can never fit the KV cache")
            return []
        self.clock += self._step_s(len(decodes), decode_context, chunks)
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
        for req, produced in self._apply(chunks, emitted):
            if produced and req.generated >= req.output:
                finished.append(req)
        self._finish(finished, pool)
        return finished

    def _group_step(self, pool: BlockPool, horizon: float | None) -> list[SimRequest] | None:
        """`step`, when the budget covers every member of the decode group and the free
        blocks cover every request scheduled (no preemption). Then the group advances as a
        whole; steps in which only it runs repeat until a member leaves or an arrival is due.

        The members run before any prefill that the budget cuts: a request still prefilling
        was cut in every step since its admission, which left no budget to admit another.

        Returns None when these conditions do not hold (then `step` runs the general case).
        """
        cfg = self.config
        bs = cfg.block_size
        max_len = cfg.max_model_len
        group = self._group
        if group is None:
            if len(self.running) > cfg.max_num_batched_tokens:
                return None  # not every request can be scheduled
            group = self._group = DecodeGroup(bs, max_len)
            self._prefilling = []
            for req in self.running:
                if req.tokens - req.computed == 1 and req.computed < max_len:
                    group.join(req)
                else:
                    self._prefilling.append(req)
        decodes = len(group.members)
        budget = cfg.max_num_batched_tokens - decodes
        need = group.blocks_due()
        chunks: list[tuple[SimRequest, int]] = []
        for req in self._prefilling:
            n = min(req.tokens - req.computed, budget, max_len - req.computed)
            if n > 0:
                chunks.append((req, n))
                budget -= n
                need += -(-(req.computed + n) // bs) - req.blocks
        if budget < 0 or need > pool.available:
            return None
        if need:
            pool.take(need)
        for req, n in chunks:
            req.blocks = -(-(req.computed + n) // bs)
        if self.waiting:
            scheduled = len(chunks)
            self._admit(pool, budget, chunks)
            self._prefilling += [req for req, _ in chunks[scheduled:]]
        if not decodes and not chunks:
            return None
        self.clock += self._step_s(decodes, group.context, chunks)
        self.step_count += 1
        emitted = self.clock + cfg.stream_latency_s
        leaving = group.advance(emitted)
        # Only the group decoded, and the next steps are alike: none can admit the waiting
        # head (the budget and seats stay, free blocks only shrink, and so does the head's
        # cache), so the running list changes only when a member leaves or blocks run out.
        while not leaving and not chunks and (horizon is None or self.clock < horizon):
            self._sample_until(self.clock, pool)
            until = self._next_sample if horizon is None else min(self._next_sample, horizon)
            self.clock, steps, leaving = group.decode_alone(
                self.clock, until, self.steps, cfg.stream_latency_s, pool
            )
            if not steps:
                return []  # a member's new block does not fit: `step` preempts
            self.step_count += steps
        finished = []
        for req in leaving:
            if req.generated >= req.output:
                finished.append(req)
            else:  # at the context limit, where it stays
                bisect.insort(self._prefilling, req, key=lambda r: r.admitted)
        for req, produced in self._apply(chunks, emitted):
            if produced and req.generated >= req.output:
                finished.append(req)
            elif produced and req.tokens - req.computed == 1 and req.computed < max_len:
                group.join(req)
        if chunks or finished:
            self._prefilling = [r for r in self._prefilling if r.since < 0 and r not in finished]
            self._finish(finished, pool)
        return finished

    def _admit(self, pool: BlockPool, budget: int, chunks: list[tuple[SimRequest, int]]) -> None:
        """Admit waiting requests, front first, while the budget, seats and blocks allow."""
        cfg = self.config
        bs = cfg.block_size
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

    def _step_s(
        self, decode: int, decode_context: int, chunks: list[tuple[SimRequest, int]]
    ) -> float:
        """The step's duration, from its decodes (count, context) and its chunks."""
        # a decode attends over its whole context once; chunks are few, so summed here
        prefill = 0
        context = decode_context
        pairs: float = decode_context
        for req, n in chunks:
            computed = req.computed
            if n == 1 and computed == req.tokens - 1:  # a re-admitted request's last token
                decode += 1
                context += computed + 1
                pairs += computed + 1
            else:
                prefill += n
                context += computed + n
                pairs += n * (computed + (n + 1) / 2)
        return self.steps.step_s(prefill, decode, context, pairs)

    @staticmethod
    def _apply(
        chunks: list[tuple[SimRequest, int]], emitted: float
    ) -> list[tuple[SimRequest, bool]]:
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

    def _finish(self, finished: list[SimRequest], pool: BlockPool) -> None:
        if finished:
            done = set(finished)
            self.running = [r for r in self.running if r not in done]
            for req in finished:
                pool.release(req, keep_cached=False, block_size=self.config.block_size)

    def _preempt(self, req: SimRequest, pool: BlockPool) -> None:
        pool.release(req, keep_cached=True, block_size=self.config.block_size)
        req.computed = 0
        self.preemptions += 1
        self.waiting.appendleft(req)
